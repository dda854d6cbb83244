"""A forgotten password reset by e-mail (Django's views): the same answer whether or not the
address exists, throttled as log-ins are, a link that expires and works once, the mail in the
recipient's language, and every other session ended by the new password. Sessions that end by
themselves (idle, too old) and "log out everywhere" (recommendations/accounts.py)."""

import re
import time

import pytest
from django.core import mail
from django.test import Client

from recommendations import accounts
from recommendations.models import Preferences

RESET = "/accounts/password_reset/"
NEW = "A-new-password-2026"


@pytest.fixture
def nina(people):
    user = people["ngo"]
    user.email = "nina@example.org"
    user.save()
    return user


def reset_link(message) -> str:
    link = re.search(r"https?://\S+/accounts/reset/\S+/", message.body)
    assert link, message.body
    return link[0]


def test_a_reset_sets_a_new_password_and_the_link_works_once(client, nina, settings):
    settings.TRACKER_BASE_URL = "https://tracker.example.org"
    response = client.post(RESET, {"email": "NINA@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert "It works once, for 60 minutes." in client.get(response["Location"]).content.decode()
    (message,) = mail.outbox
    assert message.to == ["nina@example.org"]
    assert message.subject == "A new password for the TIP recommendation tracker"
    link = reset_link(message)
    assert link.startswith(
        "https://tracker.example.org/accounts/reset/"
    )  # never the request's Host
    assert "Your username is ngo." in message.body

    path = link.removeprefix("https://tracker.example.org")
    form = client.get(path, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert "Your new password is set" in done.content.decode()
    assert (
        Client().post("/accounts/login/", {"username": "ngo", "password": NEW}).status_code == 302
    )
    again = client.get(path, follow=True).content.decode()
    assert "This link no longer works" in again


def test_the_same_answer_whether_or_not_the_address_exists(client, nina):
    known = client.post(RESET, {"email": "nina@example.org"})
    unknown = client.post(RESET, {"email": "nobody@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1  # only the account's address gets a mail


def test_the_link_expires(client, nina, settings, monkeypatch):
    client.post(RESET, {"email": "nina@example.org"})
    path = re.sub(r"^https?://[^/]+", "", reset_link(mail.outbox[0]))
    later = time.time() + settings.PASSWORD_RESET_TIMEOUT + 60
    monkeypatch.setattr(
        "django.contrib.auth.tokens.PasswordResetTokenGenerator._now",
        lambda self: __import__("datetime").datetime.fromtimestamp(later),
    )
    assert "This link no longer works" in client.get(path, follow=True).content.decode()


def test_the_mail_is_in_the_recipients_language(client, nina):
    Preferences.objects.update_or_create(user=nina, defaults={"language": "nb"})
    client.post(RESET, {"email": "nina@example.org"})  # asked in English
    (message,) = mail.outbox
    assert message.subject == "Et nytt passord til oppfølgingen av TIP-anbefalingene"
    assert "Brukernavnet ditt er ngo." in message.body


def test_asking_too_often_is_refused_for_a_while_whoever_the_address_belongs_to(
    client, nina, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for address in ("nina@example.org", "nobody@example.org"):
        answers = [client.post(RESET, {"email": address}).status_code for _ in range(4)]
        assert answers == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    refused = client.post(RESET, {"email": "nina@example.org"})
    assert "Too many requests" in refused.content.decode()


def test_a_new_password_ends_every_other_session(client, nina):
    elsewhere = Client()
    elsewhere.force_login(nina)
    assert elsewhere.get("/reports/norway-2024/").status_code == 200
    client.post(RESET, {"email": "nina@example.org"})
    path = re.sub(r"^https?://[^/]+", "", reset_link(mail.outbox[0]))
    form = client.get(path, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert elsewhere.get("/reports/norway-2024/").status_code == 302  # sent to log in


def test_the_log_in_page_links_to_the_reset(client, db):
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()


# --- sessions that end -------------------------------------------------------------------------


def age_session(client, **seconds_ago: int) -> None:
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[{"started": accounts.STARTED, "seen": accounts.SEEN}[key]] = now - ago
    session.save()


def test_a_session_ends_after_the_idle_time(client, people, settings):
    client.force_login(people["ngo"])
    age_session(client, seen=settings.SESSION_IDLE_MINUTES * 60 - 30)
    assert client.get("/reports/norway-2024/").status_code == 200  # still within it
    age_session(client, seen=settings.SESSION_IDLE_MINUTES * 60 + 30)
    response = client.get("/reports/norway-2024/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert "minutes without use" in response.content.decode()


def test_a_session_ends_hours_after_its_log_in_however_busy(client, people, settings):
    client.force_login(people["ngo"])
    age_session(client, started=settings.SESSION_HOURS * 3600 + 30, seen=5)
    response = client.get("/reports/norway-2024/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert f"{settings.SESSION_HOURS} hours after you logged in" in response.content.decode()


def test_a_request_marks_the_session_in_use_at_most_once_a_minute(client, people):
    client.force_login(people["ngo"])
    age_session(client, seen=30)
    before = client.session[accounts.SEEN]
    client.get("/reports/norway-2024/")
    assert client.session[accounts.SEEN] == before  # not written again within the minute
    age_session(client, seen=90)
    client.get("/reports/norway-2024/")
    assert int(time.time()) - client.session[accounts.SEEN] < 5


def test_log_out_everywhere_ends_every_session_of_the_person_only(client, people):
    phone, colleague = Client(), Client()
    for browser, person in ((client, "ngo"), (phone, "ngo"), (colleague, "ngo_colleague")):
        browser.force_login(people[person])
    page = client.get("/accounts/password_change/").content.decode()
    assert "Log out everywhere" in page and "after 60 minutes without use" in page
    response = client.post("/accounts/logout/everywhere/", follow=True)
    assert "You were logged out everywhere (2 sessions ended)" in response.content.decode()
    assert phone.get("/reports/norway-2024/").status_code == 302
    assert client.get("/reports/norway-2024/").status_code == 302
    assert colleague.get("/reports/norway-2024/").status_code == 200
