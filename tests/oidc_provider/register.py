"""Sets up the test provider's database: its people and the two clients (the tracker, and
another service whose tokens the tracker must refuse). Run by tests/sign_on.py:
`python -m tests.oidc_provider.register CLIENT_SECRET REDIRECT_URI...`."""

import sys

import django


def main(secret: str, redirect_uris: list[str]) -> None:
    django.setup()
    from django.contrib.auth.models import User
    from oauth2_provider.models import Application

    people = [
        ("reviewer", "reviewer@example.org", "Rita", "Reviewer"),
        ("stranger", "stranger@example.org", "Sam", "Stranger"),
        ("invitee", "invitee@example.org", "Ingrid", "Invitee"),
        ("unverified", "reviewer@example.org", "Ursula", "Unverified"),
        ("coordinator", "coordinator@example.org", "Cora", "Coordinator"),
    ]
    for username, email, first, last in people:
        user, _ = User.objects.update_or_create(
            username=username, defaults={"email": email, "first_name": first, "last_name": last}
        )
        user.set_password("provider-password")
        user.save()
    for client_id in ("tracker", "other-service"):
        Application.objects.update_or_create(
            client_id=client_id,
            defaults={
                "name": client_id,
                "client_secret": secret,
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "redirect_uris": " ".join(redirect_uris),
                "post_logout_redirect_uris": " ".join(
                    uri.replace("/accounts/sign-on/callback/", "/accounts/login/")
                    for uri in redirect_uris
                ),
                "algorithm": Application.RS256_ALGORITHM,
                "skip_authorization": True,
            },
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
