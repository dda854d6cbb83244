from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ..forms import PassageForm
from ..models import Report, Stance
from ..presentation import source_sections
from ..publishing.tables import source_document
from ..rules.access import may_curate
from ._shared import HtmxHttpRequest


@require_GET
def source(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The report's text with every evidence quote marked where it stands."""
    report = get_object_or_404(Report, slug=slug)
    sections, evidence_count = source_sections(report)
    named = {"year": report.year, "country": report.country, "source_name": report.source_name}
    return render(
        request,
        "recommendations/source.html",
        {
            "report": report,
            "sections": sections,
            "evidence_count": evidence_count,
            "source_document": source_document(named),
            "stances": Stance.choices,
            "curating": may_curate(request.user),
            "quote_form": PassageForm(auto_id="find_%s"),
        },
    )
