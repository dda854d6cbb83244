"""Only a superuser changes privileges, other staff accounts, a staff account's membership and
the side an organization's positions count for — on every save, not only in the admin
(recommendations/rules/privileges.py). The admin routes are rows of the permission matrix
(tests/test_permissions.py)."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from recommendations.models import Membership, Organization
from recommendations.rules.privileges import acting_as

from .conftest import (
    make_assessment,
    make_coordinator,
    make_organization,
    make_user,
    pass_second_factor,
)


@pytest.fixture
def coordinator(people):
    return people["coordinator"]


def test_a_coordinators_save_may_not_raise_anyones_privileges(coordinator, people):
    reviewer = people["ngo"]
    with acting_as(coordinator):
        for account, field in ((coordinator, "is_superuser"), (reviewer, "is_staff")):
            setattr(account, field, True)
            with pytest.raises(PermissionDenied), transaction.atomic():
                account.save()
            account.refresh_from_db()
        with pytest.raises(PermissionDenied), transaction.atomic():
            coordinator.groups.add(Group.objects.create(name="Anything"))
        with pytest.raises(PermissionDenied), transaction.atomic():
            reviewer.user_permissions.add(Permission.objects.get(codename="change_group"))
        with pytest.raises(PermissionDenied), transaction.atomic():
            Group.objects.get(name="Coordinators").user_set.add(reviewer)
        with pytest.raises(PermissionDenied), transaction.atomic():
            Group.objects.get(name="Coordinators").permissions.add(
                Permission.objects.get(codename="delete_user")
            )
        with pytest.raises(PermissionDenied), transaction.atomic():
            make_user("new.staff", is_staff=True)
    assert not coordinator.is_superuser
    assert not reviewer.is_staff
    assert not reviewer.groups.exists()


def test_a_coordinators_save_may_not_touch_another_staff_account(coordinator, superuser):
    peer = make_coordinator("peer")
    with acting_as(coordinator):
        for account in (superuser, peer):
            account.set_password("taken-over-password-1")
            with pytest.raises(PermissionDenied):
                account.save()
            account.refresh_from_db()
            account.is_active = False
            with pytest.raises(PermissionDenied):
                account.save()
            account.refresh_from_db()
            account.email = "taken.over@example.org"
            with pytest.raises(PermissionDenied):
                account.save()
        coordinator.is_active = False
        with pytest.raises(PermissionDenied):
            coordinator.save()
        coordinator.refresh_from_db()
        # Their own password and e-mail, and reviewers' accounts, are theirs to change.
        coordinator.set_password("my-own-new-password-1")
        coordinator.email = "cora@example.org"
        coordinator.save()
        reviewer = make_user("new.reviewer")
        reviewer.is_active = False
        reviewer.save()
    superuser.refresh_from_db()
    assert superuser.is_active and superuser.check_password("a-long-pw-123")


def test_a_coordinators_save_may_not_give_staff_a_voice(coordinator, people):
    organization = people["gov"].membership.organization
    with acting_as(coordinator):
        with pytest.raises(PermissionDenied):
            Membership.objects.create(user=coordinator, organization=organization)
        # Moving a reviewer's membership onto a staff account is the same thing.
        membership = people["ngo"].membership
        membership.user = coordinator
        with pytest.raises(PermissionDenied):
            membership.save()
        Membership.objects.create(user=make_user("newcomer"), organization=organization)
    assert not Membership.objects.filter(user=coordinator).exists()


def test_a_coordinators_save_may_not_move_an_organizations_positions(coordinator, people, norway):
    make_assessment(norway.recommendations.get(number=1), people["ngo"])
    assessed = people["ngo"].membership.organization
    unheard = make_organization("Not yet heard from")
    with acting_as(coordinator):
        for field, value in (("kind", Organization.Kind.GOVERNMENT), ("country", "Sweden")):
            setattr(assessed, field, value)
            with pytest.raises(PermissionDenied):
                assessed.save()
            assessed.refresh_from_db()
        assessed.short_name = "Renamed"
        assessed.save()
        unheard.kind = Organization.Kind.GOVERNMENT
        unheard.save()
    assessed.refresh_from_db()
    assert (assessed.kind, assessed.country) == (Organization.Kind.NGO, "Norway")


def test_a_coordinators_save_may_not_move_an_assessed_report_to_another_country(
    coordinator, superuser, people, norway
):
    with acting_as(coordinator):
        norway.title = "Renamed"
        norway.save()
        make_assessment(norway.recommendations.get(number=1), people["ngo"])
        norway.country = "Sweden"
        with pytest.raises(PermissionDenied):
            norway.save()
    norway.refresh_from_db()
    assert norway.country == "Norway"
    with acting_as(superuser):
        norway.country = "Sweden"
        norway.save()


def test_a_reports_slug_is_read_only_once_a_snapshot_signs_it(superuser_client, norway, people):
    from recommendations.publishing.snapshots import publish_snapshot

    url = reverse("admin:recommendations_report_change", args=[norway.pk])
    assert 'name="slug"' in superuser_client.get(url).content.decode()
    publish_snapshot(norway, published_by=people["coordinator"], title="Signed")
    assert 'name="slug"' not in superuser_client.get(url).content.decode()


def test_a_superuser_and_the_server_itself_may(coordinator, superuser, people):
    for actor in (superuser, None):
        with acting_as(actor):
            coordinator.is_superuser = True
            coordinator.save()
            coordinator.is_superuser = False
            coordinator.save()
            people["ngo"].groups.add(Group.objects.get(name="Coordinators"))
            people["ngo"].groups.clear()
    assert not coordinator.is_superuser


def test_a_coordinator_logs_in_and_changes_their_own_password_on_the_site(client, coordinator):
    """The log-in saves last_login (and may rehash the password) before anyone is signed in."""
    response = client.post(
        reverse("login"), {"username": "coordinator", "password": "a-long-test-password"}
    )
    assert response.status_code == 302
    pass_second_factor(client, coordinator)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "a-long-test-password",
            "new_password1": "another-long-password-7",
            "new_password2": "another-long-password-7",
        },
    )
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.check_password("another-long-password-7")


@pytest.mark.parametrize("login", ["login", "admin:login"])
def test_a_staff_log_in_that_upgrades_the_password_hash_works_over_anothers_session(
    client, coordinator, people, login
):
    """A reviewer signed in on this browser; a coordinator logs in here, and Django saves
    their password under today's hasher: that save is not the reviewer's."""
    with override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ]
    ):
        outdated = PBKDF2PasswordHasher().encode("a-long-test-password", "salt", iterations=1)
        type(coordinator).objects.filter(pk=coordinator.pk).update(password=outdated)
        client.force_login(people["ngo"])
        response = client.post(
            reverse(login), {"username": "coordinator", "password": "a-long-test-password"}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    coordinator.refresh_from_db()
    assert coordinator.password.startswith("md5$")


def test_the_admin_shows_a_coordinator_privileges_read_only(client, coordinator, superuser):
    client.force_login(coordinator)
    own = client.get(reverse("admin:auth_user_change", args=[coordinator.pk])).content.decode()
    for field in ("is_superuser", "is_staff", "groups", "user_permissions", "is_active"):
        assert f'name="{field}"' not in own
    assert 'name="email"' in own
    # The superuser's page is for reading only, and its password form is refused.
    theirs = client.get(reverse("admin:auth_user_change", args=[superuser.pk]))
    assert theirs.status_code == 200
    assert 'name="email"' not in theirs.content.decode()
    password = client.get(reverse("admin:auth_user_password_change", args=[superuser.pk]))
    assert password.status_code == 403


def test_the_membership_user_picker_offers_a_coordinator_no_staff(client, coordinator, superuser):
    url = reverse("admin:autocomplete")
    query = {"app_label": "recommendations", "model_name": "membership", "field_name": "user"}
    client.force_login(coordinator)
    offered = {item["text"] for item in client.get(url, query).json()["results"]}
    assert "ngo" in offered
    assert not offered & {"coordinator", "staff", "root"}
    client.force_login(superuser)
    offered = {item["text"] for item in client.get(url, query).json()["results"]}
    assert {"ngo", "coordinator", "root"} <= offered
