"""The whole report's PDF, made once for everyone and kept up to date after each write by a
background task (recommendations/prepared.py): served while it is what a render would give,
never after the data, the day, the language or the code changed."""

import datetime

import pytest
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from recommendations import prepared
from recommendations.models import PreparedDownload, Status

from .conftest import EXPORT, HTMX, make_assessment, rec_url

WHOLE = EXPORT.format("pdf")


@pytest.fixture
def renders(monkeypatch, settings):
    """The renders of the whole-report PDF, counted (the page cache is off: every download
    reaches the prepared file)."""
    settings.PAGE_CACHE = False
    made: list[int] = []
    render = prepared.render

    def counted(report):
        made.append(report.pk)
        return render(report)

    monkeypatch.setattr(prepared, "render", counted)
    return made


def pdf(client, user, query: str = "") -> bytes:
    client.force_login(user)
    response = client.get(WHOLE + query)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_one_copy_is_rendered_and_served_to_everyone_while_it_is_current(
    client, people, norway, renders
):
    first = pdf(client, people["observer"])
    assert renders == [norway.pk]
    kept = PreparedDownload.objects.get()
    assert (kept.report, kept.language, kept.extension) == (norway, "en-gb", "pdf")
    assert bytes(kept.body) == first

    assert pdf(client, people["ngo"]) == first  # another person: the same file, not rendered
    assert pdf(client, people["gov"], "?q=&status=") == first  # empty filters are no filters
    assert renders == [norway.pk]
    response = client.get(WHOLE)
    assert response["Content-Disposition"].startswith('attachment; filename="tip-norway-2024')

    pdf(client, people["gov"], "?pillar=PROTECTION")  # a selection is the person's own
    assert renders == [norway.pk]
    assert PreparedDownload.objects.count() == 1


def test_a_write_makes_the_copy_stale_and_the_next_download_renders_its_own(
    client, people, norway, renders
):
    before = pdf(client, people["observer"])
    make_assessment(
        norway.recommendations.get(number=3), people["gov"], Status.IMPLEMENTED, rationale="x"
    )
    after = pdf(client, people["observer"])
    assert renders == [norway.pk, norway.pk]
    assert after != before
    assert bytes(PreparedDownload.objects.get().body) == after
    pdf(client, people["ngo"])
    assert len(renders) == 2


def test_each_language_has_its_copy_and_the_day_is_part_of_its_version(
    client, people, norway, renders, monkeypatch
):
    english = pdf(client, people["observer"])
    client.cookies["django_language"] = "nb"
    norwegian = pdf(client, people["observer"])
    assert english != norwegian
    assert sorted(PreparedDownload.objects.values_list("language", flat=True)) == ["en-gb", "nb"]
    assert len(renders) == 2

    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    monkeypatch.setattr(prepared.timezone, "localdate", lambda: tomorrow)
    pdf(client, people["observer"])  # "overdue" and "now" may read otherwise tomorrow
    assert len(renders) == 3


@pytest.mark.django_db(transaction=True)  # the worker closes its connection as it goes
def test_a_write_enqueues_one_refresh_when_it_commits_and_the_worker_brings_the_copy_up_to_date(
    client, people, norway, renders, settings
):
    settings.PREPARED_DOWNLOADS = True
    pdf(client, people["observer"])
    stale_version = PreparedDownload.objects.get().version
    recommendation = norway.recommendations.get(number=3)

    with transaction.atomic():
        for status in (Status.IN_PROGRESS, Status.IMPLEMENTED):
            make_assessment(recommendation, people["gov"], status, rationale="worked")
        assert DBTaskResult.objects.count() == 0  # not before the transaction commits
    task = DBTaskResult.objects.get()  # one for the transaction, however many rows it wrote
    assert task.task_path == "recommendations.prepared.refresh_prepared_downloads"

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.return_value == 1
    kept = PreparedDownload.objects.get()
    assert kept.version != stale_version
    assert len(renders) == 2

    assert bytes(kept.body) == pdf(client, people["ngo"])  # served, not rendered
    assert len(renders) == 2

    # Run again with nothing changed, it renders nothing.
    assert prepared.refresh() == 0
    assert len(renders) == 2


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_writes_costs_one_render_after_the_last(
    client, people, norway, renders, settings
):
    settings.PREPARED_DOWNLOADS = True
    pdf(client, people["observer"])
    recommendation = norway.recommendations.get(number=4)
    for status in (Status.NO_PROGRESS, Status.IN_PROGRESS, Status.IMPLEMENTED):
        make_assessment(recommendation, people["ngo"], status)  # a transaction each
    assert DBTaskResult.objects.count() == 3

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    returned = list(
        DBTaskResult.objects.order_by("enqueued_at").values_list("return_value", flat=True)
    )
    assert returned == [0, 0, 1]  # the earlier two left it to the last
    assert len(renders) == 2
    assert PreparedDownload.objects.get().version == prepared.version(norway, "en-gb")


def test_a_refresh_waits_the_delay_after_its_write(
    people, norway, settings, django_capture_on_commit_callbacks
):
    settings.PREPARED_DOWNLOADS, settings.PREPARED_DOWNLOADS_DELAY = True, 30
    before = datetime.datetime.now(datetime.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        make_assessment(norway.recommendations.get(number=2), people["ngo"], Status.IN_PROGRESS)
    waits = DBTaskResult.objects.get().run_after - before
    assert datetime.timedelta(seconds=29) < waits < datetime.timedelta(seconds=40)


def test_a_rolled_back_write_enqueues_nothing_and_the_next_one_does(
    people, norway, settings, django_capture_on_commit_callbacks
):
    settings.PREPARED_DOWNLOADS = True
    recommendation = norway.recommendations.get(number=2)
    committed = django_capture_on_commit_callbacks(execute=True)
    with committed, pytest.raises(RuntimeError), transaction.atomic():
        make_assessment(recommendation, people["ngo"], Status.IN_PROGRESS)
        raise RuntimeError("the write fails")
    assert DBTaskResult.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        make_assessment(recommendation, people["ngo"], Status.IN_PROGRESS)
    assert DBTaskResult.objects.count() == 1


def test_nothing_is_enqueued_unless_prepared_downloads_are_on(
    people, norway, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_assessment(norway.recommendations.get(number=2), people["ngo"], Status.IN_PROGRESS)
    assert DBTaskResult.objects.count() == 0


def test_the_htmx_assessment_enqueues_its_refresh_in_one_query_more(
    client, people, settings, django_assert_num_queries, django_capture_on_commit_callbacks
):
    settings.PREPARED_DOWNLOADS = True
    client.force_login(people["ngo"])
    # As test_scaling.py pins it (12), and the task's INSERT once the transaction commits.
    counted = django_assert_num_queries(13, exact=True)
    with counted, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            rec_url("assess"), {"status": "IN_PROGRESS", "rationale": "queued"}, **HTMX
        )
    assert response.status_code == 200
    assert DBTaskResult.objects.count() == 1


def test_a_copy_in_a_language_no_longer_offered_is_dropped(people, norway, settings):
    PreparedDownload.objects.create(
        report=norway,
        language="de",
        extension="pdf",
        version="old",
        file_name="x.pdf",
        body=b"%PDF",
        prepared_at=datetime.datetime.now(datetime.UTC),
    )
    assert prepared.refresh() == 0
    assert not PreparedDownload.objects.exists()


def test_only_signed_in_people_get_the_copy(client, people, norway, renders):
    pdf(client, people["observer"])
    client.logout()
    response = client.get(WHOLE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
