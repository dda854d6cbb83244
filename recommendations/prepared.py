"""Whole-report PDFs prepared after each write, so that the next download does not wait.

Laying out the status report's PDF takes a second or two (bench/RESULTS.md), too long for the
first download after a write. So the whole report's PDF (no filters, positions as of now) is
one file for everyone who asks, in their language, naming no person: `whole_report_pdf` serves
it from a `PreparedDownload` when that was made from what a render would use now (`version`:
the report's data versions, the day, the language, the code), else renders it there and then
and keeps it. Filtered PDFs, and every other format, are rendered on request as before.

With PREPARED_DOWNLOADS on, every write to what the report pages show (`connect`) enqueues,
once its transaction commits, one `refresh_prepared_downloads` task (Django's tasks framework,
kept in the database by django-tasks-db, run by `manage.py db_worker`), to run
PREPARED_DOWNLOADS_DELAY seconds later. The task renders again every prepared download that is
no longer current (only the reports and languages people have downloaded), unless a later write
has queued another: a burst of writes costs one render, after the last of them. A download never
gets a file made from other data than it would render, whether or not the worker keeps up: a
download that comes before the worker has finished renders its own.

Not followed, as the page cache's versions do not follow them either: raw SQL and bulk updates
(a download then renders its own), and the change of day (the first download of the day renders
it).
"""

from datetime import timedelta
from hashlib import sha256

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.tasks import TaskContext, TaskResult, TaskResultStatus, task
from django.utils import timezone, translation
from django.utils.http import content_disposition_header

from . import publishing
from .caching import CachedFile, code_version
from .downloads import report_download
from .models import (
    Assessment,
    Comment,
    EvidenceItem,
    EvidenceLink,
    Lineage,
    Membership,
    Organization,
    Paragraph,
    PreparedDownload,
    Recommendation,
    Report,
    Responsibility,
    ReviewCycle,
    Section,
    Snapshot,
)
from .versions import fingerprint_and_membership

PDF = "pdf"

# What the status report shows: a write to any of these enqueues a refresh. (The people's names
# are left out: a log-in saves the user too, and a renamed person is rare enough to leave to the
# next download.)
SHOWN: tuple[type[models.Model], ...] = (
    Report,
    Section,
    Paragraph,
    Recommendation,
    EvidenceItem,
    EvidenceLink,
    Assessment,
    Comment,
    Responsibility,
    Lineage,
    Snapshot,
    Organization,
    Membership,
    ReviewCycle,
)
SHOWN_MANY_TO_MANY = (Assessment.cited_evidence.through, Responsibility.supporting.through)


def version(report: Report, language: str) -> str | None:
    """What a whole-report PDF of this report in this language, rendered now, is made from; None
    when the database keeps no data version to tell (then nothing is kept)."""
    fingerprint = fingerprint_and_membership(report.slug, None).fingerprint
    if fingerprint is None:
        return None
    parts = [code_version(), fingerprint, language, timezone.localdate().isoformat(), PDF]
    return sha256("\x1f".join(parts).encode()).hexdigest()


def whole_report_pdf(report: Report) -> CachedFile:
    """The report's whole status report as a PDF in the current language: the prepared file when
    it is current, else rendered now (and kept for the next download)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    current = version(report, language)
    prepared = PreparedDownload.objects.filter(
        report=report, language=language, extension=PDF, version=current
    ).first()
    if current is not None and prepared is not None:
        headers = {
            "Content-Type": publishing.MEDIA_TYPES[PDF],
            "Content-Disposition": content_disposition_header(True, prepared.file_name),
        }
        return CachedFile(bytes(prepared.body), headers)
    response = render(report)
    if current is not None:
        keep(report, language, current, response)
    return CachedFile.of(response)


def render(report: Report) -> HttpResponse:
    response = report_download(report, report.recommendations.all(), PDF, user=None)
    if not isinstance(response, HttpResponse):  # a PDF is answered whole, never streamed
        raise TypeError("the PDF came as a stream")
    return response


def keep(report: Report, language: str, made_from: str, response: HttpResponse) -> None:
    """Keep the file as the report's prepared PDF in this language (replacing the one before)."""
    values = {
        "version": made_from,
        "file_name": publishing.file_name(report.slug, "status", timezone.localdate(), PDF),
        "body": response.content,
        "prepared_at": timezone.now(),
    }
    # One statement whether or not there is one already (INSERT … ON CONFLICT DO UPDATE): two
    # processes keeping one at the same moment cannot fail, the later one stands.
    PreparedDownload.objects.bulk_create(
        [PreparedDownload(report=report, language=language, extension=PDF, **values)],
        update_conflicts=True,
        unique_fields=["report", "language", "extension"],
        update_fields=list(values),
    )


@task(takes_context=True)
def refresh_prepared_downloads(context: TaskContext) -> int:
    """Render again every prepared download that is no longer current; how many were. Nothing
    when a later write has queued another refresh, which will see its data too: the writes of
    a burst (PREPARED_DOWNLOADS_DELAY seconds apart or less) cost one render, after the last."""
    return 0 if _queued_after(context.task_result) else refresh()


def refresh() -> int:
    """Render again every prepared download that is no longer current; how many were."""
    rendered = 0
    for prepared in PreparedDownload.objects.select_related("report").defer("body"):
        if prepared.language not in dict(settings.LANGUAGES):
            prepared.delete()
            continue
        with translation.override(prepared.language):
            current = version(prepared.report, prepared.language)
            if current is None or current == prepared.version:
                continue
            keep(prepared.report, prepared.language, current, render(prepared.report))
            rendered += 1
    return rendered


def _queued_after(result: TaskResult) -> bool:
    """Whether another refresh was queued after this one and waits to run (in the database the
    tasks are kept in, django-tasks-db's)."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=refresh_prepared_downloads.module_path,
        status=TaskResultStatus.READY,
        enqueued_at__gt=result.enqueued_at,
    ).exists()


def _enqueue_refresh() -> None:
    delay = timedelta(seconds=settings.PREPARED_DOWNLOADS_DELAY)
    refresh_prepared_downloads.using(run_after=timezone.now() + delay).enqueue()


def _enqueue_after_commit(**kwargs: object) -> None:
    """Once per transaction: enqueue a refresh when it commits (at once, outside one). What a
    rolled-back transaction (or savepoint) registered is dropped with it, by Django."""
    if not settings.PREPARED_DOWNLOADS:
        return
    waiting = transaction.get_connection().run_on_commit
    if any(callback is _enqueue_refresh for _, callback, _ in waiting):
        return
    transaction.on_commit(_enqueue_refresh)


def connect() -> None:
    for model in SHOWN:
        post_save.connect(_enqueue_after_commit, sender=model, dispatch_uid=f"prepare-{model}")
        post_delete.connect(_enqueue_after_commit, sender=model, dispatch_uid=f"prepare-d-{model}")
    for through in SHOWN_MANY_TO_MANY:
        m2m_changed.connect(
            _enqueue_after_commit, sender=through, dispatch_uid=f"prepare-{through}"
        )
