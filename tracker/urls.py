from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from recommendations import single_sign_on
from recommendations.accounts import passwords_off
from recommendations.forms import AdminLoginForm, LoginForm
from recommendations.views import accounts as accounts_views

# Django's account views (recommendations/accounts.py): log-in, password change, a forgotten
# password reset by e-mail (throttled; the same answer whether or not the address exists), and
# logging out everywhere.
accounts = [
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", accounts_views.log_out, name="logout"),
    path("password_change/", accounts_views.password_change, name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password_reset/", login_not_required(accounts_views.password_reset), name="password_reset"
    ),
    path(
        "password_reset/done/",
        login_not_required(accounts_views.reset_done),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        login_not_required(accounts_views.reset_confirm),
        name="password_reset_confirm",
    ),
    path("reset/done/", accounts_views.reset_complete, name="password_reset_complete"),
    path("logout/everywhere/", accounts_views.log_out_everywhere, name="log_out_everywhere"),
    path("invitation/<str:token>/", accounts_views.accept_invitation, name="accept_invitation"),
    path("two-factor/", accounts_views.two_factor, name="two_factor"),
    path("two-factor/verify/", accounts_views.two_factor_verify, name="two_factor_verify"),
    # Single sign-on through OpenID Connect (recommendations/single_sign_on.py), when set up.
    path("sign-on/", login_not_required(single_sign_on.StartView.as_view()), name="sign_on"),
    path(
        "sign-on/callback/",
        login_not_required(single_sign_on.CallbackView.as_view()),
        name="sign_on_callback",
    ),
]

# The admin's log-in refuses an over-long username before the database too.
admin.site.login_form = AdminLoginForm


admin_own_login = admin.site.login


@login_not_required
def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's own log-in, or ours when passwords are switched off (single sign-on)."""
    if settings.LOCAL_PASSWORDS:
        return admin_own_login(request, extra_context)
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


admin.site.login = admin_login  # type: ignore[method-assign]
admin_own_password_change = admin.site.password_change


def admin_password_change(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    if settings.LOCAL_PASSWORDS:
        return admin_own_password_change(request, extra_context)
    return passwords_off(request)


admin.site.password_change = admin_password_change  # type: ignore[method-assign,assignment]


def admin_logout(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The tracker's log-out (at the single sign-on provider too, after a sign-in there)."""
    return accounts_views.log_out(request)


admin.site.logout = admin_logout  # type: ignore[method-assign,assignment]


@login_not_required
@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the pages link: send them to the static icon."""
    return redirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    path("", include("recommendations.urls")),
]

# The app's error pages (recommendations/views/errors.py): they say what was wrong and never read
# the request body, which may be what could not be read.
handler400 = "recommendations.views.errors.bad_request"
handler403 = "recommendations.views.errors.permission_denied"
handler404 = "recommendations.views.errors.page_not_found"
handler500 = "recommendations.views.errors.server_error"
