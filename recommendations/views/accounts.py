"""A forgotten password (Django's reset views, throttled), logging out (at the single sign-on
provider too), logging out everywhere, and an invitation accepted
(recommendations/invitations.py). With LOCAL_PASSWORDS=0 the password pages say that passwords
are switched off, and an invitation is accepted only by signing in."""

from base64 import b32encode
from typing import Any, cast

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import invitations, single_sign_on
from .. import two_factor as two_factor_rules
from ..accounts import (
    ResetForm,
    end_sessions,
    link_minutes,
    passwords_off,
    reset_requests_left,
)
from ..validators import refuse_control_characters

reset_form = auth_views.PasswordResetView.as_view(
    form_class=ResetForm,
    email_template_name="email/password_reset.txt",
    subject_template_name="email/password_reset_subject.txt",
    extra_context={"minutes": link_minutes()},
)
SESSIONS = {
    "session_hours": settings.SESSION_HOURS,
    "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
}
change_form = auth_views.PasswordChangeView.as_view(extra_context=SESSIONS)
reset_done_page = auth_views.PasswordResetDoneView.as_view(
    extra_context={"minutes": link_minutes()}
)
reset_confirm_form = auth_views.PasswordResetConfirmView.as_view(
    extra_context={"minutes": link_minutes()}
)


def password_change(request: HttpRequest) -> HttpResponseBase:
    """Django's form; with passwords switched off, the page keeps only the sessions part."""
    if settings.LOCAL_PASSWORDS:
        return change_form(request)
    if request.method != "GET":
        return passwords_off(request)
    return render(request, "registration/password_change_form.html", {"form": None, **SESSIONS})


@login_not_required
def password_reset(request: HttpRequest) -> HttpResponseBase:
    """Django's form asking for a reset link; too many asks for one address, or from one
    client, are refused for a while (the same answer whoever the address belongs to)."""
    if not settings.LOCAL_PASSWORDS:
        return passwords_off(request)
    if request.method == "POST" and not reset_requests_left(request):
        return render(request, "registration/password_reset_throttled.html", status=429)
    return reset_form(request)


@login_not_required
def reset_done(request: HttpRequest) -> HttpResponseBase:
    return reset_done_page(request) if settings.LOCAL_PASSWORDS else passwords_off(request)


@login_not_required
def reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponseBase:
    if not settings.LOCAL_PASSWORDS:
        return passwords_off(request)
    return reset_confirm_form(request, uidb64=uidb64, token=token)


reset_complete_page = auth_views.PasswordResetCompleteView.as_view()


@login_not_required
def reset_complete(request: HttpRequest) -> HttpResponseBase:
    return reset_complete_page(request) if settings.LOCAL_PASSWORDS else passwords_off(request)


@login_not_required
@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    """End this session; after a single sign-on, at the provider too (it sends the person back
    to the log-in page)."""
    after = single_sign_on.provider_logout_url(request)
    logout(request)
    return redirect(after)


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
    # Names go into mail headers: one line each, as in admin.
    first_name = forms.CharField(
        label=_("First name"), max_length=150, validators=[refuse_control_characters]
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        required=False,
        validators=[refuse_control_characters],
    )
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
    if not settings.LOCAL_PASSWORDS:  # accepted by signing in (single_sign_on.py)
        if request.method != "GET":
            return passwords_off(request)
        return render(request, "registration/invitation_accept.html", {"invitation": invitation})
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
        except IntegrityError:  # the username was taken meanwhile
            form.add_error("username", _("That username is taken: choose another."))
            context = {"form": form, "invitation": invitation}
            return render(request, "registration/invitation_accept.html", context, status=422)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome. Your account is ready."))
        return redirect("/")
    context = {"form": form, "invitation": invitation}
    status = 422 if request.method == "POST" else 200
    return render(request, "registration/invitation_accept.html", context, status=status)


# --- two-factor authentication (recommendations/two_factor.py) --------------------------------


def signed_in(request: HttpRequest) -> User:
    """These pages are for signed-in people (LoginRequiredMiddleware)."""
    return cast(User, request.user)


@never_cache  # it shows a secret
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app (the QR code, the secret, a first code), or see that it is
    on, replace the recovery codes, or remove the app."""
    user = signed_in(request)
    device = two_factor_rules.app_device(user)
    if device is not None:
        if request.method == "POST" and not user.is_verified():  # type: ignore[attr-defined]
            return redirect(f"{reverse('two_factor_verify')}?next={request.path}")
        if request.method == "POST" and request.POST.get("action") == "codes":
            codes = two_factor_rules.new_recovery_codes(user)
            return render(request, "registration/two_factor_codes.html", {"codes": codes})
        if request.method == "POST" and request.POST.get("action") == "remove":
            if two_factor_rules.required(user):
                messages.error(
                    request, _("Staff accounts keep a second factor: set up a new app first.")
                )
            else:
                TOTPDevice.objects.filter(user=user).delete()
                StaticDevice.objects.filter(user=user).delete()
                request.session[two_factor_rules.ASKS_FOR_CODE] = False
                messages.success(request, _("Two-factor authentication is off."))
            return redirect("two_factor")
        return render(request, "registration/two_factor.html", {"device": device})
    setup = two_factor_rules.device_to_confirm(user)
    error = ""
    if request.method == "POST":
        if setup.verify_token("".join(request.POST.get("code", "").split())):
            setup.confirmed = True
            setup.save()
            otp_login(request, setup)
            request.session[two_factor_rules.ASKS_FOR_CODE] = True  # at every later log-in
            codes = two_factor_rules.new_recovery_codes(user)
            shown = {"codes": codes, "next": two_factor_rules.safe_next(request, "")}
            return render(request, "registration/two_factor_codes.html", shown)
        error = _("That code is not right: try the newest code the app shows for this account.")
    context: dict[str, object] = {
        "setup": setup,
        "secret": b32encode(setup.bin_key).decode(),
        "qr": mark_safe(
            segno.make(setup.config_url).svg_inline(scale=4, title=_("QR code of the secret"))
        ),
        "error": error,
        "next": two_factor_rules.safe_next(request, ""),
        "required": two_factor_rules.required(user),
    }
    return render(
        request, "registration/two_factor_setup.html", context, status=422 if error else 200
    )


@never_cache
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The code after the password: from the app, or a recovery code (used up)."""
    user = signed_in(request)
    if two_factor_rules.app_device(user) is None:
        return redirect("two_factor")
    error = ""
    if request.method == "POST":
        device = two_factor_rules.matching_device(user, request.POST.get("code", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(two_factor_rules.safe_next(request))
        error = _(
            "That code is not right, or came too soon after a wrong one: wait, then try again."
        )
    context = {"error": error, "next": two_factor_rules.safe_next(request, "")}
    return render(
        request, "registration/two_factor_verify.html", context, status=422 if error else 200
    )
