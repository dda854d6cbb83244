"""Settings for the recommendation compliance tracker.

Every setting that differs between machines comes from the environment; see the README's
"Configuration" section for the variables.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def read_env_file(path: Path) -> None:
    """Variables from a file of NAME=value lines (# starts a comment) for what the environment
    does not set already: a development checkout's DJANGO_DEBUG=1 (`make run` writes it), or a
    server's settings kept beside the code, so that every command runs as written."""
    if not path.is_file():
        return
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip().isidentifier():
            raise ImproperlyConfigured(f"{path}, line {number}: not NAME=value: {line!r}")
        os.environ.setdefault(name.strip(), value.strip())


# DJANGO_ENV_FILE names another file; set empty, none is read (the tests read none).
if env_file := os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env")):
    read_env_file(Path(env_file))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(development: set DJANGO_DEBUG=1, as `make run` does)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
# Earlier keys, still accepted for sessions and snapshot signatures after a key rotation.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_htmx",
    "simple_history",
    "axes",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "recommendations",
]

MIDDLEWARE = [
    # The public pages read and set no cookie (first: before and after everything else).
    "tracker.middleware.PublicPagesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the cookie the switcher sets, else the browser's Accept-Language...
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which second factor, if any, the session was verified with (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Whom the request acts for: account and organization saves are checked against it.
    "recommendations.rules.privileges.ActingUserMiddleware",
    # ...unless a signed-in user saved one (Preferences.language, kept in the session).
    "recommendations.languages.UserLanguageMiddleware",
    "tracker.middleware.PrivateCacheMiddleware",
    "tracker.middleware.AdminQueryLimitsMiddleware",
    "tracker.middleware.MethodNotAllowedPageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages (it says why a session ended); LoginRequiredMiddleware's check of the
    # view comes after every middleware's own, so an ended session is sent to log in.
    "recommendations.accounts.SessionLimitsMiddleware",
    # Staff reach nothing but the two-factor pages before a second factor (two_factor.py).
    "recommendations.two_factor.StaffSecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tracker.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "recommendations.context_processors.membership",
                "recommendations.context_processors.sign_in",
            ],
        },
    },
]

WSGI_APPLICATION = "tracker.wsgi.application"

# Embedded default: a SQLite file inside the checkout (ignored by git). DATABASE_URL selects
# PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/tracker (psycopg 3).
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
# A request that fails part-way writes nothing.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# PostgreSQL: the role the application runs as, with only the privileges it needs; `migrate`,
# run as the tables' owner, grants them (SECURITY.md, "Database roles"). The test suite runs as it.
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "")

# Pages and exports are cached per data version (recommendations/caching.py): a write changes
# the version, so nothing cached is ever shown stale. In this process's memory by default;
# REDIS_URL (e.g. redis://127.0.0.1:6379/0) shares one cache between several app servers.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tracker",
            # Seconds. A hit is a millisecond; a Redis that is down or hangs must cost a page
            # little more than rendering it without the cache (caching.py), not redis-py's 5 s.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("PAGE_CACHE_ENTRIES", "2000"))},
        }
    }
# PAGE_CACHE=0 renders every page afresh (the benchmark's "before"; the freshness tests).
PAGE_CACHE = env_bool("PAGE_CACHE", True)
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", str(24 * 3600)))

# Work done after a write, away from the request (recommendations/prepared.py): tasks are kept in
# the database and run by `manage.py db_worker`. PREPARED_DOWNLOADS=1 (with that worker running)
# has every write bring the whole-report PDFs people download up to date in the background.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
PREPARED_DOWNLOADS = env_bool("PREPARED_DOWNLOADS")
# Seconds after a write before its refresh runs: later writes within them share its render.
PREPARED_DOWNLOADS_DELAY = float(os.environ.get("PREPARED_DOWNLOADS_DELAY", "5"))

# Single sign-on through OpenID Connect (recommendations/single_sign_on.py, docs/accounts.md):
# on when OIDC_ISSUER is set. The endpoints are those of the issuer's discovery document
# (<issuer>/.well-known/openid-configuration).
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "")
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_USERINFO_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_JWKS_ENDPOINT", "")
OIDC_END_SESSION_ENDPOINT = os.environ.get("OIDC_END_SESSION_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGORITHM", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
# How the client authenticates at the token endpoint: the secret in the form (client_secret_post)
# or, with 1, in an Authorization header (client_secret_basic), as the provider's client says.
OIDC_TOKEN_USE_BASIC_AUTH = env_bool("OIDC_TOKEN_USE_BASIC_AUTH")
# The claim with the person's address, and the one saying the provider verified it (empty: the
# provider's addresses are all trusted, as in a single-tenant directory the organization runs).
OIDC_EMAIL_CLAIM = os.environ.get("OIDC_EMAIL_CLAIM", "email")
OIDC_EMAIL_VERIFIED_CLAIM = os.environ.get("OIDC_EMAIL_VERIFIED_CLAIM", "email_verified")
# What the log-in button calls the provider ("ID-porten", "Microsoft Entra ID").
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the hint for the provider's log-out
OIDC_TIMEOUT = 10
OIDC_CREATE_USER = False  # accounts come from invitations only
OIDC_AUTHENTICATION_CALLBACK_URL = "sign_on_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"
if OIDC_ISSUER:
    missing = [
        name
        for name, value in [
            ("OIDC_CLIENT_ID", OIDC_RP_CLIENT_ID),
            ("OIDC_CLIENT_SECRET", OIDC_RP_CLIENT_SECRET),
            ("OIDC_AUTHORIZATION_ENDPOINT", OIDC_OP_AUTHORIZATION_ENDPOINT),
            ("OIDC_TOKEN_ENDPOINT", OIDC_OP_TOKEN_ENDPOINT),
            ("OIDC_USERINFO_ENDPOINT", OIDC_OP_USER_ENDPOINT),
            ("OIDC_JWKS_ENDPOINT", OIDC_OP_JWKS_ENDPOINT),
        ]
        if not value
    ]
    if missing:
        names = ", ".join(missing)
        raise ImproperlyConfigured(f"OIDC_ISSUER is set, so these must be too: {names}")
# LOCAL_PASSWORDS=0: people sign in only through single sign-on (no password log-in, reset or
# change anywhere, the admin's log-in included).
LOCAL_PASSWORDS = env_bool("LOCAL_PASSWORDS", True)
if not LOCAL_PASSWORDS and not OIDC_ISSUER:
    raise ImproperlyConfigured("LOCAL_PASSWORDS=0 needs single sign-on: set OIDC_ISSUER too.")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses logins while locked out
    *(["django.contrib.auth.backends.ModelBackend"] if LOCAL_PASSWORDS else []),
    *(["recommendations.single_sign_on.Backend"] if OIDC_ISSUER else []),
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
# Staff (who curate, publish and manage accounts) must verify a second factor, a code from an
# authenticator app (TOTP) or a recovery code, before any page but the two-factor ones
# (recommendations/two_factor.py). 0 switches it off (never in production).
STAFF_SECOND_FACTOR = env_bool("DJANGO_STAFF_SECOND_FACTOR", True)
OTP_TOTP_ISSUER = "TIP recommendation tracker"
# Admin never shows a second factor's secret or QR code (a superuser removes a lost device; the
# person sets up a new one themselves).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# An invitation's link works once, for this many days after it was (last) sent.
INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "7"))
# A password reset link works once, and for this long (seconds).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("DJANGO_PASSWORD_RESET_MINUTES", "60")) * 60
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# The interface in English or Norwegian (bokmål), per user (docs/design.md, "Languages"); the
# report's own text is English whatever the interface says. English is en-gb, as LANGUAGE_CODE:
# its dates and numbers keep the British formats.
LANGUAGES = [("en-gb", "English"), ("nb", "Norsk bokmål")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Europe/Oslo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names after `collectstatic`, served by WhiteNoise with far-future caching.
    "staticfiles": {"BACKEND": "tracker.storage.StaticFilesStorage"},
}

# --- security (see SECURITY.md) -------------------------------------------------------------

# Login throttling: five failures for one username from one address locks that pair out for
# AXES_COOLOFF_MINUTES; a coordinator unlocks in admin (Access attempts) or with
# `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
TRUSTED_PROXY_COUNT = int(os.environ.get("DJANGO_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "tracker.client_ip.client_ip"
AXES_VERBOSE = False
# A refused single sign-on is not counted as a failed log-in (single_sign_on.not_a_password).
AXES_WHITELIST_CALLABLE = "recommendations.single_sign_on.not_a_password"

# The audit trail (django-simple-history) records who changed what; it is not an undo button:
# a change goes through the admin forms and their checks.
SIMPLE_HISTORY_REVERT_DISABLED = True

# A session ends SESSION_HOURS after its log-in, and after SESSION_IDLE_MINUTES without a request
# (recommendations/accounts.py), or when the browser closes.
SESSION_HOURS = int(os.environ.get("DJANGO_SESSION_HOURS", "8"))
SESSION_IDLE_MINUTES = int(os.environ.get("DJANGO_SESSION_IDLE_MINUTES", "60"))
SESSION_COOKIE_AGE = SESSION_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # HTMX takes the token from the page (hx-headers), not the cookie
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = env_bool(
    "DJANGO_SECURE_COOKIES", not DEBUG
)
# The switcher's choice for the log-in page and after logging out (signed in, the saved
# preference decides).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True  # recommendations.views.site.set_language sets it so
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
if env_bool("DJANGO_BEHIND_TLS_PROXY"):
    # Only behind a proxy that sets this header itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script or style anywhere: HTMX and the stylesheets come from static/.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
if OIDC_END_SESSION_ENDPOINT:
    # Logging out (a form) ends at the provider's end-session page when single sign-on is on.
    provider = urlsplit(OIDC_END_SESSION_ENDPOINT)
    SECURE_CSP["form-action"].append(f"{provider.scheme}://{provider.netloc}")

# --- email: digests and reminders (docs/email.md) -------------------------------------------

# Development prints mail to the console. Production sends through SMTP: to SMTP_HOST, or to a
# relay on localhost:25 when it is unset (Django's deploy check refuses the console backend
# in production, rightly: mail would silently go nowhere). The test runner replaces every
# mailer with its in-memory one (mail.outbox).
SMTP_HOST = os.environ.get("SMTP_HOST", "")
if SMTP_HOST or not DEBUG:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": SMTP_HOST or "localhost",
                # None: 25, or 587 with SMTP_TLS, or 465 with SMTP_SSL.
                "port": int(os.environ["SMTP_PORT"]) if os.environ.get("SMTP_PORT") else None,
                "username": os.environ.get("SMTP_USER", ""),
                "password": os.environ.get("SMTP_PASSWORD", ""),
                # STARTTLS by default for a named server; the local relay speaks plain SMTP.
                "use_tls": env_bool("SMTP_TLS", bool(SMTP_HOST) and not env_bool("SMTP_SSL")),
                "use_ssl": env_bool("SMTP_SSL"),
                "timeout": int(os.environ.get("SMTP_TIMEOUT", "30")),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get(
    "DJANGO_DEFAULT_FROM_EMAIL", "TIP recommendation tracker <tracker@localhost>"
)
# Mail is written outside any request, so its links need the site's address.
TRACKER_BASE_URL = os.environ.get("TRACKER_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- end of email ----------------------------------------------------------------------------

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

FIXTURE_DIRS = [BASE_DIR / "fixtures"]
# backup_data writes timestamps to the microsecond (recommendations/exact_json.py).
SERIALIZATION_MODULES = {"exact-json": "recommendations.exact_json"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # WeasyPrint's font subsetting logs every PDF at INFO.
    "loggers": {
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # lockouts are still logged (WARNING)
    },
}
