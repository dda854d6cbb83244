from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ..models import Report
from ..presentation import source_sections
from ._shared import HtmxHttpRequest


@require_GET
def source(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The report's text with every evidence quote marked where it stands."""
    report = get_object_or_404(Report, slug=slug)
    sections, evidence_count = source_sections(report)
    return render(
        request,
        "recommendations/source.html",
        {"report": report, "sections": sections, "evidence_count": evidence_count},
    )
