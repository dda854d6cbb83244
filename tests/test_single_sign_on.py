"""Single sign-on through OpenID Connect (recommendations/single_sign_on.py), against a real
provider the tests start on loopback (tests/sign_on.py: django-oauth-toolkit, PKCE required).

The person's browser at the provider is a `requests` session; at the tracker, the test client.
Every refusal leaves the person signed out, on the log-in page, told why."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core import mail
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from recommendations import invitations, single_sign_on
from recommendations.models import Invitation, Membership

from .conftest import make_user
from .sign_on import CALLBACK, SECRET

pytestmark = pytest.mark.django_db


def begin(client, next_page: str = "/") -> str:
    """The person presses "Sign in with …": where the tracker sends them (the provider)."""
    response = client.get(f"/accounts/sign-on/?{urlencode({'next': next_page})}")
    assert response.status_code == 302
    return response["Location"]


def come_back(client, callback_url: str):
    """The provider sends the person back to the tracker's callback."""
    assert callback_url.startswith(CALLBACK), callback_url
    return client.get(callback_url.removeprefix("http://testserver"))


def sign_on(client, provider, username: str, next_page: str = "/"):
    callback_url, _ = provider.sign_in(begin(client, next_page), username)
    return come_back(client, callback_url)


def signed_in_as(client):
    return client.get("/").wsgi_request.user


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def refused(response, why: str, client) -> None:
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert any(
        message.startswith("Single sign-on refused") and why in message
        for message in told(response)
    ), told(response)
    assert not signed_in_as(client).is_authenticated


def invite(people, role: str = Membership.Role.REVIEWER) -> Invitation:
    """A coordinator's invitation of the provider's "invitee" into the NGO, sent."""
    invitation = Invitation.objects.create(
        email="invitee@example.org",
        organization=people["ngo"].membership.organization,
        role=role,
        invited_by=people["coordinator"],
    )
    invitations.send(invitation)
    return invitation


@pytest.fixture
def reviewer(people):
    """An invited reviewer whose address the provider knows (its user "reviewer")."""
    person = people["ngo"]
    person.email = "Reviewer@Example.org"  # addresses match whatever their case
    person.save()
    return person


@pytest.mark.parametrize("basic_auth", [False, True], ids=["secret-in-form", "secret-in-header"])
def test_the_whole_code_flow_with_pkce_state_and_nonce(
    client, provider, reviewer, settings, basic_auth
):
    settings.OIDC_TOKEN_USE_BASIC_AUTH = basic_auth
    to_provider = begin(client, "/reports/norway-2024/")
    sent = parse_qs(urlsplit(to_provider).query)
    assert to_provider.startswith(provider.discovery["authorization_endpoint"])
    assert sent["response_type"] == ["code"] and sent["client_id"] == ["tracker"]
    assert sent["redirect_uri"] == [CALLBACK]
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
    pending = client.session["oidc_states"][sent["state"][0]]
    assert pending["nonce"] == sent["nonce"][0] and len(pending["code_verifier"]) == 64

    callback_url, _ = provider.sign_in(to_provider, "reviewer")
    assert parse_qs(urlsplit(callback_url).query)["state"] == sent["state"]
    response = come_back(client, callback_url)

    assert response.status_code == 302 and response["Location"] == "/reports/norway-2024/"
    assert signed_in_as(client) == reviewer
    assert client.session["_auth_user_backend"] == single_sign_on.BACKEND
    assert sent["state"][0] not in client.session["oidc_states"]  # used once
    # The same answer again in the same session (a replay) finds no sign-in waiting for it.
    begin(client)  # another sign-in waits, so the session has states
    replay = come_back(client, callback_url)
    assert replay["Location"] == "/accounts/login/"
    assert any("belonged to no sign-in started here" in m for m in told(replay))


def test_the_code_is_worth_nothing_without_the_sessions_pkce_verifier(
    client, provider, reviewer, caplog
):
    to_provider = begin(client)
    state = parse_qs(urlsplit(to_provider).query)["state"][0]
    session = client.session
    session["oidc_states"][state]["code_verifier"] = "x" * 64  # not the one challenged
    session.save()
    callback_url, _ = provider.sign_in(to_provider, "reviewer")
    refused(come_back(client, callback_url), "did not answer as expected", client)
    assert "invalid_grant" in caplog.text  # the provider refused the code, not a fault


def test_an_answer_with_a_state_this_browser_never_sent_is_refused(client, provider, reviewer):
    # Someone else's sign-in, handed to this browser (login CSRF): its state is not ours.
    other = client.__class__()
    callback_url, _ = provider.sign_in(begin(other), "reviewer")
    begin(client)  # this browser has a sign-in of its own waiting
    refused(come_back(client, callback_url), "belonged to no sign-in started here", client)
    # And a browser with no sign-in waiting at all.
    refused(come_back(client.__class__(), callback_url), "no sign-in started here", client)


def test_an_id_token_with_another_sign_ins_nonce_is_refused(client, provider, reviewer):
    first = begin(client)
    second = begin(client)  # two sign-ins waiting in one session, each with its own nonce
    callback_url, _ = provider.sign_in(first, "reviewer")
    code = parse_qs(urlsplit(callback_url).query)["code"][0]
    second_state = parse_qs(urlsplit(second).query)["state"][0]
    # The first sign-in's code (its token carries the first nonce) under the second's state;
    # the second's PKCE verifier must match too, so give the first's challenge its verifier.
    session = client.session
    first_state = parse_qs(urlsplit(first).query)["state"][0]
    session["oidc_states"][second_state]["code_verifier"] = session["oidc_states"][first_state][
        "code_verifier"
    ]
    session.save()
    swapped = f"{CALLBACK}?{urlencode({'code': code, 'state': second_state})}"
    refused(come_back(client, swapped), "belonged to another sign-in", client)


def test_an_id_token_for_another_audience_is_refused(client, provider, reviewer, monkeypatch):
    """A real token from the provider, for this very sign-in (our nonce), but issued to
    another service: the library alone accepts it; the tracker does not."""
    to_provider = begin(client)
    state = parse_qs(urlsplit(to_provider).query)["state"][0]
    verifier = client.session["oidc_states"][state]["code_verifier"]
    for_other = to_provider.replace("client_id=tracker", "client_id=other-service")
    callback_url, _ = provider.sign_in(for_other, "reviewer")
    code = parse_qs(urlsplit(callback_url).query)["code"][0]
    answer = requests.post(
        provider.discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": "other-service",
            "client_secret": SECRET,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    answer.raise_for_status()
    tokens = answer.json()
    backend = single_sign_on.Backend()
    key = backend.retrieve_matching_jwk(tokens["id_token"])
    assert OIDCAuthenticationBackend._verify_jws(backend, tokens["id_token"], key)["aud"] == (
        "other-service"
    )

    monkeypatch.setattr(single_sign_on.Backend, "get_token", lambda self, payload: tokens)
    refused(come_back(client, callback_url), "meant for another service", client)


def test_a_code_issued_to_another_service_is_refused(client, provider, reviewer, caplog):
    to_provider = begin(client).replace("client_id=tracker", "client_id=other-service")
    callback_url, _ = provider.sign_in(to_provider, "reviewer")
    refused(come_back(client, callback_url), "did not answer as expected", client)
    assert "invalid_grant" in caplog.text


def test_an_uninvited_address_is_refused_and_no_account_is_made(client, provider, people):
    accounts = get_user_model().objects.count()
    response = sign_on(client, provider, "stranger")
    refused(response, "No account or invitation has the address stranger@example.org", client)
    assert get_user_model().objects.count() == accounts


def test_an_address_the_provider_did_not_verify_is_refused(client, provider, reviewer):
    # The provider's "unverified" person claims the reviewer's address, unverified.
    response = sign_on(client, provider, "unverified")
    refused(response, "has not verified the address reviewer@example.org", client)


def test_a_switched_off_account_is_refused(client, provider, reviewer):
    reviewer.is_active = False
    reviewer.save()
    refused(sign_on(client, provider, "reviewer"), "is switched off", client)


def test_two_accounts_with_the_address_are_refused(client, provider, reviewer):
    make_user("twin", email="reviewer@example.org")
    refused(sign_on(client, provider, "reviewer"), "More than one account", client)


def test_the_provider_saying_no_is_shown(client, provider):
    to_provider = begin(client)
    state = parse_qs(urlsplit(to_provider).query)["state"][0]
    answer = f"{CALLBACK}?{urlencode({'error': 'access_denied', 'state': state})}"
    refused(come_back(client, answer), "did not sign you in (access_denied)", client)
    assert state not in client.session["oidc_states"]


def test_an_error_answer_nobody_asked_for_logs_nobody_out_and_shows_no_words(
    client, provider, people
):
    client.force_login(people["ngo"])
    link = f"{CALLBACK}?{urlencode({'error': 'Call 555-0100 now', 'state': 'made-up'})}"
    response = come_back(client, link)
    assert signed_in_as(client) == people["ngo"]
    assert "555" not in " ".join(told(response))


def test_a_waiting_invitation_is_accepted_by_signing_in(client, provider, people):
    invitation = invite(people, role=Membership.Role.OBSERVER)
    mail.outbox.clear()

    response = sign_on(client, provider, "invitee")

    assert response.status_code == 302
    person = signed_in_as(client)
    assert (person.username, person.email) == ("invitee@example.org", "invitee@example.org")
    assert (person.first_name, person.last_name) == ("Ingrid", "Invitee")
    assert not person.has_usable_password()
    membership = person.membership
    assert (membership.organization, membership.role) == (
        invitation.organization,
        Membership.Role.OBSERVER,
    )
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.ACCEPTED and invitation.accepted_by == person
    assert invitation.history.first().history_type == "~"
    # The next time, the same account.
    client.logout()
    sign_on(client, provider, "invitee")
    assert signed_in_as(client) == person
    assert get_user_model().objects.filter(email__iexact="invitee@example.org").count() == 1


def test_a_revoked_invitation_opens_nothing(client, provider, people):
    invitation = invite(people)
    invitations.revoke(invitation)
    refused(sign_on(client, provider, "invitee"), "No account or invitation", client)


def test_log_out_ends_the_session_here_and_at_the_provider(client, provider, reviewer):
    callback_url, browser = provider.sign_in(begin(client), "reviewer")
    come_back(client, callback_url)
    id_token = client.session["oidc_id_token"]

    response = client.post("/accounts/logout/")

    assert not signed_in_as(client).is_authenticated
    to_provider = urlsplit(response["Location"])
    assert response["Location"].startswith(provider.discovery["end_session_endpoint"])
    assert parse_qs(to_provider.query) == {
        "id_token_hint": [id_token],
        "client_id": ["tracker"],
        "post_logout_redirect_uri": ["http://testserver/accounts/login/"],
    }
    # The provider ends its own session and sends the person back to the log-in page.
    at_provider = browser.get(response["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    assert at_provider.headers["Location"] == "http://testserver/accounts/login/"
    # Signing in again asks for the provider's password again.
    again = browser.get(begin(client), allow_redirects=False, timeout=10)
    assert "/accounts/login/" in again.headers["Location"]


def test_a_password_log_out_stays_here(client, people):
    client.force_login(people["ngo"])
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert not signed_in_as(client).is_authenticated


def test_staff_still_give_the_trackers_second_factor(client, provider, people):
    coordinator = people["coordinator"]
    coordinator.email = "coordinator@example.org"
    coordinator.save()
    sign_on(client, provider, "coordinator")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")


def test_the_log_in_page_offers_single_sign_on_beside_passwords(client, provider):
    page = client.get("/accounts/login/?next=/reports/").content.decode()
    assert 'href="/accounts/sign-on/?next=/reports/"' in page
    assert "Sign in with Test provider" in page
    assert 'name="password"' in page


def test_without_single_sign_on_there_is_no_button_and_no_sign_on_page(client, db):
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/sign-on/").status_code == 404
    assert client.get(CALLBACK.removeprefix("http://testserver")).status_code == 404


# --- LOCAL_PASSWORDS=0 -----------------------------------------------------------------------


def test_with_passwords_off_no_password_opens_an_account(client, passwords_off, reviewer):
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page and "Sign in with Test provider" in page
    response = client.post(
        "/accounts/login/", {"username": "ngo", "password": "a-long-test-password"}
    )
    assert "Passwords are switched off here: sign in with Test provider." in (
        response.content.decode()
    )
    assert not signed_in_as(client).is_authenticated
    # Not through the admin's log-in either: it sends people to the tracker's.
    admin = client.post("/admin/login/", {"username": "ngo", "password": "a-long-test-password"})
    assert admin.status_code == 302 and admin["Location"].startswith("/accounts/login/")
    # Single sign-on still works.
    sign_on(client, passwords_off, "reviewer")
    assert signed_in_as(client) == reviewer


def test_with_passwords_off_the_password_pages_say_so(client, passwords_off, people):
    for url in [
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Passwords are switched off" in response.content.decode()
    assert client.post("/accounts/password_reset/", {"email": "x@example.org"}).status_code == 404
    assert not mail.outbox
    client.force_login(people["ngo"])
    page = client.get("/accounts/password_change/")
    assert page.status_code == 200
    assert 'name="old_password"' not in page.content.decode()
    assert "Log out everywhere" in page.content.decode()
    change = client.post(
        "/accounts/password_change/",
        {
            "old_password": "a-long-test-password",
            "new_password1": "x" * 20,
            "new_password2": "x" * 20,
        },
    )
    assert change.status_code == 404


def test_with_passwords_off_an_invitation_is_accepted_only_by_signing_in(
    client, passwords_off, people
):
    invitation = invite(people)
    url = invitations.link(invitation).split("testserver")[-1]
    url = urlsplit(url).path
    page = client.get(url).content.decode()
    assert 'href="/accounts/sign-on/"' in page and 'name="password1"' not in page
    answer = client.post(
        url, {"username": "i", "first_name": "I", "password1": "x" * 20, "password2": "x" * 20}
    )
    assert answer.status_code == 404
    assert not get_user_model().objects.filter(email="invitee@example.org").exists()


def test_an_id_token_from_another_issuer_is_refused(client, provider, reviewer, settings):
    settings.OIDC_ISSUER = provider.issuer + "/elsewhere"  # whom the tracker trusts
    refused(sign_on(client, provider, "reviewer"), "came from another issuer", client)


def test_an_invitees_username_is_their_address_or_numbered_when_taken(client, provider, people):
    make_user("invitee@example.org")  # someone chose the address as a username
    invite(people)
    # That account has no address, so the invitation is what the sign-in finds.
    sign_on(client, provider, "invitee")
    assert signed_in_as(client).username == "invitee@example.org-2"


def test_the_refusal_is_in_the_persons_language(client, provider, people):
    client.cookies["django_language"] = "nb"
    response = sign_on(client, provider, "stranger")
    assert told(response) == [
        "Felles innlogging avvist: Ingen konto eller invitasjon har adressen "
        "stranger@example.org. Be en koordinator om en invitasjon."
    ]
    page = client.get("/accounts/login/").content.decode()
    assert "Logg inn med Test provider" in page and "Eller med passord" in page


def test_the_invitation_mail_offers_single_sign_on(provider, people, settings):
    invitation = invite(people)
    assert "sign in with Test provider, or to choose a username and password:" in (
        mail.outbox[-1].body
    )
    settings.LOCAL_PASSWORDS = False
    invitations.send(invitation)
    assert "Open this link to sign in with Test provider:\n" in mail.outbox[-1].body
    assert "password" not in mail.outbox[-1].body


def test_refused_sign_ins_lock_nobody_out(client, provider, reviewer):
    """Many uninvited people behind one office address: their refusals are no password
    guesses, and the invited colleague still signs in."""
    from axes.models import AccessAttempt

    for _ in range(7):
        refused(sign_on(client, provider, "stranger"), "No account or invitation", client)
    assert not AccessAttempt.objects.exists()
    sign_on(client, provider, "reviewer")
    assert signed_in_as(client) == reviewer
    # Password failures are still counted.
    client.logout()
    client.post("/accounts/login/", {"username": "ngo", "password": "wrong"})
    assert AccessAttempt.objects.get().username == "ngo"


def test_switching_an_account_off_ends_its_single_sign_on_session(client, provider, reviewer):
    sign_on(client, provider, "reviewer")
    assert signed_in_as(client) == reviewer
    reviewer.is_active = False
    reviewer.save()
    assert not signed_in_as(client).is_authenticated
    assert client.post("/reports/norway-2024/recommendations/1/assess/", {}).status_code == 302


@pytest.mark.parametrize(
    "tokens",
    [
        {"id_token": "not-a-token", "access_token": "x"},
        {"id_token": ["a", "list"], "access_token": "x"},
        ["a", "list"],
        {"access_token": "x"},
    ],
    ids=["not-a-jwt", "not-a-string", "not-an-object", "no-id-token"],
)
def test_a_token_answer_of_the_wrong_shape_is_a_message_not_an_error(
    client, provider, reviewer, monkeypatch, tokens
):
    monkeypatch.setattr(single_sign_on.Backend, "get_token", lambda self, payload: tokens)
    response = sign_on(client, provider, "reviewer")
    assert response.status_code == 302
    assert any(m.startswith("Single sign-on refused") for m in told(response)), told(response)
    assert not signed_in_as(client).is_authenticated


@pytest.mark.parametrize(
    ("userinfo", "why"),
    [
        (["a", "list"], "did not answer as expected"),
        ({"sub": "someone else", "email": "reviewer@example.org"}, "described another person"),
    ],
    ids=["not-an-object", "another-sub"],
)
def test_a_userinfo_answer_that_does_not_fit_is_refused(
    client, provider, reviewer, monkeypatch, userinfo, why
):
    monkeypatch.setattr(
        single_sign_on.Backend, "get_userinfo", lambda self, access, id_token, payload: userinfo
    )
    refused(sign_on(client, provider, "reviewer"), why, client)


def test_the_address_and_its_verification_come_from_one_answer(
    client, provider, reviewer, people, monkeypatch
):
    """The ID token verifies reviewer@…; a userinfo answer naming another address (with no
    flag of its own) must not borrow that verification."""
    coordinator = people["coordinator"]
    coordinator.email = "boss@example.org"
    coordinator.save()
    original = single_sign_on.Backend.get_userinfo

    def other_address(self, access, id_token, payload):
        claims = original(self, access, id_token, payload)
        return {"sub": claims["sub"], "email": "boss@example.org"}

    monkeypatch.setattr(single_sign_on.Backend, "get_userinfo", other_address)
    refused(sign_on(client, provider, "reviewer"), "two different e-mail addresses", client)


def test_a_refused_sign_in_leaves_no_token_in_the_session(client, provider, people):
    refused(sign_on(client, provider, "stranger"), "No account or invitation", client)
    assert "oidc_id_token" not in client.session


def test_a_providers_names_are_kept_on_one_line_or_not_at_all(
    client, provider, people, monkeypatch
):
    invite(people)
    original = single_sign_on.Backend.get_userinfo

    def header_injection(self, access, id_token, payload):
        claims = original(self, access, id_token, payload)
        return {**claims, "given_name": "Ingrid\rBcc: x@y", "family_name": "In\x00vitee"}

    monkeypatch.setattr(single_sign_on.Backend, "get_userinfo", header_injection)
    sign_on(client, provider, "invitee")
    person = signed_in_as(client)
    assert (person.first_name, person.last_name) == ("Ingrid Bcc: x@y", "")


def test_a_look_alike_address_opens_nobody(client, provider, reviewer, monkeypatch):
    """A "ſ" (long s) casefolds, and on PostgreSQL upper-cases, to "s": no match for it."""
    reviewer.email = "samuel@example.org"
    reviewer.save()
    original = single_sign_on.Backend.get_or_create_user

    def long_s(self, access, id_token, payload):
        self.get_userinfo = lambda *args: {"sub": payload["sub"], "email": "ſamuel@example.org"}
        return original(self, access, id_token, {**payload, "email": "ſamuel@example.org"})

    monkeypatch.setattr(single_sign_on.Backend, "get_or_create_user", long_s)
    refused(sign_on(client, provider, "reviewer"), "No account or invitation", client)


def test_with_passwords_off_the_admins_password_pages_say_so(client, passwords_off, superuser):
    client.force_login(superuser)
    assert client.get("/admin/password_change/").status_code == 404
    page = client.get(f"/admin/auth/user/{superuser.pk}/password/")
    assert page.status_code == 404 and "Passwords are switched off" in page.content.decode()


def test_no_second_account_takes_an_address_in_admin(client, people, superuser):
    """An address finds an account (single sign-on, password reset): a coordinator cannot
    give a superuser's address to an account of their own making."""
    client.force_login(people["coordinator"])
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "decoy", "email": "ROOT@example.org", "first_name": "D", "last_name": ""},
    )
    assert "Another account has this e-mail address." in response.content.decode()
    assert not get_user_model().objects.filter(username="decoy").exists()
