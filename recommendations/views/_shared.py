"""What the views of several areas need (private to the views package)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that has passed through django-htmx's middleware (as every request has)."""

    htmx: HtmxDetails


def wants_partial(request: HtmxHttpRequest) -> bool:
    """An HTMX request that swaps part of the page (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def bad_request(request: HttpRequest, problem: str) -> HttpResponse:
    return render(request, "400.html", {"problem": problem}, status=400)
