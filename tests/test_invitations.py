"""Invitations (recommendations/invitations.py): a coordinator invites, the person sets their own
password from the mailed link and is in; resend, revoke, expiry, once only, all in the history."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from recommendations.models import Invitation, Membership

ADD = "/admin/recommendations/invitation/"
PASSWORD = "A-chosen-password-2026"


@pytest.fixture
def coordinator_client(client, people):
    client.force_login(people["coordinator"])
    return client


def invite(client, people, email="kari@example.org", language="en-gb", role="REVIEWER"):
    organization = people["ngo"].membership.organization
    return client.post(
        f"{ADD}add/",
        {"email": email, "organization": organization.pk, "role": role, "language": language},
    )


def link_path(message) -> str:
    found = re.search(r"https?://[^/\s]+(/accounts/invitation/\S+/)", message.body)
    assert found, message.body
    return found[1]


def accept(client, path, username="kari", **changes):
    data = {"username": username, "first_name": "Kari", "last_name": "Nordmann"}
    data |= {"password1": PASSWORD, "password2": PASSWORD, **changes}
    return client.post(path, data)


def test_invite_then_set_a_password_then_log_in(coordinator_client, people):
    response = invite(coordinator_client, people)
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.state, invitation.invited_by) == ("PENDING", people["coordinator"])
    (message,) = mail.outbox
    assert message.to == ["kari@example.org"]
    assert "as Reviewer" in message.body and "Nettverk mot menneskehandel" in message.body

    invitee = Client()
    path = link_path(message)
    page = invitee.get(path).content.decode()
    assert "kari@example.org" in page and "Choose a username and your own password" in page
    response = accept(invitee, path)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="kari")
    assert (user.email, user.first_name, user.is_staff) == ("kari@example.org", "Kari", False)
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role) == (invitation.organization, "REVIEWER")
    assert invitee.get("/reports/norway-2024/").status_code == 200  # logged in
    invitation.refresh_from_db()
    assert (invitation.state, invitation.accepted_by) == ("ACCEPTED", user)
    # Once only; and the person logs in with their own password later.
    assert Client().get(path).status_code == 410
    fresh = Client()
    login = fresh.post("/accounts/login/", {"username": "kari", "password": PASSWORD})
    assert login.status_code == 302
    assert invitation.history.count() >= 3  # created, sent, accepted


def test_resend_makes_only_the_newest_link_work_and_revoke_stops_it(coordinator_client, people):
    invite(coordinator_client, people)
    invitation = Invitation.objects.get()
    first = link_path(mail.outbox[0])
    coordinator_client.post(ADD, {"action": "resend", "_selected_action": [invitation.pk]})
    second = link_path(mail.outbox[1])
    assert first != second
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200
    coordinator_client.post(ADD, {"action": "revoke", "_selected_action": [invitation.pk]})
    assert Client().get(second).status_code == 410
    invitation.refresh_from_db()
    assert invitation.state == "REVOKED"
    changes = list(invitation.history.values_list("history_user__username", flat=True))
    assert changes.count("coordinator") >= 3  # added, resent, revoked: by whom, in the history


def test_an_expired_invitation_no_longer_works_until_it_is_sent_again(coordinator_client, people):
    invite(coordinator_client, people)
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert Client().get(link_path(mail.outbox[0])).status_code == 410
    coordinator_client.post(ADD, {"action": "resend", "_selected_action": [invitation.pk]})
    assert Client().get(link_path(mail.outbox[1])).status_code == 200


def test_the_password_rules_and_a_taken_username_are_explained(coordinator_client, people):
    invite(coordinator_client, people)
    path = link_path(mail.outbox[0])
    invitee = Client()
    short = accept(invitee, path, password1="short", password2="short")
    assert short.status_code == 422 and "at least 12 characters" in short.content.decode()
    taken = accept(invitee, path, username="NGO")
    assert taken.status_code == 422 and "That username is taken" in taken.content.decode()
    differ = accept(invitee, path, password2=PASSWORD + "x")
    assert "The two passwords differ." in differ.content.decode()
    assert not get_user_model().objects.filter(email="kari@example.org").exists()
    assert Invitation.objects.get().state == "PENDING"


def test_an_address_with_an_account_or_a_waiting_invitation_is_not_invited_again(
    coordinator_client, people
):
    people["ngo"].email = "nina@example.org"
    people["ngo"].save()
    refused = invite(coordinator_client, people, email="NINA@example.org")
    assert "An account already has this address" in refused.content.decode()
    invite(coordinator_client, people)
    again = invite(coordinator_client, people)
    assert "This address has an invitation waiting" in again.content.decode()
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


def test_the_mail_is_in_the_language_chosen_for_it(coordinator_client, people):
    invite(coordinator_client, people, language="nb")
    (message,) = mail.outbox
    assert message.subject == "En invitasjon til oppfølgingen av TIP-anbefalingene"
    assert "som Vurderer" in message.body


def test_a_forged_or_altered_link_is_refused(client, people):
    assert client.get("/accounts/invitation/not-a-token/").status_code == 410
    assert (
        "This invitation no longer works" in client.get("/accounts/invitation/x/").content.decode()
    )


def test_reviewers_cannot_invite(client, people):
    client.force_login(people["ngo"])
    assert client.get(f"{ADD}add/").status_code == 302  # the admin sends non-staff to log in
    assert not Invitation.objects.exists()


def test_nobody_sets_another_persons_password_in_admin(client, people, superuser):
    client.force_login(superuser)
    refused = client.get(f"/admin/auth/user/{people['ngo'].pk}/password/")
    assert refused.status_code == 403
    assert "Nobody sets another person" in refused.content.decode()
    own = client.get(f"/admin/auth/user/{superuser.pk}/password/")
    assert own.status_code == 200
    # A new account in admin has no password; its owner chooses one.
    client.force_login(people["coordinator"])
    form = client.get("/admin/auth/user/add/").content.decode()
    assert 'name="password1"' not in form and 'name="usable_password"' not in form
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "kari",
            "email": "kari@example.org",
            "first_name": "Kari",
            "last_name": "",
            "membership-TOTAL_FORMS": "0",
            "membership-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    kari = get_user_model().objects.get(username="kari")
    assert not kari.has_usable_password()
    # Its owner chooses one with "Forgotten password".
    Client().post("/accounts/password_reset/", {"email": "kari@example.org"})
    assert [message.to for message in mail.outbox] == [["kari@example.org"]]


def test_an_invitation_is_refused_when_the_address_has_an_account_by_then(
    coordinator_client, people
):
    invite(coordinator_client, people)
    path = link_path(mail.outbox[0])
    get_user_model().objects.create_user("elsewhere", email="KARI@example.org")
    assert accept(Client(), path).status_code == 410
    assert not get_user_model().objects.filter(username="kari").exists()
