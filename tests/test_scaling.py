"""Query counts: every page, export and snapshot page costs the same number of queries however
much data there is, and the busiest pages are pinned to an exact count."""

import random
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations import publishing
from recommendations.models import (
    Assessment,
    Comment,
    Organization,
    Recommendation,
    Status,
)
from recommendations.publishing.pdf import status_report_html

from .conftest import EXPORT, HTMX, assess_all, download, make_assessment, publish, rec_url


@pytest.fixture
def pdf_without_layout(monkeypatch):
    """Query counts only: the PDF export's queries are all made building its document (a plain
    dict) before render_pdf() lays it out with WeasyPrint, which reads no database and took most
    of these tests' time. Here the export returns the HTML render_pdf() would lay out; the PDF
    itself is tested in test_pdf.py and test_exports.py."""
    monkeypatch.setitem(
        publishing.RENDERERS, "pdf", lambda document: status_report_html(document).encode()
    )


# --- the generated data set, grown tenfold ---------------------------------------------------

REPORT = "benchland-000-2024"  # the report with the long history
PAGES = [
    "/ping/",
    f"/reports/{REPORT}/",
    f"/reports/{REPORT}/?status=IN_PROGRESS&kind=NGO",
    f"/reports/{REPORT}/recommendations/1/",
    f"/reports/{REPORT}/recommendations/1/?history_page=2",
    f"/reports/{REPORT}/source/",
    f"/reports/{REPORT}/export.csv",
    f"/reports/{REPORT}/export.csv?table=history",
    f"/reports/{REPORT}/export.xlsx",
    f"/reports/{REPORT}/export.json",
    f"/reports/{REPORT}/export.pdf",
]


def counts(client, user) -> dict[str, int]:
    result = {}
    for path in PAGES:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200, path
        result[path] = len(queries)
    # An HTMX assessment, based on the organization's current position.
    recommendation = Recommendation.objects.get(report__slug=REPORT, number=2)
    for attempt in range(2):  # the first makes sure a current position exists
        current = (
            recommendation.assessments.filter(organization=user.membership.organization)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)
            .first()
        )
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                f"/reports/{REPORT}/recommendations/2/assess/",
                {
                    "status": "IN_PROGRESS",
                    "rationale": f"scaling {attempt}",
                    "based_on": current or "",
                },
                **HTMX,
            )
        assert response.status_code == 200
    result["assess"] = len(queries)
    return result


def grow(factor: int) -> None:
    """Add (factor - 1) times the assessments and comments already there."""
    rng = random.Random(1)
    assessments = list(Assessment.objects.all())
    organizations = list(Organization.objects.all())
    authors = {o.pk: o.memberships.first().user for o in organizations}
    now = timezone.now()
    Assessment.objects.bulk_create(
        Assessment(
            recommendation_id=a.recommendation_id,
            organization_id=a.organization_id,
            author=authors[a.organization_id],
            cycle_id=a.cycle_id,
            status=rng.choice(Status.values),
            rationale="grown",
            created_at=now - timedelta(days=rng.random() * 300),
        )
        for _ in range(factor - 1)
        for a in assessments
    )
    comments = list(Comment.objects.all())
    Comment.objects.bulk_create(
        Comment(
            recommendation_id=c.recommendation_id,
            organization_id=c.organization_id,
            author_id=c.author_id,
            body="grown",
        )
        for _ in range(factor - 1)
        for c in comments
    )


def test_pages_and_exports_cost_the_same_queries_at_ten_times_the_data(
    client, db, pdf_without_layout
):
    call_command(
        "generate_dataset",
        "--reports=2",
        "--organizations=6",
        "--assessments=300",
        "--comments=60",
        "--long-history=60",
        verbosity=0,
    )
    # Reviewers write only on their country's reports: these assess the long-history report's.
    Organization.objects.update(country="Benchland 000")
    user = get_user_model().objects.get(username="bench000")
    client.force_login(user)
    small = counts(client, user)
    before = Assessment.objects.count()
    grow(10)
    assert Assessment.objects.count() >= 10 * before
    assert counts(client, user) == small


# --- the canonical fixtures, grown by assessments and comments -------------------------------


def fill(norway, people, per_recommendation: int) -> None:
    now = timezone.now()
    reviewers = [people["gov"], people["ngo"], people["other"]]
    for recommendation in norway.recommendations.all():
        evidence = list(recommendation.evidence_items.all()[:2])
        for i in range(per_recommendation):
            author = reviewers[i % 3]
            a = make_assessment(
                recommendation,
                author,
                Status.values[i % 5],
                created_at=now - timedelta(minutes=i),
            )
            a.cited_evidence.set(evidence)
            Comment.objects.create(
                recommendation=recommendation,
                organization=author.membership.organization,
                author=author,
                body=f"Comment {i}",
                evidence=evidence[0],
            )


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path",
    [
        "/reports/norway-2024/",
        "/reports/norway-2024/?status=IN_PROGRESS&divergent=true",
        "/reports/norway-2024/recommendations/1/",
        "/reports/norway-2024/source/",
    ],
)
def test_page_queries_do_not_grow_with_assessments_and_comments(client, people, norway, path):
    client.force_login(people["ngo"])
    fill(norway, people, 3)
    small = count_queries(client, path)
    fill(norway, people, 12)
    assert count_queries(client, path) == small


def test_dashboard_and_recommendation_page_run_a_pinned_number_of_queries(
    client, people, norway, django_assert_num_queries
):
    fill(norway, people, 6)
    client.force_login(people["ngo"])
    # These pages only read: no transaction of their own (non_atomic_requests), so no
    # SAVEPOINT and RELEASE inside the test's transaction.
    # A miss: session, user, the data versions with the user's membership
    # (recommendations/caching.py), report, review cycle, rows, every organization's position
    # now and when the cycle began (attach_positions: one set-based query each), the matrix's
    # organizations, recommendation count, the past cycles of the "as of" control, the other
    # years of the report's country, the lineage of the country's recommendations
    with django_assert_num_queries(13):
        assert client.get("/reports/norway-2024/")["X-Cache"] == "miss"
    # A hit: session, user, the data versions with the membership
    with django_assert_num_queries(3):
        assert client.get("/reports/norway-2024/")["X-Cache"] == "hit"
    # A miss: session, user, the data versions with the membership, recommendation, every
    # organization's position, the citable evidence (the assessment form's choices and what
    # the history cites), history page with its length, paragraphs, evidence links, comments,
    # evidence choices of the comment form, the timeline's changes and its review cycles, the
    # lineage of the country's recommendations, why the organization follows it, whether the
    # user chose to
    with django_assert_num_queries(16):
        assert client.get("/reports/norway-2024/recommendations/1/")["X-Cache"] == "miss"
    # A hit: session, user, the data versions with the membership, whether the user follows it
    with django_assert_num_queries(4):
        assert client.get("/reports/norway-2024/recommendations/1/")["X-Cache"] == "hit"


@pytest.mark.parametrize(
    "url",
    [EXPORT.format(e) for e in ("csv", "xlsx", "pdf", "json")]
    + [EXPORT.format("csv") + "?table=history"],
)
def test_export_queries_do_not_grow_with_assessments(client, people, url, pdf_without_layout):
    client.force_login(people["observer"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            download(client, url)
        return len(captured)

    assess_all(people, rounds=1)
    few = queries()
    assess_all(people, rounds=4)
    assert queries() == few


def test_snapshot_pages_queries_do_not_grow_with_assessments_and_snapshots(client, people):
    assess_all(people)
    first = publish(client, people["coordinator"], "One")
    publish(client, people["coordinator"], "Two")
    client.force_login(people["observer"])
    with CaptureQueriesContext(connection) as few:
        client.get("/reports/norway-2024/snapshots/")
        client.get(first.get_absolute_url())
    assess_all(people, rounds=3)
    for n in range(3):
        publish(client, people["coordinator"], f"More {n}")
    client.force_login(people["observer"])
    with CaptureQueriesContext(connection) as many:
        client.get("/reports/norway-2024/snapshots/")
        client.get(first.get_absolute_url())
    assert len(many) == len(few)


def test_the_htmx_assessment_runs_a_pinned_number_of_queries(
    client, people, norway, django_assert_num_queries
):
    fill(norway, people, 6)
    user = people["ngo"]
    client.force_login(user)
    recommendation = norway.recommendations.get(number=1)
    current = recommendation.assessments.filter(organization=user.membership.organization)
    based_on = current.order_by("-created_at", "-pk").values_list("pk", flat=True).first()
    # Session, user; the request's transaction opens (SAVEPOINT inside the test's, BEGIN in
    # production), recommendation, membership, the review cycle of today, the row lock, every
    # organization's position (the writer's is the current one; the answer shows them all),
    # the INSERT; then the citable evidence and the history page; the transaction ends. The
    # timeline asks for itself afterwards (HX-Trigger), as a page of its own the cache keeps.
    with django_assert_num_queries(12, exact=True):
        response = client.post(
            rec_url("assess"),
            {"status": "IN_PROGRESS", "rationale": "pinned", "based_on": based_on},
            **HTMX,
        )
    assert response.status_code == 200
    assert "pinned" in response.content.decode()
