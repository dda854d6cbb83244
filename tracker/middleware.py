import re
from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from recommendations.filters import MAX_SEARCH_LENGTH, MAX_SEARCH_WORDS


class PrivateCacheMiddleware:
    """What a signed-in user is shown is theirs: shared caches (proxies, CDNs) must not keep
    it, and a browser must not reuse it for another session. Responses that say `public`
    themselves (the status stylesheet) are left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if "public" not in response.get("Cache-Control", ""):
                patch_cache_control(response, private=True)
            patch_vary_headers(response, ["Cookie"])
        return response


class AdminQueryLimitsMiddleware:
    """Admin change lists turn the query string into SQL as it comes: a NUL character (which
    PostgreSQL refuses in text) or a search of thousands of words (more than SQLite can parse)
    was a server error. Refused with a 400 that says why; the app's own filters check the same
    limits in their forms (recommendations.filters)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path.startswith("/admin/") and (problem := admin_query_problem(request)):
            return render(request, "400.html", {"problem": problem}, status=400)
        return self.get_response(request)


def admin_query_problem(request: HttpRequest) -> str | None:
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return _("A query parameter holds a NUL character, which no page takes.")
    search = request.GET.get("q", "")
    if len(search) > MAX_SEARCH_LENGTH or len(search.split()) > MAX_SEARCH_WORDS:
        return _("Search for at most %(characters)s characters and %(words)s words.") % {
            "characters": MAX_SEARCH_LENGTH,
            "words": MAX_SEARCH_WORDS,
        }
    return None


class MethodNotAllowedPageMiddleware:
    """Django answers a method a view does not take with an empty 405; say which it takes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code == 405 and not getattr(response, "content", b"x"):
            page = render(
                request,
                "405.html",
                {"method": request.method, "allowed": response.get("Allow", "")},
                status=405,
            )
            page["Allow"] = response.get("Allow", "")
            return page
        return response


# The pages served the same to everyone (recommendations/views/public.py), and robots.txt.
PUBLIC_PREFIXES = ("/public/", "/robots.txt")
# Vary headers a public page must not carry: it depends on neither.
NOT_VARYING = {"cookie", "accept-language"}


class PublicPagesMiddleware:
    """The public pages neither read nor set a cookie, so that shared caches (CDNs) keep one
    copy for everyone: the request's cookies are removed before anything reads them (a
    signed-in visitor sees exactly what everyone sees), any Set-Cookie is dropped, and Vary
    names neither Cookie nor Accept-Language (the language is in the address); a response that
    says nothing about caching is not to be stored. First in MIDDLEWARE, so that it sees the
    request before and the response after all the others."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        request.COOKIES = {}
        request.META.pop("HTTP_COOKIE", None)
        response = self.get_response(request)
        response.cookies.clear()
        if not response.has_header("Cache-Control"):
            # Django's own answers (an address that matches nothing, a 405) are rendered in the
            # Accept-Language, which no longer varies them: no shared cache may keep one.
            patch_cache_control(response, no_store=True)
        if response.has_header("Vary"):
            kept = [
                field
                for field in re.split(r"\s*,\s*", response["Vary"])
                if field and field.lower() not in NOT_VARYING
            ]
            if kept:
                response["Vary"] = ", ".join(kept)
            else:
                del response["Vary"]
        return response
