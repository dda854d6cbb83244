from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

# Only the account views we use: no self-service password reset (coordinators reset passwords
# in admin), so the site sends no mail and offers no account-enumeration form.
accounts = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    path("", include("recommendations.urls")),
]
