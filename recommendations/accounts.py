"""The log-in forms of the site and of the admin.

Django's AuthenticationForm shows a maximum username length but does not enforce it: any
username went to authenticate(), and django-axes records a failed log-in's username in a
CharField(255), which PostgreSQL refuses when longer (a server error). These forms refuse a
username longer than the User model's (150) before anything reaches the database; django-axes
then sees only usernames that could exist, and its lock-out works as before.
"""

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class LoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        # Checked on the normalised (NFKC) username, which can be longer than what was typed.
        username.validators.append(
            MaxLengthValidator(
                self.username_field.max_length or 254,
                message="A username has at most %(limit_value)d characters.",
            )
        )


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's log-in form (staff only), with the same username limit."""
