from django.http import HttpRequest

from .rules.access import membership_of


def membership(request: HttpRequest) -> dict:
    """Every page shows who is signed in and for which organization."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"current_membership": membership_of(user)}
