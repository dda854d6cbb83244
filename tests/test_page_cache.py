"""Cached pages are never stale (recommendations/caching.py, recommendations/versions.py).

Every write a page would show — through the ORM, the admin, raw SQL or restore_data — changes
a data version in the database, so the next request renders afresh. Each case below first
caches the page (a hit proves it is cached), then writes, then asks again.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from recommendations.models import (
    Assessment,
    EvidenceItem,
    EvidenceLink,
    Organization,
    Recommendation,
    Report,
    Responsibility,
    ReviewCycle,
    Status,
)
from recommendations.rules.writing import add_comment

from .conftest import make_assessment

DASHBOARD = "/reports/norway-2024/"
RECOMMENDATION = "/reports/norway-2024/recommendations/1/"
JSON_EXPORT = "/reports/norway-2024/export.json"


def get(client, url: str, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.content[:500]
    return response


def cached(client, url: str) -> str:
    """The page, asked twice: the second answer must come from the cache."""
    get(client, url)
    response = get(client, url)
    assert response["X-Cache"] == "hit"
    return response.content.decode()


def page_text(client, url: str) -> str:
    return get(client, url).content.decode()


# --- one write of each kind a page shows -----------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A change a page shows: `orm` and `sql` make it; `shown` is the text that proves it."""

    name: str
    url: str
    orm: Callable[[dict], None]
    sql: str  # one statement; {ids} filled from the data
    shown: str


def recommendation(number: int = 1) -> Recommendation:
    return Recommendation.objects.get(report__slug="norway-2024", number=number)


def ids(people: dict) -> dict:
    first = recommendation(1)
    return {
        "recommendation": first.pk,
        "ngo_organization": people["ngo"].membership.organization_id,
        "gov_organization": people["gov"].membership.organization_id,
        "ngo_user": people["ngo"].pk,
        "report": first.report_id,
        "cycle": Assessment.objects.filter(recommendation=first).first().cycle_id,
        "evidence": unlinked_evidence().pk,
        "evidence_label": unlinked_evidence().label,
        "supporter": Organization.objects.get(name="Zebra directorate").pk,
    }


def unlinked_evidence() -> EvidenceItem:
    """A quote of the report that recommendation 1 does not show (yet)."""
    return EvidenceItem.objects.exclude(recommendations__number=1).order_by("pk").first()


def orm_assessment(people: dict) -> None:
    make_assessment(
        recommendation(),
        people["ngo"],
        status=Status.PARTIALLY_IMPLEMENTED,
        rationale="Zebra rationale",
    )


def orm_comment(people: dict) -> None:
    add_comment(recommendation(), author=people["ngo"], body="Zebra comment", evidence=None)


def orm_rename_organization(people: dict) -> None:
    Organization.objects.filter(pk=people["ngo"].membership.organization_id).update(
        name="Zebra", short_name="Zebra"
    )


def orm_rename_user(people: dict) -> None:
    user = people["ngo"]
    user.first_name = "Zebra"
    user.save()


def orm_short_title(people: dict) -> None:
    first = recommendation()
    first.short_title = "Zebra title"
    first.save()


def orm_responsibility(people: dict) -> None:
    Responsibility.objects.filter(recommendation=recommendation()).update(
        target_date=date(2031, 3, 17)
    )


def orm_supporting(people: dict) -> None:
    supporter = Organization.objects.get(name="Zebra directorate")
    Responsibility.objects.get(recommendation=recommendation()).supporting.add(supporter)


def orm_cycle_name(people: dict) -> None:
    ReviewCycle.objects.filter(pk=ids(people)["cycle"]).update(name="Zebra cycle")


def orm_evidence_link(people: dict) -> None:
    EvidenceLink.objects.create(
        recommendation=recommendation(), evidence=unlinked_evidence(), stance="GAP"
    )


WRITES = [
    Write(
        "assessment on the dashboard",
        DASHBOARD,
        orm_assessment,
        "INSERT INTO recommendations_assessment (recommendation_id, cycle_id, organization_id,"
        " author_id, status, rationale, created_at) VALUES ({recommendation}, {cycle},"
        " {ngo_organization}, {ngo_user}, 'PARTIALLY_IMPLEMENTED', 'Zebra rationale',"
        " CURRENT_TIMESTAMP)",
        "Partially implemented 1",
    ),
    Write(
        "assessment on its page",
        RECOMMENDATION,
        orm_assessment,
        "INSERT INTO recommendations_assessment (recommendation_id, cycle_id, organization_id,"
        " author_id, status, rationale, created_at) VALUES ({recommendation}, {cycle},"
        " {ngo_organization}, {ngo_user}, 'PARTIALLY_IMPLEMENTED', 'Zebra rationale',"
        " CURRENT_TIMESTAMP)",
        "Zebra rationale",
    ),
    Write(
        "comment",
        RECOMMENDATION,
        orm_comment,
        "INSERT INTO recommendations_comment (recommendation_id, organization_id, author_id,"
        " body, created_at) VALUES ({recommendation}, {ngo_organization}, {ngo_user},"
        " 'Zebra comment', CURRENT_TIMESTAMP)",
        "Zebra comment",
    ),
    Write(
        "organization name",
        DASHBOARD,
        orm_rename_organization,
        "UPDATE recommendations_organization SET name = 'Zebra', short_name = 'Zebra'"
        " WHERE id = {ngo_organization}",
        "Zebra",
    ),
    Write(
        "user name",
        RECOMMENDATION,
        orm_rename_user,
        "UPDATE auth_user SET first_name = 'Zebra' WHERE id = {ngo_user}",
        "Zebra",
    ),
    Write(
        "recommendation",
        DASHBOARD,
        orm_short_title,
        "UPDATE recommendations_recommendation SET short_title = 'Zebra title'"
        " WHERE id = {recommendation}",
        "Zebra title",
    ),
    Write(
        "responsibility",
        DASHBOARD,
        orm_responsibility,
        "UPDATE recommendations_responsibility SET target_date = '2031-03-17'"
        " WHERE recommendation_id = {recommendation}",
        "17 Mar 2031",
    ),
    Write(
        "supporting organization",
        RECOMMENDATION,
        orm_supporting,
        "INSERT INTO recommendations_responsibility_supporting (responsibility_id,"
        " organization_id) VALUES ({recommendation}, {supporter})",
        "Zebra directorate",
    ),
    Write(
        "cycle",
        RECOMMENDATION,
        orm_cycle_name,
        "UPDATE recommendations_reviewcycle SET name = 'Zebra cycle' WHERE id = {cycle}",
        "Zebra cycle",
    ),
    Write(
        "evidence link",
        RECOMMENDATION,
        orm_evidence_link,
        "INSERT INTO recommendations_evidencelink (evidence_id, recommendation_id, stance)"
        " VALUES ({evidence}, {recommendation}, 'GAP')",
        # the whole label: "E2" alone is part of "E21"
        '<span class="evidence-label">{evidence_label}</span>',
    ),
    Write(
        "report",
        DASHBOARD,
        lambda people: Report.objects.update(tier="TIER_2_WATCH_LIST"),
        "UPDATE recommendations_report SET tier = 'TIER_2_WATCH_LIST'",
        "Tier 2 Watch List",
    ),
]


@pytest.fixture
def assessed(people):
    """Positions and a lead on the page before the writes, and an organization to add."""
    # An hour ago: SQL's CURRENT_TIMESTAMP (whole seconds) must be later.
    earlier = timezone.now() - timedelta(hours=1)
    make_assessment(recommendation(), people["ngo"], status=Status.NO_PROGRESS, created_at=earlier)
    make_assessment(recommendation(), people["gov"], status=Status.IN_PROGRESS, created_at=earlier)
    Responsibility.objects.create(
        recommendation=recommendation(), lead=people["gov"].membership.organization
    )
    Organization.objects.create(
        name="Zebra directorate", short_name="Zebra", kind=Organization.Kind.GOVERNMENT
    )
    return people


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
@pytest.mark.django_db
def test_an_orm_write_is_shown_by_the_next_request(client, assessed, write):
    client.force_login(assessed["observer"])
    shown = write.shown.format(**ids(assessed))
    assert shown not in cached(client, write.url)
    write.orm(assessed)
    response = get(client, write.url)
    assert response["X-Cache"] == "miss"
    assert shown in response.content.decode()


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
@pytest.mark.django_db
def test_a_raw_sql_write_is_shown_by_the_next_request(client, assessed, write):
    client.force_login(assessed["observer"])
    shown = write.shown.format(**ids(assessed))
    assert shown not in cached(client, write.url)
    with connection.cursor() as cursor:
        cursor.execute(write.sql.format(**ids(assessed)))
    assert shown in page_text(client, write.url)


@pytest.mark.django_db
def test_a_new_release_does_not_serve_what_an_earlier_one_cached(client, assessed, monkeypatch):
    """A shared cache outlives a deployment: the code's digest is part of every key."""
    client.force_login(assessed["observer"])
    cached(client, DASHBOARD)
    monkeypatch.setattr("recommendations.caching.code_version", lambda: "the next release")
    assert get(client, DASHBOARD)["X-Cache"] == "miss"
    assert get(client, DASHBOARD)["X-Cache"] == "hit"


@pytest.mark.django_db
def test_the_header_is_the_viewers_and_a_message_is_shown_once(client, assessed):
    """The page around the cached content is kept per user; a page with a message waiting is
    rendered whole, so the message shows once and the next request has the kept header."""
    colleague = assessed["ngo_colleague"]
    client.force_login(assessed["ngo"])
    assert "<strong>Nina Ås</strong>" in cached(client, RECOMMENDATION)  # the header
    client.force_login(colleague)
    page = get(client, RECOMMENDATION)
    assert page["X-Cache"] == "hit"  # the same organization and role: the same content
    header = page.content.decode().split("</header>")[0]
    assert f"<strong>{colleague.username}</strong>" in header and "Nina" not in header
    current = Assessment.objects.filter(
        recommendation=recommendation(), organization=colleague.membership.organization
    ).first()
    response = client.post(
        RECOMMENDATION + "assess/",
        {"status": "IN_PROGRESS", "rationale": "Zebra reasons", "based_on": current.pk},
        follow=True,
    )
    shown = '<li class="message-success">Assessment recorded.</li>'
    assert shown in response.content.decode()
    assert "Zebra reasons" in response.content.decode()
    again = get(client, RECOMMENDATION)
    assert shown not in again.content.decode()
    assert "Zebra reasons" in again.content.decode()
    assert again["X-Cache"] == "hit"


@pytest.mark.django_db
def test_a_page_revalidated_after_following_shows_the_new_button(client, assessed):
    """Following is not a data version (the button is rendered for each request), so the
    ETag covers it: a browser that revalidates after following by HTMX gets the new page, not
    a 304 that keeps the old button."""
    client.force_login(assessed["observer"])  # their organization has no reason to follow it
    first = get(client, RECOMMENDATION)
    assert 'aria-pressed="false"' in first.content.decode()
    assert client.get(RECOMMENDATION, headers={"If-None-Match": first["ETag"]}).status_code == 304
    followed = client.post(
        RECOMMENDATION + "follow/", {"follow": "1"}, headers={"HX-Request": "true"}
    )
    assert 'aria-pressed="true"' in followed.content.decode()
    again = client.get(RECOMMENDATION, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert again["X-Cache"] == "hit"  # the shared content is still the cached one
    assert 'aria-pressed="true"' in again.content.decode()
    assert again["ETag"] != first["ETag"]
    unchanged = client.get(RECOMMENDATION, headers={"If-None-Match": again["ETag"]})
    assert unchanged.status_code == 304


# --- one render per page after a write ------------------------------------------------------


@pytest.fixture
def empty_cache():
    """The test's own cache (own_page_cache gives each test a fresh key prefix)."""
    from django.core.cache import cache

    return cache


def test_the_first_request_builds_stores_and_frees_the_lock(empty_cache):
    from recommendations.caching import build_once

    built, hit = build_once("page:one", lambda: "rendered")

    assert (built, hit) == ("rendered", False)
    assert empty_cache.get("page:one") == "rendered"
    assert empty_cache.get("page:one:building") is None


def test_a_request_waits_for_the_one_already_building_instead_of_building_too(empty_cache):
    import threading

    from recommendations.caching import build_once

    empty_cache.add("page:two:building", 1)  # another request is rendering the page
    builds = []

    def other_request_finishes() -> None:
        empty_cache.set("page:two", "rendered there")
        empty_cache.delete("page:two:building")

    timer = threading.Timer(0.05, other_request_finishes)
    timer.start()
    built, hit = build_once("page:two", lambda: builds.append(1) or "rendered here")
    timer.join()

    assert (built, hit) == ("rendered there", True)
    assert builds == []


def test_a_request_builds_itself_when_the_other_stored_nothing_or_died(empty_cache, monkeypatch):
    from recommendations import caching

    # The other request ended without storing (a refusal, an error): the lock is gone.
    built, hit = caching.build_once("page:three", lambda: "rendered here")
    assert (built, hit) == ("rendered here", False)

    # The other request died holding the lock: after the wait, build it here.
    monkeypatch.setattr(caching, "RENDER_WAIT_SECONDS", 0.05)
    empty_cache.add("page:four:building", 1)
    built, hit = caching.build_once("page:four", lambda: "rendered here")
    assert (built, hit) == ("rendered here", False)
    assert empty_cache.get("page:four") == "rendered here"


def test_a_builder_frees_only_its_own_lock_and_looks_again_before_building(empty_cache):
    from recommendations.caching import build_once

    def build_while_lock_is_retaken() -> str:
        # This render outlived its lock, and another request took it meanwhile.
        empty_cache.set("page:five:building", "someone else's")
        return "rendered here"

    assert build_once("page:five", build_while_lock_is_retaken) == ("rendered here", False)
    assert empty_cache.get("page:five:building") == "someone else's"

    # Stored by another request between the first look (serve's) and taking the lock.
    empty_cache.set("page:six", "rendered there")
    assert build_once("page:six", lambda: "rendered here") == ("rendered there", True)
