from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from ..models import Report
from ..status import stylesheet


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    report = Report.objects.order_by("-year", "country").first()
    if report is None:
        return render(request, "recommendations/no_reports.html", status=404)
    return redirect(report)


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
