import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from recommendations.models import Assessment, Comment, Membership, Organization

from .conftest import ROOT


@override_settings(DEBUG=True)
def test_demo_data_creates_organizations_users_and_history(norway, capsys):
    call_command("load_demo_data")
    out = capsys.readouterr().out
    assert "ngo.reviewer" in out and "demo-tracker-2024" in out
    kinds = sorted(Organization.objects.values_list("kind", flat=True))
    assert kinds.count("NGO") == 2 and kinds.count("GOVERNMENT") == 1
    assert Membership.objects.filter(role="OBSERVER").count() == 1
    assert Assessment.objects.count() >= 5
    assert Comment.objects.count() >= 2
    call_command("load_demo_data")  # a second run adds nothing
    assert Organization.objects.count() == len(kinds)


@override_settings(DEBUG=False)
def test_demo_data_refuses_without_debug(norway):
    with pytest.raises(CommandError, match="development only"):
        call_command("load_demo_data")
    assert not Organization.objects.exists()


def settings_probe(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='tracker.settings'; "
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
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
