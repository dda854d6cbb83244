from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from recommendations.mail import (
    REMINDER_DAYS,
    Outcome,
    PlannedMail,
    Topic,
    not_yet_sent,
    plan_digests,
    plan_reminders,
    send,
)
from recommendations.validators import as_one_line


class Command(BaseCommand):
    help = (
        "Email each follower one digest of the assessments and comments made since their last "
        "one, and remind organizations that have not assessed before a review cycle ends or a "
        "target date. Run it from cron (docs/email.md); a mail is recorded before it is sent, "
        "so a re-run never sends it twice. Every mail that can be sent is sent; the ones that "
        "cannot are listed, and the command then exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=REMINDER_DAYS,
            help=f"Remind this many days before a cycle ends or a target date "
            f"(default {REMINDER_DAYS}).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print who would get what; send and record nothing.",
        )

    def handle(self, *args: Any, days: int, dry_run: bool, **options: Any) -> None:
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        started = timezone.now()
        planned = not_yet_sent(plan_digests(started))
        planned += not_yet_sent(plan_reminders(timezone.localdate(started), days))
        if dry_run:
            for mail in planned:
                self.stdout.write(f"would send to {recipient(mail)}: {as_one_line(mail.subject)}")
            digests = sum(mail.topic == Topic.DIGESTS for mail in planned)
            self.stdout.write(
                f"Dry run: {digests} digest(s) and {len(planned) - digests} reminder(s) "
                "would be sent; nothing was sent or recorded."
            )
            return
        outcomes: Counter[tuple[Topic, Outcome]] = Counter()
        for mail in planned:
            delivery = send(mail)
            outcomes[mail.topic, delivery.outcome] += 1
            if delivery.outcome is Outcome.FAILED:
                self.stderr.write(
                    f"failed: {as_one_line(mail.subject)} to {recipient(mail)}: {delivery.problem}"
                )
        failures = (
            outcomes[Topic.DIGESTS, Outcome.FAILED] + outcomes[Topic.REMINDERS, Outcome.FAILED]
        )
        summary = (
            f"Digests sent: {outcomes[Topic.DIGESTS, Outcome.SENT]}, "
            f"reminders sent: {outcomes[Topic.REMINDERS, Outcome.SENT]}, failures: {failures}"
        )
        skipped = (
            outcomes[Topic.DIGESTS, Outcome.ALREADY_SENT]
            + outcomes[Topic.REMINDERS, Outcome.ALREADY_SENT]
        )
        if skipped:
            summary += f", already sent by another run: {skipped}"
        if failures:
            raise CommandError(summary + " (a later run retries the failed ones).")
        self.stdout.write(summary + ".")


def recipient(mail: PlannedMail) -> str:
    """The address and user, on one line whatever they hold."""
    return as_one_line(f"{mail.user.email} ({mail.user})")
