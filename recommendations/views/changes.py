"""Lineage between years: what changed between two years of a country, and carrying an
organization's position on last year's recommendation forward to this year's."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..forms import CarryForwardForm
from ..lineage import compare, earlier_reports
from ..models import Recommendation, Report
from ..rules.access import writer_membership
from ..rules.writing import carry_forward as carry_position_forward
from ._shared import HtmxHttpRequest


@require_GET
def changes(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    earlier_years = list(earlier_reports(report))
    wanted = request.GET.get("from", "")
    if wanted:
        earlier = next((r for r in earlier_years if r.slug == wanted), None)
        if earlier is None:
            raise Http404(_("No earlier report of this country by that name."))
    else:
        earlier = earlier_years[0] if earlier_years else None
    context = {
        "report": report,
        "earlier_years": earlier_years,
        "comparison": compare(earlier, report) if earlier else None,
    }
    return render(request, "recommendations/changes.html", context)


@require_POST
def carry_forward(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponse:
    recommendation = get_object_or_404(
        Recommendation.objects.select_related("report"), report__slug=slug, number=number
    )
    writer_membership(request.user, recommendation.report)
    form = CarryForwardForm(request.POST)
    if form.is_valid():
        try:
            carry_position_forward(
                recommendation,
                author=request.user,
                status=form.cleaned_data["status"],
                rationale=form.cleaned_data["rationale"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(
                    request, _("Not carried forward: %(problem)s") % {"problem": message}
                )
        else:
            messages.success(request, _("Position carried forward as a new assessment."))
    else:
        for field_errors in form.errors.values():
            for problem in field_errors:
                messages.error(
                    request, _("Not carried forward: %(problem)s") % {"problem": problem}
                )
    return redirect(recommendation.get_absolute_url() + "#lineage")
