"""What the views of several areas need (private to the views package)."""

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as the app's views see it: django-htmx's middleware has set `htmx`, and
    LoginRequiredMiddleware has let only signed-in users through (so `user` is a User)."""

    htmx: HtmxDetails
    user: User


def wants_partial(request: HtmxHttpRequest) -> bool:
    """An HTMX request that swaps part of the page (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def bad_request(request: HttpRequest, problem: str) -> HttpResponse:
    return render(request, "400.html", {"problem": problem}, status=400)
