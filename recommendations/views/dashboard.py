from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from ..filters import RecommendationFilter
from ..models import Report, attach_positions
from ..presentation import status_summary
from ._shared import HtmxHttpRequest, wants_partial


@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    recommendations = report.recommendations.with_positions().with_counts().order_by("number")
    filterset = RecommendationFilter(request.GET or None, queryset=recommendations)
    valid = filterset.is_valid() if filterset.is_bound else True
    rows = attach_positions(list(filterset.qs if valid else recommendations.none()))
    context = {
        "report": report,
        "filterset": filterset,
        "rows": rows,
        "filtered": filterset.is_bound and any(filterset.form.cleaned_data.values()),
        "query": request.GET.urlencode(),
    }
    status = 200 if valid else 400
    if wants_partial(request):
        return render(request, "recommendations/dashboard.html#results", context, status=status)
    everything = rows if not context["filtered"] else list(recommendations)
    context["summary"] = [
        ("Government", status_summary([r.government_status for r in everything])),
        ("NGO", status_summary([r.ngo_status for r in everything])),
    ]
    return render(request, "recommendations/dashboard.html", context, status=status)
