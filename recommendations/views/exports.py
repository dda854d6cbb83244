"""Downloads of the status report: live (with the dashboard's filters) and of a snapshot."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from .. import caching
from ..downloads import report_download, snapshot_download
from ..filters import RecommendationFilter
from ..models import Report
from ..publishing.snapshots import SnapshotProblems
from ._shared import HtmxHttpRequest, bad_request
from .snapshots import refused, snapshot_or_404

HISTORY_IS_CSV_ONLY = "Only the CSV export has a history table (?table=history)."


def _table(request: HttpRequest, extension: str) -> str | None:
    """Which table a CSV export holds: `summary` (default) or `history`; None if not valid."""
    table = request.GET.get("table", "summary")
    if table == "summary" or (table == "history" and extension == "csv"):
        return table
    return None


# Reads only: no transaction of its own (two round trips fewer; on PostgreSQL each statement
# sees what was committed before it either way). See recommendations/caching.py.
@transaction.non_atomic_requests
@require_GET
def export(
    request: HtmxHttpRequest, slug: str, extension: str
) -> HttpResponse | StreamingHttpResponse:
    table = _table(request, extension)
    if table is None:
        return bad_request(request, HISTORY_IS_CSV_ONLY)
    # The files name who generated them: cached per user.
    parts = (extension, table, request.GET.urlencode(), str(request.user.pk))
    key = caching.page_key(request, "export", slug, *parts)
    tag = caching.etag(request, key)
    if (unchanged := caching.not_modified(request, tag)) is not None:
        return unchanged
    if table == "history":  # streamed as it is read, never held whole: revalidated only
        return caching.with_etag(_download(request, slug, extension, table), tag, hit=False)
    if (file := caching.fetch(key)) is not None:
        return file.response(hit=True, tag=tag)
    response = _download(request, slug, extension, table)
    if response.status_code != 200 or isinstance(response, StreamingHttpResponse):
        return response
    file = caching.CachedFile.of(response)
    caching.store(key, file)
    return file.response(hit=False, tag=tag)


def _download(
    request: HtmxHttpRequest, slug: str, extension: str, table: str
) -> HttpResponse | StreamingHttpResponse:
    report = get_object_or_404(Report, slug=slug)
    filterset = RecommendationFilter(
        request.GET or None, queryset=report.recommendations.all(), request=request
    )
    if filterset.is_bound and not filterset.is_valid():
        problems = "; ".join(f"{field}: {' '.join(e)}" for field, e in filterset.errors.items())
        return bad_request(request, f"Some filters could not be used: {problems}")
    filterset.queryset = report.recommendations.with_positions(filterset.moment())
    return report_download(
        report,
        filterset.qs,
        extension,
        user=request.user,
        filters=filterset.applied_filters(),
        table=table,
        day=filterset.day(),
    )


@require_GET
def snapshot_export(
    request: HtmxHttpRequest, slug: str, pk: int, extension: str
) -> HttpResponse | StreamingHttpResponse:
    snapshot = snapshot_or_404(slug, pk)
    table = _table(request, extension)
    if table is None:
        return bad_request(request, HISTORY_IS_CSV_ONLY)
    try:
        return snapshot_download(snapshot, extension, table)
    except SnapshotProblems as tampered:
        return refused(request, tampered, "serve")
