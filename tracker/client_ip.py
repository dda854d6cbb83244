from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address login throttling counts failures against.

    Behind N trusted proxies (DJANGO_PROXY_COUNT) each appends to X-Forwarded-For, so the client
    is the N-th entry from the right; anything further left was written by the client itself.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [address for address in forwarded if address]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")
