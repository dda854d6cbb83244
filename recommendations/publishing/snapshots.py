"""Publishing a status report as a frozen snapshot, and comparing two of them."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Report, Snapshot, sha256_hex
from ..rules.access import may_publish
from ..status import Status
from .document import build_document
from .json import render_json

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def publish_snapshot(report: Report, *, published_by: "User", title: str) -> Snapshot:
    """Freeze the whole report's current status report as a snapshot, chained to the report's
    snapshot before it and signed together with its report, title, publisher and publication
    date (refused without the publish permission: a snapshot can never be deleted)."""
    if not may_publish(published_by):
        raise PermissionDenied(_("Publishing a status report needs the publish permission."))
    document = build_document(
        report, report.recommendations.all(), generated_by=published_by, filters={}
    )
    content = render_json(document).decode("utf-8")
    with transaction.atomic():
        # One publisher at a time per report, so that each snapshot follows the one before.
        Report.objects.select_for_update().filter(pk=report.pk).first()
        before = report.snapshots.order_by("-pk").values_list("chain_sha256", flat=True).first()
        snapshot = Snapshot(
            report=report,
            title=title.strip(),
            content=content,
            content_sha256=sha256_hex(content),
            previous_sha256=before or "",
            published_by=published_by,
            published_at=timezone.now(),
            signing_scheme=Snapshot.CONTENT_AND_METADATA,
        )
        snapshot.signed_metadata = Snapshot.metadata_json(snapshot.metadata())
        snapshot.chain_sha256 = snapshot.expected_chain()
        snapshot.signature = Snapshot.sign(snapshot.chain_sha256)
        snapshot.save(force_insert=True)
        return snapshot


class SnapshotProblems(Exception):
    """The snapshot's stored content or hashes are not what was published."""

    def __init__(self, snapshot: Snapshot, problems: list[str]) -> None:
        self.snapshot = snapshot
        self.problems = problems
        super().__init__(f"snapshot {snapshot.pk}: " + " ".join(problems))


def verified_document(snapshot: Snapshot) -> dict:
    """The snapshot's document, after checking that it is exactly what was published;
    SnapshotProblems otherwise. Every use of a snapshot's content goes through here."""
    if problems := snapshot.problems():
        raise SnapshotProblems(snapshot, problems)
    return snapshot.document


@dataclass
class StatusChange:
    """One organization's position on one recommendation, before and after."""

    number: int
    short_title: str
    organization: str
    organization_kind: str
    before: dict | None
    after: dict | None

    @property
    def steps(self) -> int | None:
        """Signed steps on the status scale; positive is progress."""
        if not self.before or not self.after:
            return None
        return Status.rank(self.after["status"]) - Status.rank(self.before["status"])


def compare_documents(older: dict, newer: dict) -> list[StatusChange]:
    """Every organization whose position on a recommendation changed status between two
    status reports (a first assessment counts as a change from not assessed)."""

    def positions(document: dict) -> dict[tuple[int, str], dict]:
        return {
            (r["number"], p["organization"]): p
            for r in document["recommendations"]
            for p in r["positions"]
        }

    titles = {r["number"]: r["short_title"] for r in older["recommendations"]}
    titles.update({r["number"]: r["short_title"] for r in newer["recommendations"]})
    before, after = positions(older), positions(newer)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if (old or {}).get("status") == (new or {}).get("status"):
            continue
        number, organization = key
        changes.append(
            StatusChange(
                number=number,
                short_title=titles[number],
                organization=organization,
                organization_kind=(new or old or {})["organization_kind"],
                before=old,
                after=new,
            )
        )
    return changes
