"""Query counts of every page and export stay the same when the data grows tenfold."""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations.models import Assessment, Comment, Organization, Recommendation, Status

REPORT = "benchland-000-2024"
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
                HTTP_HX_REQUEST="true",
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


def test_pages_and_exports_cost_the_same_queries_at_ten_times_the_data(client, db):
    call_command(
        "generate_dataset",
        "--reports=2",
        "--organizations=6",
        "--assessments=300",
        "--comments=60",
        "--long-history=60",
        verbosity=0,
    )
    user = get_user_model().objects.get(username="bench000")
    client.force_login(user)
    small = counts(client, user)
    before = Assessment.objects.count()
    grow(10)
    assert Assessment.objects.count() >= 10 * before
    assert counts(client, user) == small
