"""Making a published snapshot public, and withdrawing it (docs/design.md, "Public pages").

What the public reads is the snapshot's JSON with what must stay private taken out: the
coordinators' evidence notes always, and the reviewers' names (each replaced by their
organization) unless the coordinator chose to show them. When nothing had to be taken out the
public copy is the snapshot's JSON byte for byte, so its SHA-256 is the one published.
"""

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import PublicCopy, Report, Snapshot, sha256_hex
from ..rules.access import may_publish_publicly
from .json import render_json
from .snapshots import verified_document

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Who a public copy says generated it when the publisher's name is not shown: not translated,
# since the copy's bytes (and SHA-256) must not depend on the language of the request.
PUBLIC_GENERATOR = "TIP recommendation tracker"


def public_document(document: dict, *, show_names: bool) -> dict:
    """The document without evidence notes, and without personal names unless `show_names`:
    each assessment's author becomes its organization, the publisher the tracker."""
    public = {**document}
    public["evidence"] = [{**item, "note": ""} for item in document.get("evidence", [])]
    if show_names:
        return public

    def anonymous(record: dict) -> dict:
        return {**record, "author": record["organization"]}

    public["generated_by"] = PUBLIC_GENERATOR
    public["assessments"] = [anonymous(a) for a in document.get("assessments", [])]
    public["recommendations"] = [
        {**r, "positions": [anonymous(p) for p in r["positions"]]}
        for r in document.get("recommendations", [])
    ]
    return public


def public_content(snapshot: Snapshot, *, show_names: bool) -> str:
    """The public copy's JSON: the snapshot's own bytes when nothing is taken out."""
    document = verified_document(snapshot)
    public = public_document(document, show_names=show_names)
    if public == document:
        return snapshot.content
    return render_json(public).decode("utf-8")


def current_copy(snapshot: Snapshot) -> PublicCopy | None:
    return snapshot.public_copies.current().first()


def make_public(snapshot: Snapshot, *, by: "User", show_names: bool) -> PublicCopy:
    """Make the snapshot public (SnapshotProblems if it is no longer what was published).
    Already public with the same names choice: that copy, unchanged. With the other choice: the
    earlier copy is withdrawn (its address answers 410) and a new one made."""
    if not may_publish_publicly(by):
        raise PermissionDenied(
            _("Making a snapshot public needs the public publishing permission.")
        )
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
        raise PermissionDenied(
            _("Making a snapshot public needs the public publishing permission.")
        )
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
