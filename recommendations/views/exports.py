"""Downloads of the status report: live (with the dashboard's filters) and of a snapshot."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from .. import caching, prepared
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
def export(request: HtmxHttpRequest, slug: str, extension: str) -> HttpResponseBase:
    table = _table(request, extension)
    if table is None:
        return bad_request(request, HISTORY_IS_CSV_ONLY)
    if extension == prepared.PDF and table == "summary" and not any(request.GET.values()):
        # The whole report as it stands: one file for everyone (recommendations/prepared.py).
        return caching.serve(
            request,
            page="export",
            report_slug=slug,
            parts=(extension, "whole"),
            build=lambda: prepared.whole_report_pdf(get_object_or_404(Report, slug=slug)),
        )
    return caching.serve(
        request,
        page="export",
        report_slug=slug,
        # The files name who generated them: cached per user.
        parts=(extension, table, request.GET.urlencode(), str(request.user.pk)),
        build=lambda: _file(request, slug, extension, table),
        # The history is streamed as it is read, never held whole: revalidated only.
        stored=table != "history",
    )


def _file(
    request: HtmxHttpRequest, slug: str, extension: str, table: str
) -> caching.CachedFile | HttpResponseBase:
    """The download to keep; a refusal or a streamed download as it is (never kept)."""
    response = _download(request, slug, extension, table)
    if response.status_code != 200 or isinstance(response, StreamingHttpResponse):
        return response
    return caching.CachedFile.of(response)


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
    return report_download(
        report,
        filterset.selection(),
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
