"""Accounts beyond logging in: a forgotten password reset by e-mail, and sessions that end.

- **Password reset** uses Django's own views (tracker/urls.py). The form writes the mail in the
  recipient's language and with the site's own address (TRACKER_BASE_URL), never the request's
  Host. It answers the same whether or not the address belongs to an account, and asks for
  resets are throttled as log-ins are (AXES_FAILURE_LIMIT per AXES_COOLOFF_TIME), per address
  and client and per address, counted before any account is looked up. The link expires
  (PASSWORD_RESET_TIMEOUT) and is used once; a new password ends every other session, as any
  password change does (Django checks each session against the password's hash).
- **Sessions** end after SESSION_IDLE_MINUTES without a request, and SESSION_HOURS after the log-in
  whatever the activity (`SessionLimitsMiddleware`); "Log out everywhere" ends all of a person's
  sessions at once (`end_sessions`).
"""

import logging
import time
from collections.abc import Callable, Iterator
from hashlib import sha256
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tracker.client_ip import client_ip

from .mail import language_of

logger = logging.getLogger(__name__)

STARTED = "tracker_session_started"  # when the person logged in (seconds since the epoch)
SEEN = "tracker_session_seen"  # their last request, to the minute
SEEN_EVERY_SECONDS = 60  # how often a session is written only to say it is in use


# --- password reset ---------------------------------------------------------------------------


class ResetForm(PasswordResetForm):
    """Django's form, with the mail in the recipient's own language and the site's address,
    also for an account that has no password yet (one added in admin: its owner chooses it)."""

    def get_users(self, email: str) -> Iterator[Any]:
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (user for user in users if user.email.casefold() == email.casefold())

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        context = {**context, "base_url": settings.TRACKER_BASE_URL, "minutes": link_minutes()}
        with translation.override(language_of(context["user"], settings.LANGUAGE_CODE)):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )


def link_minutes() -> int:
    """How long a reset link works, as the pages and the mail say it."""
    return settings.PASSWORD_RESET_TIMEOUT // 60


def reset_requests_left(request: HttpRequest) -> bool:
    """Count a request for a reset link against its address and its client; whether it may
    still be answered (False once either has asked AXES_FAILURE_LIMIT times in the cooling-off
    time). A cache that fails lets the request through: the mail itself is still one a person
    asked for."""
    window = int(settings.AXES_COOLOFF_TIME.total_seconds())
    address = sha256(request.POST.get("email", "").strip().lower().encode()).hexdigest()
    # As log-in counts failures per username and client, and besides per address, so that
    # no one can fill a person's inbox from many clients.
    keys = [f"reset-requests:{address}:{client_ip(request)}", f"reset-requests:{address}"]
    try:
        counts = []
        for key in keys:
            cache.add(key, 0, window)
            counts.append(cache.incr(key))
    except Exception as error:  # whatever the cache backend raises
        logger.warning("password reset throttling skipped: %s", error)
        return True
    return max(counts) <= settings.AXES_FAILURE_LIMIT


def passwords_off(request: HttpRequest) -> HttpResponse:
    """Where a password page would be, when this tracker signs people in only through single
    sign-on (LOCAL_PASSWORDS=0)."""
    return render(request, "registration/passwords_off.html", status=404)


# --- sessions ---------------------------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="session-limits-start")
def start_session(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[STARTED] = request.session[SEEN] = int(time.time())


class SessionLimitsMiddleware:
    """A signed-in session ends after SESSION_IDLE_MINUTES without a request, and SESSION_HOURS
    after its log-in; the person is told why on the log-in page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if session.get("_auth_user_id"):
            now = int(time.time())
            started = session.setdefault(STARTED, now)  # sessions from before this rule
            seen = session.get(SEEN, now)
            if now - started > settings.SESSION_HOURS * 3600:
                too_old = _("Your session ended %(hours)s hours after you logged in. Log in again.")
                self.end(request, too_old % {"hours": settings.SESSION_HOURS})
            elif now - seen > settings.SESSION_IDLE_MINUTES * 60:
                self.end(
                    request,
                    _("Your session ended after %(minutes)s minutes without use. Log in again.")
                    % {"minutes": settings.SESSION_IDLE_MINUTES},
                )
            elif now - seen >= SEEN_EVERY_SECONDS or SEEN not in session:
                session[SEEN] = now
        return self.get_response(request)

    @staticmethod
    def end(request: HttpRequest, why: str) -> None:
        logout(request)
        messages.info(request, why)


def end_sessions(user: AbstractBaseUser) -> int:
    """End every session of this person (in the database's session store); how many."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended
