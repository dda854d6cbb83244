"""Email digests and reminders (recommendations/mail.py, `send_digests`): what each user gets,
never the same mail twice, and the unsubscribe link. Django's test runner swaps every mailer
for the in-memory one, so mail lands in `mailoutbox`."""

import email.policy
import re
from datetime import timedelta
from smtplib import SMTPException

import pytest
from django.core.mail.backends import locmem
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from recommendations import mail
from recommendations.mail import Outcome, Topic
from recommendations.models import (
    Following,
    MailKind,
    Organization,
    Preferences,
    Recommendation,
    Report,
    Responsibility,
    ReviewCycle,
    SentMail,
    sha256_hex,
)
from recommendations.rules.writing import add_comment

from .conftest import make_assessment, make_organization, make_user
from .test_settings import settings_probe

BASE = "https://tracker.example.org"


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.TRACKER_BASE_URL = BASE


@pytest.fixture(autouse=True)
def current_cycle(norway) -> ReviewCycle:
    """The review cycle containing today, far from its end whatever the date: no reminder
    before its end unless a test moves it (ending_cycle)."""
    today = timezone.localdate()
    return ReviewCycle.objects.create(
        name="Current", starts_on=today, ends_on=today + timedelta(days=200)
    )


@pytest.fixture
def mailed(people) -> dict:
    """The shared people, each with an email address."""
    for user in people.values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    return people


def run(*args: str) -> None:
    call_command("send_digests", *args, verbosity=0)


def sent_to(outbox, user) -> list:
    return [message for message in outbox if message.to == [user.email]]


def reminders(outbox) -> list:
    return [message for message in outbox if message.subject.startswith("Reminder")]


def html_of(message) -> str:
    (alternative,) = message.alternatives
    assert alternative.mimetype == "text/html"
    return alternative.content


def rec(number: int) -> Recommendation:
    return Recommendation.objects.get(report__slug="norway-2024", number=number)


# --- digests ----------------------------------------------------------------------------------


def test_a_follower_gets_one_digest_with_the_new_items_and_a_rerun_sends_nothing(
    mailed, mailoutbox
):
    ngo, gov = mailed["ngo"], mailed["gov"]
    Following.objects.create(user=ngo, recommendation=rec(3), following=True)
    make_assessment(rec(3), gov, rationale="Police have a new unit.")
    add_comment(rec(3), author=gov, body="Budget approved in March.")
    make_assessment(rec(4), gov, rationale="Not followed by the NGO.")

    run()
    (digest,) = sent_to(mailoutbox, ngo)
    assert digest.subject == "Tracker digest: 1 assessment and 1 comment on 1 recommendation"
    assert "Police have a new unit." in digest.body and "Budget approved in March." in digest.body
    assert "Not followed by the NGO." not in digest.body
    html = html_of(digest)
    assert "Police have a new unit." in html and "Budget approved in March." in html
    link = f"{BASE}/reports/norway-2024/recommendations/3/"
    assert link in digest.body and f'href="{link}"' in html
    record = SentMail.objects.get(user=ngo, kind=MailKind.DIGEST)
    assert record.key == "first" and record.subject == digest.subject

    mailoutbox.clear()
    run()
    assert not mailoutbox
    assert SentMail.objects.filter(user=ngo).count() == 1


def test_the_next_digest_holds_only_what_is_new_since_the_last(mailed, mailoutbox):
    ngo, gov = mailed["ngo"], mailed["gov"]
    Following.objects.create(user=ngo, recommendation=rec(3), following=True)
    make_assessment(rec(3), gov, rationale="Old news.")
    run()
    first = SentMail.objects.get(user=ngo)
    mailoutbox.clear()

    add_comment(rec(3), author=gov, body="Fresh news.")
    run()
    (digest,) = sent_to(mailoutbox, ngo)
    assert "Fresh news." in digest.body and "Old news." not in digest.body
    second = SentMail.objects.exclude(pk=first.pk).get(user=ngo)
    assert second.key == f"since:{first.covers_until.isoformat()}"
    assert second.covers_until > first.covers_until


def test_a_first_digest_reaches_back_a_week_at_most_and_not_before_the_user_joined(
    mailed, mailoutbox
):
    ngo, newcomer, gov = mailed["ngo"], mailed["ngo_colleague"], mailed["gov"]
    now = timezone.now()
    ngo.date_joined = now - timedelta(days=30)
    ngo.save()
    newcomer.date_joined = now - timedelta(days=1)
    newcomer.save()
    for user in (ngo, newcomer):
        Following.objects.create(user=user, recommendation=rec(1), following=True)
    make_assessment(rec(1), gov, rationale="Ten days ago.", created_at=now - timedelta(days=10))
    make_assessment(rec(1), gov, rationale="Three days ago.", created_at=now - timedelta(days=3))
    make_assessment(rec(1), gov, rationale="An hour ago.", created_at=now - timedelta(hours=1))
    run()
    (digest,) = sent_to(mailoutbox, ngo)
    assert "Three days ago." in digest.body and "An hour ago." in digest.body
    assert "Ten days ago." not in digest.body
    (digest,) = sent_to(mailoutbox, newcomer)
    assert "An hour ago." in digest.body and "Three days ago." not in digest.body


def test_the_users_own_items_are_left_out(mailed, mailoutbox):
    ngo, colleague = mailed["ngo"], mailed["ngo_colleague"]
    make_assessment(rec(2), ngo, rationale="Mine.")  # the NGO follows 2 from now on
    run()
    assert not sent_to(mailoutbox, ngo)  # only their own assessment
    (digest,) = sent_to(mailoutbox, colleague)  # a colleague's is news to them
    assert "Mine." in digest.body


def test_the_organizations_recommendations_are_followed_until_unfollowed(mailed, mailoutbox):
    gov, ngo = mailed["gov"], mailed["ngo"]
    Responsibility.objects.create(
        recommendation=rec(5), lead=gov.membership.organization, target_date=None
    )
    add_comment(rec(5), author=ngo, body="Any news on 5?")
    run()
    assert "Any news on 5?" in sent_to(mailoutbox, gov)[0].body  # led by the ministry

    mailoutbox.clear()
    Following.objects.create(user=gov, recommendation=rec(5), following=False)
    add_comment(rec(5), author=ngo, body="Still waiting.")
    run()
    assert not sent_to(mailoutbox, gov)


def test_preferences_off_inactive_or_no_address_get_nothing(mailed, mailoutbox):
    ngo, colleague, other = mailed["ngo"], mailed["ngo_colleague"], mailed["other"]
    for user in (ngo, colleague, other):
        Following.objects.create(user=user, recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"])
    Preferences.objects.create(user=ngo, digest_emails=False)
    colleague.is_active = False
    colleague.save()
    other.email = ""
    other.save()
    run()
    assert not mailoutbox
    assert not SentMail.objects.exists()


def test_a_failed_send_records_nothing_others_still_get_theirs_and_the_next_run_retries(
    mailed, mailoutbox, monkeypatch
):
    ngo, other = mailed["ngo"], mailed["other"]
    for user in (ngo, other):
        Following.objects.create(user=user, recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"], rationale="News for both.")
    original = locmem.EmailBackend.send_messages

    def refuse_the_ngo(self, messages):
        if any(ngo.email in message.to for message in messages):
            raise SMTPException("mailbox unavailable")
        return original(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse_the_ngo)
    with pytest.raises(CommandError, match="failures: 1"):
        run()
    assert not sent_to(mailoutbox, ngo)
    assert len(sent_to(mailoutbox, other)) == 1
    assert not SentMail.objects.filter(user=ngo).exists()
    assert SentMail.objects.filter(user=other).count() == 1

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", original)
    mailoutbox.clear()
    run()
    (digest,) = mailoutbox
    assert digest.to == [ngo.email] and "News for both." in digest.body


def test_a_crash_after_the_record_does_not_resend(mailed, mailoutbox):
    """The record is committed before the mail is sent: a crash in between loses that mail
    (at most once) rather than sending it again."""
    ngo = mailed["ngo"]
    Following.objects.create(user=ngo, recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"], rationale="Lost in the crash.")
    (planned,) = [p for p in mail.plan_digests(timezone.now()) if p.user == ngo]
    SentMail.objects.create(
        user=ngo, kind=planned.kind, key=planned.key, covers_until=planned.covers_until
    )  # the run that recorded this died before sending
    run()
    assert not mailoutbox


def test_concurrent_runs_send_a_mail_once(mailed, mailoutbox):
    """Two runs plan the same digest; the unique (user, kind, key) lets only one send it."""
    ngo = mailed["ngo"]
    Following.objects.create(user=ngo, recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"])
    first = mail.plan_digests(timezone.now())
    second = mail.plan_digests(timezone.now() + timedelta(seconds=1))
    assert [p.key for p in first] == [p.key for p in second] == ["first"]
    assert mail.send(first[0]).outcome is Outcome.SENT
    assert mail.send(second[0]).outcome is Outcome.ALREADY_SENT
    assert len(mailoutbox) == 1


def test_a_dry_run_prints_and_sends_and_records_nothing(mailed, mailoutbox, capsys):
    Following.objects.create(user=mailed["ngo"], recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"])
    call_command("send_digests", "--dry-run")
    out = capsys.readouterr().out
    assert "would send to ngo@example.org" in out and "1 digest(s)" in out
    assert not mailoutbox and not SentMail.objects.exists()
    call_command("send_digests")
    assert "Digests sent: 1, reminders sent: 0, failures: 0." in capsys.readouterr().out


# --- reminders --------------------------------------------------------------------------------


@pytest.fixture
def ending_cycle(current_cycle) -> ReviewCycle:
    """The review cycle containing today, ending in ten days."""
    current_cycle.ends_on = timezone.localdate() + timedelta(days=10)
    current_cycle.save()
    return current_cycle


def test_a_cycle_reminder_goes_once_to_the_reviewers_of_organizations_with_work_left(
    mailed, ending_cycle, mailoutbox
):
    gov, ngo, colleague, other = (mailed[k] for k in ("gov", "ngo", "ngo_colleague", "other"))
    recommendations = list(Recommendation.objects.filter(report__slug="norway-2024"))
    for r in recommendations:  # the other NGO has assessed everything in this cycle
        make_assessment(r, other, cycle=ending_cycle)
    make_assessment(rec(1), ngo, cycle=ending_cycle)
    make_assessment(rec(2), ngo, cycle=ReviewCycle.objects.get(name="2024–25"))  # earlier cycle
    Preferences.objects.create(user=gov, reminder_emails=False, digest_emails=False)

    run("--days", "14")
    sent = reminders(mailoutbox)
    assert sorted(m.to[0] for m in sent) == [colleague.email, ngo.email]
    reminder = sent_to(sent, ngo)[0]
    total = len(recommendations)
    assert reminder.subject == (
        f"Reminder: {total - 1} recommendations to assess before the Current review cycle "
        f"ends on {ending_cycle.ends_on:%-d %B %Y}"
    )
    assert "/recommendations/2/" in reminder.body and "/recommendations/1/" not in reminder.body
    assert "/recommendations/1/" not in html_of(reminder)
    assert set(
        SentMail.objects.filter(kind=MailKind.CYCLE_REMINDER).values_list("user__username", "key")
    ) == {("ngo", f"cycle:{ending_cycle.pk}"), ("ngo2", f"cycle:{ending_cycle.pk}")}
    assert not sent_to(mailoutbox, mailed["observer"])  # observers do not assess

    mailoutbox.clear()
    run("--days", "14")
    assert not mailoutbox


def test_no_cycle_reminder_when_the_cycle_ends_beyond_the_horizon(mailed, ending_cycle):
    assert not mail.plan_reminders(timezone.localdate(), days=9)
    assert mail.plan_reminders(timezone.localdate(), days=10)


def test_a_target_reminder_goes_once_to_the_bodies_that_have_not_assessed_in_this_cycle(
    mailed, current_cycle, mailoutbox
):
    gov = mailed["gov"]
    ministry = gov.membership.organization
    kom = make_organization("KOM", kind=Organization.Kind.GOVERNMENT)
    supporter = make_user("supporter", kom, email="supporter@example.org")
    bystander = make_user(
        "bystander", make_organization("Other ministry", kind="GOVERNMENT"), email="b@example.org"
    )
    today = timezone.localdate()
    due = Responsibility.objects.create(
        recommendation=rec(4), lead=ministry, target_date=today + timedelta(days=3)
    )
    due.supporting.add(kom)
    Responsibility.objects.create(
        recommendation=rec(5), lead=ministry, target_date=today + timedelta(days=30)
    )
    Responsibility.objects.create(
        recommendation=rec(6), lead=ministry, target_date=today - timedelta(days=1)
    )
    make_assessment(rec(4), supporter, cycle=current_cycle)
    make_assessment(rec(4), gov, cycle=ReviewCycle.objects.get(name="2024–25"))  # not this one

    run("--days", "5")
    (reminder,) = reminders(mailoutbox)
    assert reminder.to == [gov.email]
    assert reminder.subject == (
        f"Reminder: recommendation 4 (Norway 2024) is due on {due.target_date:%-d %B %Y}"
    )
    assert f"{BASE}/reports/norway-2024/recommendations/4/" in reminder.body
    assert "Justisdepartementet leads this recommendation" in reminder.body
    assert (
        SentMail.objects.get(kind=MailKind.TARGET_REMINDER).key
        == f"target:{rec(4).pk}:{due.target_date.isoformat()}"
    )
    assert not sent_to(reminders(mailoutbox), supporter)  # it has assessed
    assert not sent_to(mailoutbox, bystander)

    mailoutbox.clear()
    run("--days", "5")
    assert not reminders(mailoutbox)
    # A new target date is a new reminder.
    Responsibility.objects.filter(pk=due.pk).update(target_date=today + timedelta(days=4))
    run("--days", "5")
    assert [m.to for m in reminders(mailoutbox)] == [[gov.email]]

    # Without a current review cycle, every body of the recommendation is reminded.
    planned = mail.target_reminders(today, today + timedelta(days=5), cycle=None)
    assert sorted(p.user.username for p in planned) == ["gov", "supporter"]


def test_reminders_list_the_newest_report_of_each_country(norway):
    text = "An older chapter."
    Report.objects.create(
        slug="norway-2023",
        title="Norway 2023",
        country="Norway",
        year=2023,
        tier=Report.Tier.TIER_2,
        source_text=text,
        source_sha256=sha256_hex(text),
        source_name="test",
    )
    assert list(mail.current_reports()) == [norway]


# --- the unsubscribe link ---------------------------------------------------------------------


def unsubscribe_link(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith(f"<{BASE}/unsubscribe/") and header.endswith("/>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = header[1:-1].removeprefix(BASE)
    assert path in message.body and path in html_of(message)
    # On the wire, on one line: folded into RFC 2047 words, mail clients would not see a URL.
    sent = message.message(policy=email.policy.SMTP).as_bytes()
    assert f"\r\nList-Unsubscribe: {header}\r\n".encode() in sent
    return path


@pytest.fixture
def digest(mailed, mailoutbox):
    """The NGO reviewer's first digest."""
    Following.objects.create(user=mailed["ngo"], recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"])
    run()
    (message,) = sent_to(mailoutbox, mailed["ngo"])
    mailoutbox.clear()
    return message


def test_unsubscribing_asks_on_get_and_stops_on_post(mailed, digest, mailoutbox):
    ngo = mailed["ngo"]
    url = unsubscribe_link(digest)
    client = Client(enforce_csrf_checks=True)  # a mail client has no CSRF token
    response = client.get(url)
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Stop digest emails to n•••@example.org?" in page
    assert ngo.email not in page
    assert Preferences.objects.filter(user=ngo, digest_emails=False).count() == 0

    response = client.post(url)
    assert response.status_code == 200
    assert "Digest emails to n•••@example.org are stopped" in response.content.decode()
    assert not Preferences.of(ngo).digest_emails and Preferences.of(ngo).reminder_emails
    make_assessment(rec(1), mailed["gov"])
    run()
    assert not sent_to(mailoutbox, ngo)

    response = client.post(url, {"resume": "1"})
    assert "Digest emails to n•••@example.org are on again." in response.content.decode()
    assert Preferences.of(ngo).digest_emails


def test_one_click_unsubscribe_posts_from_the_mail_client(mailed, digest):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        unsubscribe_link(digest),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not Preferences.of(mailed["ngo"]).digest_emails


def test_a_reminder_link_stops_reminders_only(mailed):
    token = mail.unsubscribe_token(mailed["gov"], Topic.REMINDERS)
    response = Client().post(f"/unsubscribe/{token}/")
    assert "Reminder emails to g•••@example.org are stopped" in response.content.decode()
    preferences = Preferences.of(mailed["gov"])
    assert not preferences.reminder_emails and preferences.digest_emails


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
        lambda token: "x" + token,  # the payload
        lambda token: token.split(":")[0],  # no signature at all
        lambda token: "not-a-token",
        lambda token: "ø" * 40,
    ],
)
def test_a_tampered_link_is_a_clear_400(mailed, digest, tamper):
    token = unsubscribe_link(digest).split("/")[2]
    client = Client(enforce_csrf_checks=True)
    for method in (client.get, client.post):
        response = method(f"/unsubscribe/{tamper(token)}/")
        assert response.status_code == 400
        assert "This unsubscribe link is incomplete" in response.content.decode()
    assert Preferences.of(mailed["ngo"]).digest_emails


def test_a_token_signed_for_something_else_is_refused(mailed):
    from django.core import signing

    for data in (
        {"user": mailed["ngo"].pk, "stop": "everything"},
        {"user": "1", "stop": "digests"},
    ):
        token = signing.Signer(salt=mail.UNSUBSCRIBE_SALT).sign_object(data)
        assert mail.read_unsubscribe_token(token) is None
    other_salt = signing.Signer(salt="elsewhere").sign_object(
        {"user": mailed["ngo"].pk, "stop": "digests"}
    )
    assert mail.read_unsubscribe_token(other_salt) is None


# --- settings ---------------------------------------------------------------------------------


def test_mail_goes_to_the_console_in_development_and_through_smtp_otherwise():
    mailer = "settings.MAILERS['default']"
    show = f"{mailer}['BACKEND'].rsplit('.', 2)[1], {mailer}.get('OPTIONS')"
    debug = settings_probe(show, DJANGO_DEBUG="1")
    assert debug.stdout.startswith("console None"), debug.stderr
    production = settings_probe(show, DJANGO_SECRET_KEY="x" * 50)
    assert production.stdout.startswith("smtp {'host': 'localhost', 'port': None"), production
    assert "'use_tls': False" in production.stdout
    named = settings_probe(
        show + ", settings.DEFAULT_FROM_EMAIL, settings.TRACKER_BASE_URL",
        DJANGO_DEBUG="1",
        SMTP_HOST="smtp.example.org",
        SMTP_PORT="2525",
        SMTP_USER="tracker",
        SMTP_PASSWORD="secret",
        DJANGO_DEFAULT_FROM_EMAIL="Tracker <tracker@example.org>",
        TRACKER_BASE_URL="https://tracker.example.org/",
    )
    assert named.stdout.startswith("smtp {'host': 'smtp.example.org', 'port': 2525"), named
    assert "'use_tls': True" in named.stdout and "'password': 'secret'" in named.stdout
    assert named.stdout.strip().endswith(
        "Tracker <tracker@example.org> https://tracker.example.org"
    )


# --- each mail in its recipient's language --------------------------------------------------------


def test_each_digest_is_written_in_its_recipients_language_in_one_run(mailed, mailoutbox):
    from django.utils import translation

    ngo, colleague, gov = mailed["ngo"], mailed["ngo_colleague"], mailed["gov"]
    Preferences.objects.create(user=ngo, language="nb")
    Preferences.objects.create(user=colleague, language="en-gb")
    for user in (ngo, colleague):
        Following.objects.create(user=user, recommendation=rec(3), following=True)
    make_assessment(rec(3), gov, rationale="Police have a new unit.")

    with translation.override("en-gb"):  # the command's own language decides nothing
        run()
    (norwegian,) = sent_to(mailoutbox, ngo)
    assert norwegian.subject == "Sammendrag fra oppfølgingen: 1 vurdering om 1 anbefaling"
    assert norwegian.body.startswith("Hei, Nina Ås")
    assert "Justisdepartementet vurderte den som «Under arbeid»" in norwegian.body
    assert "Police have a new unit." in norwegian.body  # what people wrote stays as written
    assert "Stopp e-postsammendrag:" in norwegian.body
    html = html_of(norwegian)
    assert '<html lang="nb">' in html and "vurderte den som" in html
    assert "assessed it as" not in norwegian.body + html

    (english,) = sent_to(mailoutbox, colleague)
    assert english.subject == "Tracker digest: 1 assessment on 1 recommendation"
    assert "Justisdepartementet assessed it as “In progress”" in english.body
    assert "Stop digest emails:" in english.body and "vurderte" not in english.body
    assert '<html lang="en-gb">' in html_of(english)
    assert SentMail.objects.get(user=ngo).subject == norwegian.subject


def test_without_a_saved_language_a_mail_is_in_the_sites_language(mailed, mailoutbox, settings):
    from django.utils import translation

    ngo, gov = mailed["ngo"], mailed["gov"]
    Following.objects.create(user=ngo, recommendation=rec(3), following=True)
    make_assessment(rec(3), gov)
    with translation.override("nb"):  # a command run from a Norwegian shell
        run()
    (digest,) = sent_to(mailoutbox, ngo)
    assert digest.subject.startswith("Tracker digest: ")
    assert settings.LANGUAGE_CODE == "en-gb"


def test_a_reminder_is_written_in_its_recipients_language(mailed, ending_cycle, mailoutbox):
    from django.utils import formats, translation

    ngo, colleague = mailed["ngo"], mailed["ngo_colleague"]
    Preferences.objects.create(user=ngo, language="nb")
    run("--days", "14")
    (norwegian,) = sent_to(mailoutbox, ngo)  # no news to digest: only the reminder
    with translation.override("nb"):
        ends = formats.date_format(ending_cycle.ends_on, "j. F Y")
    total = Recommendation.objects.filter(report__slug="norway-2024").count()
    assert norwegian.subject == (
        f"Påminnelse: {total} anbefalinger skal vurderes før vurderingssyklusen Current "
        f"slutter {ends}"
    )
    assert "Vurderere i Nettverk mot menneskehandel registrerer" in norwegian.body
    assert "Stopp e-postpåminnelser:" in norwegian.body
    (english,) = reminders(sent_to(mailoutbox, colleague))
    assert english.subject.startswith(f"Reminder: {total} recommendations to assess before")


def test_the_unsubscribe_page_speaks_the_users_saved_language(mailed):
    ngo = mailed["ngo"]
    Preferences.objects.create(user=ngo, language="nb")
    token = mail.unsubscribe_token(ngo, Topic.DIGESTS)
    english_browser = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}
    page = Client().get(f"/unsubscribe/{token}/", **english_browser).content.decode()
    assert '<html lang="nb">' in page and "Stoppe e-postsammendrag til n•••@example.org?" in page
    colleague = mailed["ngo_colleague"]  # nothing saved: the browser's language
    token = mail.unsubscribe_token(colleague, Topic.DIGESTS)
    page = Client().get(f"/unsubscribe/{token}/", **english_browser).content.decode()
    assert "Stop digest emails to n•••@example.org?" in page


# --- names stored before they were validated, and mails that cannot be sent ----------------------


def test_a_cycle_named_over_two_lines_still_lets_every_mail_go_out(
    mailed, ending_cycle, mailoutbox, capsys
):
    # As old data would be: update() bypasses the validator that now refuses the line break.
    ReviewCycle.objects.filter(pk=ending_cycle.pk).update(name="Current\nBcc: x@example.org")
    Organization.objects.filter(pk=mailed["ngo"].membership.organization_id).update(
        name="Nettverk\r\nmot menneskehandel"
    )
    Following.objects.create(user=mailed["ngo"], recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"], rationale="News for the NGO.")

    call_command("send_digests", "--days", "14")  # no CommandError: nothing failed

    assert "Digests sent: 1, reminders sent: 4, failures: 0." in capsys.readouterr().out
    sent = reminders(mailoutbox)
    reviewers = ("gov", "ngo", "ngo_colleague", "other")
    assert sorted(m.to[0] for m in sent) == sorted(mailed[k].email for k in reviewers)
    for message in sent:
        assert re.fullmatch(
            r"Reminder: \d+ recommendations to assess before the Current Bcc: x@example.org "
            r"review cycle ends on \d+ \w+ \d{4}",
            message.subject,
        )
        headers = message.message()
        assert headers["Bcc"] is None
        assert "\n" not in headers["Subject"] and "\r" not in headers["Subject"]
    assert SentMail.objects.filter(kind=MailKind.CYCLE_REMINDER).count() == 4
    assert SentMail.objects.filter(kind=MailKind.DIGEST).count() == 1


def test_mails_that_cannot_be_sent_are_reported_and_all_others_go_out(
    mailed, mailoutbox, monkeypatch, capsys
):
    ngo, colleague, other = mailed["ngo"], mailed["ngo_colleague"], mailed["other"]
    for user in (ngo, colleague, other):
        Following.objects.create(user=user, recommendation=rec(1), following=True)
    make_assessment(rec(1), mailed["gov"], rationale="News for three.")
    type(ngo).objects.filter(pk=ngo.pk).update(email="ngo@example.org\nBcc: x@example.org")
    original = locmem.EmailBackend.send_messages

    def refuse_the_other_ngo(self, messages):
        if any(other.email in message.to for message in messages):
            raise SMTPException("mailbox unavailable")
        return original(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse_the_other_ngo)
    with pytest.raises(CommandError, match="failures: 2") as failed:
        run()
    assert failed.value.returncode == 1
    assert [m.to for m in mailoutbox] == [[colleague.email]]
    assert list(SentMail.objects.values_list("user__username", flat=True)) == ["ngo2"]
    report = capsys.readouterr().err.splitlines()
    subject = "Tracker digest: 1 assessment on 1 recommendation"
    assert any(
        line.startswith(
            f"failed: {subject} to ngo@example.org Bcc: x@example.org (ngo): ValueError:"
        )
        for line in report
    )
    assert (
        f"failed: {subject} to other@example.org (other): SMTPException: mailbox unavailable"
        in report
    )


def test_a_submission_reminder_names_what_was_not_assessed_in_the_reporting_period(
    mailed, mailoutbox, current_cycle
):
    """Two weeks before the year's submission deadline, each reviewer of an organization with
    recommendations not assessed in the reporting period is reminded, naming them; once."""
    from recommendations.models import SubmissionDeadline
    from recommendations.periods import ReportingPeriod

    period = ReportingPeriod.current()
    deadline = SubmissionDeadline.objects.create(
        report_year=period.report_year, due_on=timezone.localdate() + timedelta(days=12)
    )
    ngo, other = mailed["ngo"], mailed["other"]
    for r in Recommendation.objects.filter(report__slug="norway-2024"):
        make_assessment(r, other, cycle=current_cycle)  # in the period: nothing left
    make_assessment(rec(1), ngo, cycle=current_cycle)
    # Before the period began: does not count.
    make_assessment(rec(2), ngo, cycle=current_cycle, created_at=period.starts_at - timedelta(1))

    run("--days", "14")
    sent = [m for m in mailoutbox if "submission" in m.subject]
    expected = [mailed[k].email for k in ("gov", "ngo", "ngo_colleague")]  # not the other NGO
    assert sorted(m.to[0] for m in sent) == sorted(expected)
    reminder = sent_to(sent, ngo)[0]
    total = Recommendation.objects.filter(report__slug="norway-2024").count()
    assert reminder.subject == (
        f"Reminder: the {period.report_year} TIP submission is due on "
        f"{deadline.due_on:%-d %B %Y}; {total - 1} recommendations not assessed in its period"
    )
    assert "/recommendations/2/" in reminder.body and "/recommendations/1/" not in reminder.body
    assert period.label() in reminder.body
    assert not sent_to(sent, mailed["observer"])  # observers do not assess
    mailoutbox.clear()
    run("--days", "14")
    assert not [m for m in mailoutbox if "submission" in m.subject]


def test_no_submission_reminder_beyond_the_horizon_or_after_the_deadline(mailed):
    from recommendations.models import SubmissionDeadline
    from recommendations.periods import ReportingPeriod

    today = timezone.localdate()
    year = ReportingPeriod.current().report_year
    SubmissionDeadline.objects.create(report_year=year, due_on=today + timedelta(days=15))
    SubmissionDeadline.objects.create(report_year=year - 1, due_on=today - timedelta(days=1))
    assert not [p for p in mail.plan_reminders(today) if p.kind == MailKind.SUBMISSION_REMINDER]


def test_every_mail_names_the_current_reporting_period(mailed, mailoutbox, current_cycle):
    from recommendations.periods import ReportingPeriod

    current_cycle.ends_on = timezone.localdate() + timedelta(days=3)
    current_cycle.save()
    run("--days", "14")
    assert mailoutbox
    for message in mailoutbox:
        assert ReportingPeriod.current().label() in message.body
