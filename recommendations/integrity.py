"""Quote integrity: every stored quote is verbatim in its report at its offsets."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from django.dispatch import receiver

from .models import EvidenceItem, Paragraph, Recommendation, Report, Section


def integrity_errors(reports: Iterable[Report] | None = None) -> list[str]:
    """Every broken report text, span, recommendation and quote, one message each."""
    reports = list(reports if reports is not None else Report.objects.order_by("slug"))
    errors = []
    for report in reports:
        errors += report.integrity_errors()
        for model in (Section, Paragraph):
            for span in model.objects.filter(report=report).order_by("pk"):
                span.report = report
                errors += span.span_errors()
        for recommendation in report.recommendations.order_by("number"):
            recommendation.report = report
            errors += recommendation.integrity_errors()
        for item in report.evidence_items.select_related("section").order_by("pk"):
            item.report = report
            errors += item.integrity_errors()
    return errors


@receiver(pre_save, sender=EvidenceItem)
@receiver(pre_save, sender=Recommendation)
@receiver(pre_save, sender=Report)
def refuse_broken_text(sender: type, instance: object, raw: bool = False, **kwargs) -> None:
    """Fixture loads (raw saves) skip clean(); check here so no broken quote gets stored.

    loaddata runs in one transaction, so a refused object rolls back the whole load.
    """
    errors = instance.integrity_errors()
    if errors:
        raise ValidationError(errors)
