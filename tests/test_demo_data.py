"""The load_demo_data command (development only)."""

import re
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from recommendations.models import (
    Assessment,
    Comment,
    Lineage,
    Membership,
    Organization,
    Report,
)

from .conftest import ROOT


@override_settings(DEBUG=True)
def test_demo_data_creates_organizations_users_and_history(norway, capsys):
    call_command("load_demo_data")
    out = capsys.readouterr().out
    assert "ngo.reviewer" in out and "demo-tracker-2024" in out
    kinds = sorted(Organization.objects.values_list("kind", flat=True))
    assert kinds.count("NGO") == 3 and kinds.count("GOVERNMENT") == 2
    # Beside Norway, the fictional Veldoria over three years, its lineage proposed.
    veldoria = Report.objects.filter(country="Veldoria").order_by("year")
    assert [r.year for r in veldoria] == [2023, 2024, 2025]
    assert Lineage.objects.filter(recommendation__report=veldoria.last()).exists()
    assert Organization.objects.get(country="Veldoria").memberships.count() == 1
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


@override_settings(DEBUG=True)
def test_demo_data_has_two_reviewers_in_one_organization(norway, capsys):
    call_command("load_demo_data")
    reviewers = Membership.objects.filter(role="REVIEWER")
    per_organization = Counter(reviewers.values_list("organization__short_name", flat=True))
    assert per_organization["Demo ATN"] == 2
    # the organization's assessments are still its first reviewer's
    authors = Assessment.objects.filter(organization__short_name="Demo ATN")
    assert set(authors.values_list("author__username", flat=True)) == {"ngo.reviewer"}


@override_settings(DEBUG=True)
def test_the_readme_lists_the_demo_logins_the_command_prints(norway, capsys):
    call_command("load_demo_data")
    printed = re.findall(r"^  (\S+) +password \S+  — ([^,]+), (.+)$", capsys.readouterr().out, re.M)
    readme = (ROOT / "README.md").read_text()
    readme = readme.split("| user | name | role |", 1)[1].split("\n\n", 1)[0]
    table = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|$", readme, re.M)
    in_words = [
        (user, name.strip(), re.sub(r"[*`]", "", role).strip().lower())
        for user, name, role in table
    ]
    assert in_words == [(user, name, role.lower()) for user, name, role in printed]
