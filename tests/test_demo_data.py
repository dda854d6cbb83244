"""The load_demo_data command (development only)."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from recommendations.models import Assessment, Comment, Membership, Organization


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
