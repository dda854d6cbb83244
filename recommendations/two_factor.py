"""Two-factor authentication (django-otp): a code from an authenticator app (TOTP, RFC 6238)
after the password, with ten recovery codes for a lost device.

- **Staff must** (they curate, publish, manage accounts; superusers too): after logging in,
  such an account reaches nothing but the two-factor pages (and logging out) until the session
  is verified: it sets up an app the first time, and gives a code on every later log-in
  (`StaffSecondFactorMiddleware`). Reviewers and observers may turn it on; then they give a
  code at every log-in too.
- **Setting up** shows the secret as a QR code and as text; the first right code confirms the
  device and shows ten recovery codes, once. Each recovery code works once.
- **Lock-out:** wrong codes slow the device down, twice as long after each (django-otp's
  throttling: 1 s, 2 s, 4 s, …); a right code resets it. Passwords stay throttled by
  django-axes.
- **A lost device:** a recovery code logs in; then the person removes the device and sets up a
  new one. With no recovery code left, a superuser deletes the person's devices in admin
  (*TOTP devices*, *Static devices*), and the next log-in sets up a new one.
"""

from collections.abc import Callable
from secrets import token_hex
from typing import cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .rules.privileges import is_privileged

RECOVERY_CODES = 10
# What an unverified staff session may still open: the two-factor pages and what they need.
OPEN_BEFORE_VERIFIED = {
    "two_factor",
    "two_factor_verify",
    "logout",
    "set_language",
    "favicon",
    "status_stylesheet",
}


ASKS_FOR_CODE = "tracker_second_factor"  # in the session: this log-in needs a code


def required(user: User) -> bool:
    """Whether the account must have a second factor: staff and superusers."""
    return settings.STAFF_SECOND_FACTOR and is_privileged(user)


@receiver(user_logged_in, dispatch_uid="two-factor-asks-for-a-code")
def note_whether_a_code_is_needed(
    sender: object, request: HttpRequest | None, user: User, **kwargs: object
) -> None:
    """At log-in, once: whether this person turned two-factor on (anyone may), so that every
    later request knows without a query."""
    if request is not None and hasattr(request, "session"):
        request.session[ASKS_FOR_CODE] = app_device(user) is not None


def asks_for_code(request: HttpRequest, user: User) -> bool:
    return required(user) or bool(request.session.get(ASKS_FOR_CODE))


def app_device(user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator app, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def device_to_confirm(user: User) -> TOTPDevice:
    """The app being set up: a new secret, kept unconfirmed until its first right code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="app", confirmed=False)


def new_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes (the earlier ones stop working), each good for one log-in."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery")
    device.confirmed = True
    device.save()
    device.token_set.all().delete()
    codes = [token_hex(5) for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def matching_device(user: User, code: str) -> TOTPDevice | StaticDevice | None:
    """The device a code is right for (a recovery code is used up by it); None when wrong or
    while the devices are slowed down after wrong codes."""
    code = "".join(code.split())
    return match_token(user, code) if code else None


def safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else fallback


class StaffSecondFactorMiddleware:
    """A staff session that has not verified a second factor is sent to set one up or to give
    a code, whatever it asks for (an admin page, a coordinator's action, an HTMX request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)  # OTPMiddleware gave it is_verified()
        verified = user.is_verified() if user.is_authenticated else True  # type: ignore[attr-defined]
        if user.is_authenticated and not verified and asks_for_code(request, user):
            try:
                name = resolve(request.path_info).url_name
            except Exception:  # no such page: the second factor comes first all the same
                name = None
            if name not in OPEN_BEFORE_VERIFIED:
                step = "two_factor_verify" if app_device(user) else "two_factor"
                # Back to the page, not the part of it an HTMX request asked for.
                back = request.headers.get("HX-Current-URL") or request.get_full_path()
                target = f"{reverse(step)}?{urlencode({'next': back})}"
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
        return self.get_response(request)
