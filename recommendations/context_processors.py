from django.conf import settings
from django.http import HttpRequest

from . import single_sign_on
from .rules.access import membership_of


def membership(request: HttpRequest) -> dict:
    """Every page shows who is signed in and for which organization."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"current_membership": membership_of(user)}


def sign_in(request: HttpRequest) -> dict:
    """How people sign in here: with a password, through single sign-on, or both."""
    return {
        "local_passwords": settings.LOCAL_PASSWORDS,
        "single_sign_on": single_sign_on.provider_name() if single_sign_on.enabled() else "",
    }
