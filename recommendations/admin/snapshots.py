"""Published snapshots of the status report."""

from typing import cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from ..models import PublicCopy, Snapshot, SnapshotQuerySet
from ._shared import (
    EXPORT_EXTENSIONS,
    ReadOnlyAdmin,
    RefusedHistoryAdmin,
    snapshot_export_action,
)


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    """Published snapshots are frozen: coordinators view and download them, nothing more.
    Publish from the report list or the snapshots page."""

    actions = [snapshot_export_action(e) for e in EXPORT_EXTENSIONS]
    list_display = ["title", "report", "published_by", "published_at", "short_sha256", "intact"]
    list_filter = ["report"]
    list_select_related = ["report", "published_by"]
    search_fields = ["title"]
    fields = [
        "title",
        "report",
        "published_by",
        "published_at",
        "content_sha256",
        "previous_sha256",
        "chain_sha256",
        "signature",
        "signing_scheme",
        "signed_metadata",
        "verification",
        "content",
    ]

    readonly_fields = ["verification"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        return cast(SnapshotQuerySet, super().get_queryset(request)).with_previous_chain()

    @admin.display(description="SHA-256")
    def short_sha256(self, snapshot: Snapshot) -> str:
        return snapshot.content_sha256[:12] + "…"

    @admin.display(description=gettext_lazy("verified"), boolean=True)
    def intact(self, snapshot: Snapshot) -> bool:
        return not snapshot.problems()

    @admin.display(description=gettext_lazy("verification"))
    def verification(self, snapshot: Snapshot) -> str:
        return snapshot.verification()


@admin.register(PublicCopy)
class PublicCopyAdmin(ReadOnlyAdmin, RefusedHistoryAdmin):
    """Who made which snapshot public, when, and who withdrew it (with its audit history).
    Made public and withdrawn from the snapshot's page, never here."""

    list_display = [
        "snapshot",
        "show_names",
        "made_public_by",
        "made_public_at",
        "withdrawn_by",
        "withdrawn_at",
        "short_sha256",
    ]
    list_filter = ["snapshot__report", "show_names"]
    list_select_related = ["snapshot__report", "made_public_by", "withdrawn_by"]
    fields = [
        "snapshot",
        "show_names",
        "sha256",
        "signature",
        "made_public_by",
        "made_public_at",
        "withdrawn_by",
        "withdrawn_at",
        "content",
    ]

    @admin.display(description="SHA-256")
    def short_sha256(self, copy: PublicCopy) -> str:
        return copy.sha256[:12] + "…"
