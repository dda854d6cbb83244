"""The interface language, per user (docs/design.md, "Languages").

A signed-in user's saved choice (`Preferences.language`) is copied into their session when they
log in and when they change it, so that no request has to read it from the database; the
middleware below activates it. Without a saved choice, Django's LocaleMiddleware decides: the
language cookie the switcher sets, else the browser's Accept-Language, else English.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.translation import gettext_noop

SESSION_KEY = "tracker_language"

# Strings of Django's own that its Norwegian catalogue does not translate yet (new in 6.1): this
# project's catalogue translates them, and a project's catalogue comes first.
DJANGO_STRINGS = [
    gettext_noop("- Select an option -"),
    gettext_noop("Select all objects on this page for an action"),
    gettext_noop("Select this object for an action - {}"),
]


def supported(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def remember(request: HttpRequest, code: str) -> None:
    """The session's language: `code`, or the browser's when blank."""
    if code and supported(code):
        request.session[SESSION_KEY] = code
    else:
        request.session.pop(SESSION_KEY, None)


@receiver(user_logged_in, dispatch_uid="remember-saved-language")
def remember_saved_language(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    from .models import Preferences

    if request is None or not hasattr(request, "session"):
        return
    language = (
        Preferences.objects.filter(user=user).values_list("language", flat=True).first() or ""
    )
    remember(request, language)


class UserLanguageMiddleware:
    """After LocaleMiddleware and the session: a signed-in user's saved language wins over
    the cookie and the browser."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session = getattr(request, "session", None)
        code = session.get(SESSION_KEY) if session is not None else None
        if code and supported(code):
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)
