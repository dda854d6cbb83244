"""Verification of everything stored: every report text against its SHA-256, every section,
paragraph, recommendation and quote at its offsets. Used by `verify_evidence` and
`restore_data`; saving is guarded by `models.refuse_text_not_verbatim`."""

from collections.abc import Iterable

from .models import Paragraph, Report, Section


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
