"""Making a published snapshot public, and withdrawing it (docs/design.md, "Public pages").

What the public reads is the snapshot's JSON with what must stay private taken out: the
coordinators' evidence notes always, and the reviewers' names (each replaced by their
organization) unless the coordinator chose to show them. When nothing had to be taken out the
public copy is the snapshot's JSON byte for byte, so its SHA-256 is the one published.
"""

from collections.abc import Set
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone

from ..models import Pillar, PublicCopy, Report, SectionKind, Snapshot, Tier, sha256_hex
from ..rules.access import PUBLISHING_PUBLICLY_ONLY, may_publish_publicly
from ..status import Status
from .json import render_json
from .snapshots import verified_document

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Who a public copy says generated it when the publisher's name is not shown: not translated,
# since the copy's bytes (and SHA-256) must not depend on the language of the request.
PUBLIC_GENERATOR = "TIP recommendation tracker"


def public_document(document: dict, *, show_names: bool, usernames: Set[str] = frozenset()) -> dict:
    """The document without evidence notes. Unless `show_names`, each assessment's author
    becomes its organization and the publisher (`generated_by`) the tracker. Even with names
    shown, a person known only by a username (one of `usernames`: no name given, and the
    username may be an e-mail address) is never named."""
    public = {**document}
    if not show_names or document.get("generated_by") in usernames:
        public["generated_by"] = PUBLIC_GENERATOR
    public["evidence"] = [{**item, "note": ""} for item in document.get("evidence", [])]

    def public_author(record: dict) -> dict:
        if show_names and record["author"] not in usernames:
            return record
        return {**record, "author": record["organization"]}

    public["assessments"] = [public_author(a) for a in document.get("assessments", [])]
    public["recommendations"] = [
        {**r, "positions": [public_author(p) for p in r["positions"]]}
        for r in document.get("recommendations", [])
    ]
    return public


def public_content(snapshot: Snapshot, *, show_names: bool) -> str:
    """The public copy's JSON: the snapshot's own bytes when nothing is taken out."""
    document = verified_document(snapshot)
    nameless = get_user_model().objects.filter(first_name="", last_name="")
    usernames = set(nameless.values_list("username", flat=True))
    public = public_document(document, show_names=show_names, usernames=usernames)
    if public == document:
        return snapshot.content
    return render_json(public).decode("utf-8")


def in_current_language(document: dict) -> dict:
    """The document's labels (statuses, pillars, sections, tier) in the current language,
    from their codes: a snapshot holds them in the language it was published in."""
    statuses = dict(Status.choices)

    def status(record: dict) -> dict:
        return {**record, "status_label": str(statuses.get(record["status"], record["status"]))}

    def label(choices: type[TextChoices], value: str, stored: str) -> str:
        return str(choices(value).label) if value in choices.values else stored

    report = document["report"]
    return {
        **document,
        "report": {**report, "tier_label": label(Tier, report["tier"], report["tier_label"])},
        "statuses": [{"value": value, "label": str(text)} for value, text in Status.choices],
        "recommendations": [
            {
                **r,
                "pillar_label": label(Pillar, r["pillar"], r["pillar_label"]),
                "positions": [status(p) for p in r["positions"]],
            }
            for r in document["recommendations"]
        ],
        "assessments": [status(a) for a in document["assessments"]],
        "evidence": [
            {
                **item,
                "section_label": label(SectionKind, item["section"], item["section_label"]),
            }
            for item in document["evidence"]
        ],
    }


def current_copy(snapshot: Snapshot) -> PublicCopy | None:
    return snapshot.public_copies.current().first()


def make_public(snapshot: Snapshot, *, by: "User", show_names: bool) -> PublicCopy:
    """Make the snapshot public (SnapshotProblems if it is no longer what was published).
    Already public with the same names choice: that copy, unchanged. With the other choice: the
    earlier copy is withdrawn (its address answers 410) and a new one made."""
    if not may_publish_publicly(by):
        raise PermissionDenied(PUBLISHING_PUBLICLY_ONLY)
    content = public_content(snapshot, show_names=show_names)
    sha256 = sha256_hex(content)
    with transaction.atomic():
        # One change at a time per report (the current copy is read and replaced together);
        # the report's row, since the app's database role may not lock snapshots (append-only).
        Report.objects.select_for_update().filter(pk=snapshot.report_id).first()
        current = current_copy(snapshot)
        if current is not None and current.sha256 == sha256:
            return current
        if current is not None:
            withdraw_copy(current, by=by)
        copy = PublicCopy(
            snapshot=snapshot,
            show_names=show_names,
            content=content,
            sha256=sha256,
            signature=PublicCopy.sign(snapshot.chain_sha256, sha256, show_names),
            made_public_by=by,
        )
        copy.save(force_insert=True)
        return copy


def withdraw(snapshot: Snapshot, *, by: "User") -> PublicCopy | None:
    """Withdraw the snapshot's public copy, if it has one (which is returned)."""
    if not may_publish_publicly(by):
        raise PermissionDenied(PUBLISHING_PUBLICLY_ONLY)
    with transaction.atomic():
        Report.objects.select_for_update().filter(pk=snapshot.report_id).first()
        current = current_copy(snapshot)
        if current is not None:
            withdraw_copy(current, by=by)
        return current


def withdraw_copy(copy: PublicCopy, *, by: "User") -> None:
    copy.withdrawn_at = timezone.now()
    copy.withdrawn_by = by
    copy.save(update_fields=["withdrawn_at", "withdrawn_by"])
