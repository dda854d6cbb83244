from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from ..languages import remember, supported
from ..models import Preferences, Report
from ..presentation import norwegian_sort_key
from ..rules.access import membership_of
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
    """Every report, by country (Norwegian alphabetical order), then year, newest first."""
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
            "countries": sorted(by_country.items(), key=lambda c: norwegian_sort_key(c[0])),
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


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The switcher in the header: back to the same page, its query string (the filters)
    included, in the chosen language. Saved in a signed-in user's preferences; a cookie for
    everyone (the log-in page, and after logging out). An unknown language changes nothing;
    a `next` address off this site is replaced by the home page."""
    code = request.POST.get("language", "")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if not supported(code):
        return response
    if request.user.is_authenticated:
        preferences = Preferences.of(request.user)
        preferences.language = code
        preferences.save(update_fields=["language"])
        remember(request, code)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response
