"""The settings read from the environment, checked in a fresh interpreter."""

import os
import subprocess
import sys

from .conftest import ROOT


def settings_probe(
    show: str = "settings.DEBUG, settings.DATABASES['default']['ENGINE']", **env: str
) -> subprocess.CompletedProcess:
    """Print `show` from the settings of a fresh interpreter with only `env` set."""
    ours = ("DJANGO_", "DATABASE_", "REDIS_", "PAGE_CACHE", "OIDC_", "LOCAL_PASSWORDS")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='tracker.settings'; "
        f"from django.conf import settings; print({show})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_ENV_FILE": "", **env},  # not the checkout's .env, unless given
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_default_to_sqlite_and_debug_off():
    result = settings_probe(DJANGO_SECRET_KEY="x" * 50)
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_settings_need_a_secret_key_outside_development():
    result = settings_probe()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    assert settings_probe(DJANGO_DEBUG="1").returncode == 0


def test_database_url_selects_postgresql():
    result = settings_probe(
        DJANGO_SECRET_KEY="x" * 50, DATABASE_URL="postgres://postgres@127.0.0.1:5432/tracker"
    )
    assert result.stdout.split() == ["False", "django.db.backends.postgresql"]


def test_bad_debug_value_is_named():
    result = settings_probe(DJANGO_DEBUG="maybe")
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_production_hashes_passwords_with_pbkdf2_while_tests_use_a_fast_hasher():
    from django.conf import settings

    result = settings_probe("settings.PASSWORD_HASHERS[0]", DJANGO_SECRET_KEY="x" * 50)
    assert result.stdout.strip() == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_page_cache_is_in_local_memory_unless_redis_url_is_set():
    show = "settings.CACHES['default']['BACKEND'], settings.PAGE_CACHE"
    local = settings_probe(show, DJANGO_SECRET_KEY="x" * 50)
    assert local.stdout.split() == ["django.core.cache.backends.locmem.LocMemCache", "True"]
    shared = settings_probe(
        "settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION']",
        DJANGO_SECRET_KEY="x" * 50,
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert shared.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/3",
    ]
    off = settings_probe("settings.PAGE_CACHE", DJANGO_SECRET_KEY="x" * 50, PAGE_CACHE="0")
    assert off.stdout.strip() == "False"
    bad = settings_probe(DJANGO_SECRET_KEY="x" * 50, PAGE_CACHE="sometimes")
    assert "PAGE_CACHE must be a boolean" in bad.stderr


def test_an_env_file_sets_what_the_environment_does_not(tmp_path):
    env_file = tmp_path / "tracker.env"
    env_file.write_text(
        "# development\n\nDJANGO_DEBUG=1\nDATABASE_URL = postgres://postgres@127.0.0.1/tracker\n",
        encoding="utf-8",
    )
    result = settings_probe(DJANGO_ENV_FILE=str(env_file))
    assert result.stdout.split() == ["True", "django.db.backends.postgresql"], result.stderr
    # The environment wins over the file.
    result = settings_probe(DJANGO_ENV_FILE=str(env_file), DJANGO_DEBUG="0")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_line_of_an_env_file_that_is_not_name_value_is_named(tmp_path):
    env_file = tmp_path / "tracker.env"
    env_file.write_text("DJANGO_DEBUG=1\nexport DJANGO_DEBUG\n", encoding="utf-8")
    result = settings_probe(DJANGO_ENV_FILE=str(env_file))
    assert result.returncode != 0
    assert "tracker.env, line 2: not NAME=value: 'export DJANGO_DEBUG'" in result.stderr


def test_the_readme_commands_run_as_written_in_a_checkout_make_run_set_up(tmp_path):
    """`make run` writes .env (DJANGO_DEBUG=1); then `.venv/bin/python manage.py …` needs
    nothing else (here with that file named, and a database of its own)."""
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=1\n", encoding="utf-8")
    ours = ("DJANGO_", "DATABASE_", "REDIS_", "PAGE_CACHE", "OIDC_", "LOCAL_PASSWORDS")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    for command in (
        ["migrate", "-v", "0"],
        ["send_digests", "--dry-run"],
        ["backup_data", str(tmp_path / "backup.json")],
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env={**clean, "DJANGO_ENV_FILE": str(env_file), "DATABASE_URL": database},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr[-2000:])
    assert (tmp_path / "backup.json").stat().st_size > 0


def test_single_sign_on_needs_its_endpoints_and_passwords_off_needs_single_sign_on():
    half = settings_probe(DJANGO_DEBUG="1", OIDC_ISSUER="https://idp.example.org")
    assert half.returncode != 0
    assert "OIDC_ISSUER is set, so these must be too: OIDC_CLIENT_ID" in half.stderr
    alone = settings_probe(DJANGO_DEBUG="1", LOCAL_PASSWORDS="0")
    assert "LOCAL_PASSWORDS=0 needs single sign-on" in alone.stderr
    endpoints = {
        f"OIDC_{name}": f"https://idp.example.org/{name.lower()}"
        for name in ("AUTHORIZATION_ENDPOINT", "TOKEN_ENDPOINT", "USERINFO_ENDPOINT")
    }
    whole = settings_probe(
        "settings.AUTHENTICATION_BACKENDS, settings.SECURE_CSP['form-action']",
        DJANGO_DEBUG="1",
        OIDC_ISSUER="https://idp.example.org",
        OIDC_CLIENT_ID="tracker",
        OIDC_CLIENT_SECRET="s",
        OIDC_JWKS_ENDPOINT="https://idp.example.org/jwks",
        OIDC_END_SESSION_ENDPOINT="https://idp.example.org/logout",
        LOCAL_PASSWORDS="0",
        **endpoints,
    )
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.strip() == (
        "['axes.backends.AxesStandaloneBackend', 'recommendations.single_sign_on.Backend'] "
        "[<CSP.SELF: \"'self'\">, 'https://idp.example.org']"
    )
