"""A real OpenID Connect provider for the single sign-on tests (django-oauth-toolkit with OIDC
on), started by tests/sign_on.py on loopback, with its own SQLite database and a new RSA key."""
