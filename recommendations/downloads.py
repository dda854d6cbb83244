"""File downloads of status reports as HTTP responses, shared by the export views and the admin
actions. What goes into the files is decided in `recommendations.publishing`."""

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from . import publishing
from .filters import end_of_day
from .models import Recommendation, Report, Snapshot
from .publishing.csv import render_history_csv, stream_history_csv
from .publishing.document import build_document, stream_assessment_records, upgraded
from .publishing.snapshots import verified_document

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def attachment(
    body: bytes | Iterator[bytes], extension: str, name: str
) -> HttpResponse | StreamingHttpResponse:
    response_class = HttpResponse if isinstance(body, bytes) else StreamingHttpResponse
    response = response_class(body, content_type=publishing.MEDIA_TYPES[extension])
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response


def report_download(
    report: Report,
    recommendations: QuerySet[Recommendation],
    extension: str,
    *,
    user: "User",
    filters: dict[str, str] | None = None,
    table: str = "summary",
    day: date | None = None,
) -> HttpResponse | StreamingHttpResponse:
    """The live status report of these recommendations, as it stood at the end of `day` (now
    when None); `table="history"` streams the CSV of every assessment instead."""
    today = day or timezone.localdate()
    if table == "history":
        short_titles = dict(recommendations.values_list("number", "short_title"))
        records = stream_assessment_records(recommendations, end_of_day(day) if day else None)
        body = stream_history_csv(records, short_titles)
        return attachment(body, "csv", publishing.file_name(report.slug, "history", today, "csv"))
    document = build_document(report, recommendations, generated_by=user, filters=filters, day=day)
    return attachment(
        publishing.render(document, extension),
        extension,
        publishing.file_name(report.slug, "status", today, extension),
    )


def snapshot_download(
    snapshot: Snapshot, extension: str, table: str = "summary"
) -> HttpResponse | StreamingHttpResponse:
    """A download of the snapshot as published; SnapshotProblems if it is no longer that."""
    document = upgraded(verified_document(snapshot))
    day = timezone.localdate(snapshot.published_at)
    kind = "history" if table == "history" else "status"
    name = publishing.file_name(
        snapshot.report.slug, kind, day, extension, f"-snapshot-{snapshot.pk}"
    )
    if extension == "json":  # byte for byte what was published, so its SHA-256 can be checked
        return attachment(snapshot.content.encode("utf-8"), "json", name)
    if table == "history":
        return attachment(render_history_csv(document), "csv", name)
    return attachment(publishing.render(document, extension), extension, name)
