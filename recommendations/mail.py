"""Email digests and reminders (docs/email.md): who gets what, and sending each mail at most once.

`manage.py send_digests` plans the mails (plan_digests, plan_reminders) and sends each with
send(). Every mail is recorded as a SentMail row, committed *before* the mail goes to the mailer;
the row's unique (user, kind, key) names what the mail covers, so a re-run, or a run at the same
time, finds the row (or fails to insert it) and does not send that mail again. When sending
raises, the row is deleted and a later run tries again. A crash between the commit and the send
loses that one mail: a reviewer may miss a digest, but never gets the same one twice.

Each mail is built and sent on its own: one that cannot be (a refused address, an SMTP error) is
logged and reported as FAILED with its problem, and the others still go out. A name written into
a subject is made one line first, since names stored before they were validated may hold a line
break, which would otherwise make every mail naming it unsendable.
"""

import email.policy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import Policy
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from .languages import supported
from .models import (
    Assessment,
    Comment,
    MailKind,
    Membership,
    Organization,
    Preferences,
    Recommendation,
    Report,
    Responsibility,
    ReviewCycle,
    SentMail,
    SubmissionDeadline,
)
from .periods import ReportingPeriod
from .rules.following import followed_recommendations
from .validators import as_one_line

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# A first digest reaches back this far at most (and never to before the user's account).
FIRST_DIGEST_DAYS = 7
# Reminders go this many days before a review cycle ends or a target date (--days).
REMINDER_DAYS = 14
MAILER = "default"  # the MAILERS alias (tracker/settings.py)
UNSUBSCRIBE_SALT = "recommendations.mail.unsubscribe"


class Topic(StrEnum):
    """What an unsubscribe link stops: one of a user's two Preferences."""

    DIGESTS = "digests"
    REMINDERS = "reminders"

    @property
    def preference(self) -> str:
        return "digest_emails" if self is Topic.DIGESTS else "reminder_emails"


class Outcome(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already sent"  # another run recorded it first
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    problem: str = ""  # why it FAILED, on one line, for the command's report


@dataclass
class PlannedMail:
    user: "User"
    kind: MailKind
    key: str
    subject: str  # in the recipient's language, as the context's words
    template: str  # rendered as <template>.txt and <template>.html
    language: str = ""  # the recipient's, which the mail is written in ("": the site's)
    context: dict[str, Any] = field(default_factory=dict)
    covers_until: datetime | None = None

    @property
    def topic(self) -> Topic:
        return Topic.DIGESTS if self.kind == MailKind.DIGEST else Topic.REMINDERS


def absolute(path: str) -> str:
    return settings.TRACKER_BASE_URL + path


def language_of(user: "User", default: str | None = None) -> str:
    """The language a user's mail is written in: their saved choice, else `default`, else the
    site's."""
    saved = Preferences.objects.filter(user=user).values_list("language", flat=True).first()
    return saved if saved and supported(saved) else default or settings.LANGUAGE_CODE


def long_date(day: date) -> str:
    """3 March 2025 in English, 3. mars 2025 in Norwegian: in the active language."""
    return formats.date_format(day, pgettext("long date format", "j F Y"))


def recommendations_counted(count: int) -> str:
    return ngettext("%(count)d recommendation", "%(count)d recommendations", count) % {
        "count": count
    }


def digest_subject(assessments: int, comments: int, recommendations: int) -> str:
    counted = [
        ngettext("%(count)d assessment", "%(count)d assessments", assessments)
        % {"count": assessments},
        ngettext("%(count)d comment", "%(count)d comments", comments) % {"count": comments},
    ]
    if assessments and comments:
        news = _("%(assessments)s and %(comments)s") % {
            "assessments": counted[0],
            "comments": counted[1],
        }
    else:
        news = counted[0] if assessments else counted[1]
    return _("Tracker digest: %(news)s on %(recommendations)s") % {
        "news": news,
        "recommendations": recommendations_counted(recommendations),
    }


def recipients(topic: Topic) -> "QuerySet[User]":
    """Active users with an email address who have not turned this kind of mail off."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .exclude(**{f"preferences__{topic.preference}": False})
    )


# --- digests ----------------------------------------------------------------------------------


def plan_digests(until: datetime) -> list[PlannedMail]:
    """One digest per user with something new on what they follow: the assessments and
    comments by others created after their previous digest's `covers_until` (for a first
    digest, FIRST_DIGEST_DAYS back at most, and not before they joined) up to `until`."""
    covered = (
        SentMail.objects.filter(user=OuterRef("pk"), kind=MailKind.DIGEST)
        .order_by("-covers_until")
        .values("covers_until")[:1]
    )
    users = recipients(Topic.DIGESTS).annotate(covered_until=Subquery(covered)).order_by("pk")
    planned: list[PlannedMail] = []
    for user in users:
        if user.covered_until is None:
            since = max(user.date_joined, until - timedelta(days=FIRST_DIGEST_DAYS))
            # The same key for every run's first digest, so two runs at once cannot both send.
            key = "first"
        else:
            since = user.covered_until
            key = f"since:{since.isoformat()}"
        entries = digest_entries(user, since, until)
        if not entries:
            continue
        assessments = sum(len(entry["assessments"]) for entry in entries)
        comments = sum(len(entry["comments"]) for entry in entries)
        language = language_of(user)
        with translation.override(language):
            subject = digest_subject(assessments, comments, len(entries))
        planned.append(
            PlannedMail(
                user=user,
                kind=MailKind.DIGEST,
                key=key,
                subject=subject,
                language=language,
                template="email/digest",
                context={"entries": entries, "since": since, "until": until},
                covers_until=until,
            )
        )
    return planned


def digest_entries(user: "User", since: datetime, until: datetime) -> list[dict[str, Any]]:
    """What is new for the user, per followed recommendation in report order: the assessments
    and comments made by others in (since, until]."""
    new = {
        "recommendation__in": followed_recommendations(user).values("pk"),
        "created_at__gt": since,
        "created_at__lte": until,
    }
    related = ("recommendation__report", "organization", "author")
    assessments = (
        Assessment.objects.filter(**new)
        .exclude(author=user)
        .select_related(*related)
        .order_by("created_at", "pk")
    )
    comments = (
        Comment.objects.filter(**new)
        .exclude(author=user)
        .select_related(*related)
        .order_by("created_at", "pk")
    )
    entries: dict[int, dict[str, Any]] = {}
    for kind, items in (("assessments", assessments), ("comments", comments)):
        for item in items:
            recommendation = item.recommendation
            entry = entries.setdefault(
                recommendation.pk,
                {
                    "recommendation": recommendation,
                    "url": absolute(recommendation.get_absolute_url()),
                    "assessments": [],
                    "comments": [],
                },
            )
            entry[kind].append(item)
    return sorted(
        entries.values(),
        key=lambda e: (
            -e["recommendation"].report.year,
            e["recommendation"].report.country,
            e["recommendation"].number,
        ),
    )


# --- reminders --------------------------------------------------------------------------------


def plan_reminders(today: date, days: int = REMINDER_DAYS) -> list[PlannedMail]:
    """Reminders to the reviewers of organizations that have not assessed yet: before the
    current review cycle ends, and before a recommendation's target date, `days` ahead."""
    horizon = today + timedelta(days=days)
    cycle = ReviewCycle.containing(today)
    planned: list[PlannedMail] = []
    if cycle is not None and cycle.ends_on <= horizon:
        planned += cycle_reminders(cycle)
    planned += target_reminders(today, horizon, cycle)
    for deadline in SubmissionDeadline.objects.filter(due_on__gte=today, due_on__lte=horizon):
        planned += submission_reminders(deadline)
    return planned


def submission_reminders(deadline: SubmissionDeadline) -> list[PlannedMail]:
    """Before the year's submission deadline: each reviewer of an organization that has
    recommendations of its country's current report not assessed in the reporting period
    gets one reminder naming them."""
    period = ReportingPeriod(deadline.report_year)

    def pending(organization: Organization) -> list[Recommendation]:
        assessed = Assessment.objects.made_during(period).filter(
            recommendation=OuterRef("pk"), organization=organization
        )
        return list(
            Recommendation.objects.filter(
                report__in=current_reports(), report__country=organization.country
            )
            .exclude(Exists(assessed))
            .select_related("report")
            .order_by("-report__year", "number")
        )

    def wording(organization: Organization, count: int) -> tuple[str, str]:
        words = {
            "recommendations": recommendations_counted(count),
            "year": deadline.report_year,
            "date": long_date(deadline.due_on),
            "organization": organization.name,
            "period": period.label(),
        }
        subject = _(
            "Reminder: the %(year)s TIP submission is due on %(date)s; "
            "%(recommendations)s not assessed in its period"
        )
        why = _(
            "Submissions for the %(year)s Trafficking in Persons Report are due on "
            "%(date)s. They cover the reporting period %(period)s, and "
            "%(organization)s has not assessed these recommendations in it yet "
            "(the submission draft on the dashboard is made from its assessments):"
        )
        return subject % words, why % words

    key = f"submission:{deadline.report_year}"  # once a year, whatever the date corrected to
    return reminders_of_pending(MailKind.SUBMISSION_REMINDER, key, pending, wording)


def reminders_of_pending(
    kind: MailKind,
    key: str,
    pending_of: Callable[[Organization], list[Recommendation]],
    wording: Callable[[Organization, int], tuple[str, str]],
) -> list[PlannedMail]:
    """One reminder to each reviewer of each organization with recommendations `pending_of`
    it, naming them; `wording` gives its subject and the sentence before the list, in the
    recipient's language."""
    planned: list[PlannedMail] = []
    users_by_org = reviewers()
    organizations = Organization.objects.in_bulk(list(users_by_org))
    for organization_id, users in users_by_org.items():
        organization = organizations[organization_id]
        pending = pending_of(organization)
        if not pending:
            continue
        items = [{"recommendation": r, "url": absolute(r.get_absolute_url())} for r in pending]
        for user in users:
            language = language_of(user)
            with translation.override(language):
                subject, why = wording(organization, len(pending))
            planned.append(
                PlannedMail(
                    user=user,
                    kind=kind,
                    key=key,
                    subject=subject,
                    language=language,
                    template="email/reminder",
                    context={"organization": organization, "items": items, "why": why},
                )
            )
    return planned


def reviewers(organization_ids: "list[int] | None" = None) -> dict[int, list["User"]]:
    """Organization id → its reviewers who take reminders (all organizations when None)."""
    memberships = Membership.objects.filter(
        role=Membership.Role.REVIEWER, user__in=recipients(Topic.REMINDERS)
    ).select_related("user")
    if organization_ids is not None:
        memberships = memberships.filter(organization__in=organization_ids)
    found: dict[int, list[User]] = {}
    for membership in memberships.order_by("user__pk"):
        found.setdefault(membership.organization_id, []).append(membership.user)
    return found


def current_reports() -> "QuerySet[Report]":
    """Each country's newest report: the one being assessed."""
    newest = Report.objects.filter(country=OuterRef("country")).order_by("-year").values("pk")[:1]
    return Report.objects.filter(pk=Subquery(newest))


def cycle_reminders(cycle: ReviewCycle) -> list[PlannedMail]:
    """Each reviewer of an organization that has recommendations of the current reports left
    to assess in `cycle`: one reminder listing them."""

    def pending(organization: Organization) -> list[Recommendation]:
        assessed = Assessment.objects.made_in(cycle).filter(
            recommendation=OuterRef("pk"), organization=organization
        )
        return list(
            Recommendation.objects.filter(report__in=current_reports())
            .exclude(Exists(assessed))
            .select_related("report")
            .order_by("-report__year", "report__country", "number")
        )

    def wording(organization: Organization, count: int) -> tuple[str, str]:
        words = {
            "recommendations": recommendations_counted(count),
            "cycle": cycle.name,
            "date": long_date(cycle.ends_on),
            "organization": organization.name,
        }
        subject = _(
            "Reminder: %(recommendations)s to assess before the %(cycle)s review "
            "cycle ends on %(date)s"
        )
        why = _(
            "The %(cycle)s review cycle ends on %(date)s. %(organization)s has not "
            "assessed these recommendations in it yet:"
        )
        return subject % words, why % words

    return reminders_of_pending(MailKind.CYCLE_REMINDER, f"cycle:{cycle.pk}", pending, wording)


def target_reminders(today: date, horizon: date, cycle: ReviewCycle | None) -> list[PlannedMail]:
    """For each recommendation whose target date is between today and `horizon`: one reminder
    to each reviewer of its lead and supporting bodies that have not assessed it in `cycle`
    (without a current cycle, every one of them)."""
    responsibilities = (
        Responsibility.objects.filter(target_date__gte=today, target_date__lte=horizon)
        .select_related("recommendation__report", "lead")
        .prefetch_related("supporting")
        .order_by("target_date", "pk")
    )
    planned: list[PlannedMail] = []
    for responsibility in responsibilities:
        recommendation = responsibility.recommendation
        target = responsibility.target_date
        assert target is not None  # filtered above
        bodies = [(responsibility.lead, "leads")] if responsibility.lead else []
        bodies += [(body, "supports") for body in responsibility.supporting.all()]
        assessed: set[int] = set()
        if cycle is not None:
            assessed = set(
                recommendation.assessments.made_in(cycle).values_list("organization_id", flat=True)
            )
        waiting = [(body, role) for body, role in bodies if body.pk not in assessed]
        if not waiting:
            continue
        users_by_org = reviewers([body.pk for body, _ in waiting])
        url = absolute(recommendation.get_absolute_url())
        for body, role in waiting:
            for user in users_by_org.get(body.pk, []):
                language = language_of(user)
                with translation.override(language):
                    words = {
                        "number": recommendation.number,
                        "country": recommendation.report.country,
                        "year": recommendation.report.year,
                        "date": long_date(target),
                        "organization": body.name,
                        "cycle": cycle.name if cycle else "",
                    }
                    subject = (
                        _(
                            "Reminder: recommendation %(number)s (%(country)s %(year)s) is due "
                            "on %(date)s"
                        )
                        % words
                    )
                    why = target_reminder_reason(role, in_cycle=cycle is not None) % words
                planned.append(
                    PlannedMail(
                        user=user,
                        kind=MailKind.TARGET_REMINDER,
                        key=f"target:{recommendation.pk}:{target.isoformat()}",
                        subject=subject,
                        language=language,
                        template="email/reminder",
                        context={
                            "organization": body,
                            "items": [{"recommendation": recommendation, "url": url}],
                            "why": why,
                        },
                    )
                )
    return planned


def target_reminder_reason(role: str, in_cycle: bool) -> str:
    """Why a body gets a target-date reminder, in whole sentences (word order differs by
    language), to be filled with organization, date and cycle."""
    if role == "leads":
        if in_cycle:
            return _(
                "%(organization)s leads this recommendation, whose target date is %(date)s, and "
                "has not assessed it in the %(cycle)s review cycle yet:"
            )
        return _(
            "%(organization)s leads this recommendation, whose target date is %(date)s, and "
            "has not assessed it yet:"
        )
    if in_cycle:
        return _(
            "%(organization)s supports this recommendation, whose target date is %(date)s, and "
            "has not assessed it in the %(cycle)s review cycle yet:"
        )
    return _(
        "%(organization)s supports this recommendation, whose target date is %(date)s, and "
        "has not assessed it yet:"
    )


# --- sending ----------------------------------------------------------------------------------


def not_yet_sent(planned: list[PlannedMail]) -> list[PlannedMail]:
    """Leave out the mails already recorded (the unique constraint decides in the end)."""
    recorded = set(
        SentMail.objects.filter(key__in={p.key for p in planned}).values_list(
            "user_id", "kind", "key"
        )
    )
    return [p for p in planned if (p.user.pk, p.kind, p.key) not in recorded]


def unsubscribe_token(user: "User", topic: Topic) -> str:
    """Signed with the secret key and a salt of its own: it proves that the link came from a
    mail to this user, which is all an unsubscribe link needs (no log-in, no expiry)."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"user": user.pk, "stop": topic})


def read_unsubscribe_token(token: str) -> "tuple[User, Topic] | None":
    """The user and topic of a token made by unsubscribe_token(); None if it is not one."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("stop") not in Topic
        or type(data.get("user")) is not int
    ):
        return None
    user = get_user_model().objects.filter(pk=data["user"]).first()
    return None if user is None else (user, Topic(data["stop"]))


def unsubscribe_url(user: "User", topic: Topic) -> str:
    return absolute(reverse("unsubscribe", args=[unsubscribe_token(user, topic)]))


def subscribed(user: "User", topic: Topic) -> bool:
    preferences = Preferences.objects.filter(user=user).first() or Preferences(user=user)
    return bool(getattr(preferences, topic.preference))


def set_subscribed(user: "User", topic: Topic, on: bool) -> None:
    Preferences.objects.update_or_create(user=user, defaults={topic.preference: on})


def mask_email(address: str) -> str:
    """nina@example.org → n•••@example.org: enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


class Mail(EmailMultiAlternatives):
    """A mail whose headers are folded only beyond RFC 5322's hard limit of 998 characters.

    Python folds a header longer than 78 characters at its spaces, and one without spaces, such
    as the List-Unsubscribe URL, as RFC 2047 encoded words, which mail clients do not read as a
    URL: one-click unsubscribe would silently not be offered. The parts are already encoded when
    message() returns, so from there on the policy only decides how headers are folded.
    """

    def message(self, *, policy: Policy | None = email.policy.default) -> EmailMessage:
        policy = policy or email.policy.default
        message = super().message(policy=policy)
        message.policy = policy.clone(max_line_length=998)
        return message


def build_message(planned: PlannedMail) -> Mail:
    user = planned.user
    unsubscribe = unsubscribe_url(user, planned.topic)
    context = {
        **planned.context,
        "user": user,
        "name": user.get_full_name() or user.get_username(),
        "topic": planned.topic,
        "unsubscribe_url": unsubscribe,
        "base_url": settings.TRACKER_BASE_URL,
        "period": ReportingPeriod.current(),
    }
    # The sending command runs in no particular language: each mail in its recipient's.
    with translation.override(planned.language or settings.LANGUAGE_CODE):
        text = render_to_string(f"{planned.template}.txt", context)
        html = render_to_string(f"{planned.template}.html", context)
    message = Mail(
        as_one_line(planned.subject),
        text,
        to=[user.email],
        headers={
            # One-click unsubscribe (RFC 8058): mail clients POST to the link.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Sent by a program: no vacation auto-replies (RFC 3834).
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def problem_of(error: Exception) -> str:
    return as_one_line(f"{type(error).__name__}: {error}")


def send(planned: PlannedMail) -> Delivery:
    """Record, commit, then send (see the module's docstring). Call outside any transaction:
    the durable block refuses to run inside one, where the record would not be committed
    before the mail goes out."""
    try:
        message = build_message(planned)
        message.message()  # checks the headers (an address with a line break) before recording
    except Exception as error:
        logger.exception("Could not write the %s mail to %s", planned.kind, planned.user)
        return Delivery(Outcome.FAILED, problem_of(error))
    try:
        with transaction.atomic(durable=True):
            record = SentMail.objects.create(
                user=planned.user,
                kind=planned.kind,
                key=planned.key,
                covers_until=planned.covers_until,
                subject=message.subject[:200],
            )
    except IntegrityError:
        return Delivery(Outcome.ALREADY_SENT)
    try:
        message.send(using=MAILER)
    except Exception as error:
        logger.exception(
            "Sending the %s mail to %s failed; a later run retries", planned.kind, planned.user
        )
        record.delete()
        return Delivery(Outcome.FAILED, problem_of(error))
    return Delivery(Outcome.SENT)
