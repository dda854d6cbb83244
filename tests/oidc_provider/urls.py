from typing import Any

from django.contrib.auth import views as auth_views
from django.urls import include, path
from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    """The person's address and name, as ID-porten brokers and Entra ID send them; an account
    whose username starts with "unverified" has an address the provider never verified."""

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "email_verified": not user.username.startswith("unverified"),
            "given_name": user.first_name,
            "family_name": user.last_name,
        }


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="provider_login.html"),
        name="login",
    ),
]
