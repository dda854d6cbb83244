"""A forgotten password (Django's reset views, throttled) and logging out everywhere."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

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
