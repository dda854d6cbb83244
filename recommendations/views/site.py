from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from ..models import Report, membership_of
from ..status import stylesheet


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The latest report of the user's organization's country; the reports index for everyone
    else (coordinators, staff) or when their country has no report yet."""
    if not Report.objects.exists():
        return render(request, "recommendations/no_reports.html", status=404)
    membership = membership_of(request.user)
    if membership is not None:
        report = Report.objects.filter(country=membership.organization.country).first()
        if report is not None:
            return redirect(report)
    return redirect("reports")


@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    """Every report, by country, then year, newest first."""
    by_country: dict[str, list[Report]] = {}
    for report in Report.objects.annotate(listed_recommendations=Count("recommendations")).order_by(
        "country", "-year"
    ):
        by_country.setdefault(report.country, []).append(report)
    membership = membership_of(request.user)
    return render(
        request,
        "recommendations/reports.html",
        {
            "countries": sorted(by_country.items()),
            "own_country": membership.organization.country if membership else "",
        },
    )


@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """The cheapest logged-in page: the benchmark's floor (same middleware, same session
    check), and a probe that a session is alive."""
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@require_GET
@cache_control(public=True, max_age=86400)
def status_stylesheet(request: HttpRequest) -> HttpResponse:
    """The status colours as CSS, generated from their one definition (status.py). The
    pages link it with a version derived from its content, so a change is seen at once."""
    return HttpResponse(stylesheet(), content_type="text/css; charset=utf-8")
