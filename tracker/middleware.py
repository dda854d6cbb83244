from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers


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
