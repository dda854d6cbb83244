"""A forgotten password (Django's reset views, throttled), logging out everywhere, and an
invitation accepted (recommendations/invitations.py)."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import invitations
from ..accounts import ResetForm, end_sessions, link_minutes, reset_requests_left

reset_form = auth_views.PasswordResetView.as_view(
    form_class=ResetForm,
    email_template_name="email/password_reset.txt",
    subject_template_name="email/password_reset_subject.txt",
    extra_context={"minutes": link_minutes()},
)
password_change = auth_views.PasswordChangeView.as_view(
    extra_context={
        "session_hours": settings.SESSION_HOURS,
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
    }
)
reset_done = auth_views.PasswordResetDoneView.as_view(extra_context={"minutes": link_minutes()})
reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    extra_context={"minutes": link_minutes()}
)


@login_not_required
def password_reset(request: HttpRequest) -> HttpResponseBase:
    """Django's form asking for a reset link; too many asks for one address, or from one
    client, are refused for a while (the same answer whoever the address belongs to)."""
    if request.method == "POST" and not reset_requests_left(request):
        return render(request, "registration/password_reset_throttled.html", status=429)
    return reset_form(request)


@require_POST
def log_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of the person, this one too (a device lost, a browser left open)."""
    ended = end_sessions(request.user)  # type: ignore[arg-type]  # signed in (LoginRequired)
    logout(request)
    messages.success(
        request,
        _("You were logged out everywhere (%(count)s sessions ended). Log in again.")
        % {"count": ended},
    )
    return redirect("login")


class AcceptInvitationForm(forms.Form):
    """The invitee's own account: a username, their name, and a password they choose (Django's
    password rules)."""

    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[UnicodeUsernameValidator()]
    )
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Password"),
        help_text=lazy(password_validators_help_text_html, str)(),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )
    password2 = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError(_("That username is taken: choose another."))
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            candidate = get_user_model()(
                username=cleaned.get("username", ""),
                email=self.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                validate_password(first, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


@login_not_required
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee sets up their account from the mailed link, then is logged in."""
    invitation = invitations.invitation_of(token)
    if invitation is None:
        return render(request, "registration/invitation_invalid.html", status=410)
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept(
                invitation,
                username=form.cleaned_data["username"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError:
            return render(request, "registration/invitation_invalid.html", status=410)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome. Your account is ready."))
        return redirect("/")
    context = {"form": form, "invitation": invitation}
    status = 422 if request.method == "POST" else 200
    return render(request, "registration/invitation_accept.html", context, status=status)
