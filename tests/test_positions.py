"""Every organization's position: the matrix, an order-independent divergence, "as of",
the change since the cycle began, responsibilities, target dates and "overdue", and the
JSON document (version 2) that carries them."""

import json
from datetime import date, timedelta
from itertools import permutations

import pytest
from django.db import transaction
from django.utils import timezone

from recommendations.filters import end_of_day, start_of_day
from recommendations.models import Organization, Responsibility, ReviewCycle, Status
from recommendations.publishing.document import upgraded

from .conftest import EXPORT, make_assessment, make_organization, make_user


@pytest.fixture
def three_ngos(people):
    """A third NGO with a reviewer, beside people's two."""
    shelter = make_organization("Krisesenteret")
    return {**people, "shelter": make_user("shelter", shelter)}


POSITIONS = [("gov", Status.PARTIALLY_IMPLEMENTED), ("ngo", Status.NO_PROGRESS)]
POSITIONS += [("other", Status.IN_PROGRESS), ("shelter", Status.REGRESSED)]


def dashboard_view(client, people, number: int):
    client.force_login(people["observer"])
    response = client.get("/reports/norway-2024/")
    row = next(r for r in response.context["rows"] if r.number == number)
    cells = {
        cell.organization.name: cell.position.status if cell.position else None
        for group in row.matrix.cells
        for cell in group
    }
    return row.divergence, cells, response


@pytest.mark.parametrize("order", list(permutations(range(4)))[::5])
def test_every_position_shows_whatever_the_order_of_writes(client, three_ngos, norway, order):
    recommendation = norway.recommendations.get(number=1)
    start = timezone.now() - timedelta(hours=1)
    for step, index in enumerate(order):
        who, status = POSITIONS[index]
        make_assessment(
            recommendation, three_ngos[who], status, created_at=start + timedelta(minutes=step)
        )
    divergence, cells, response = dashboard_view(client, three_ngos, 1)
    assert cells == {
        "Justisdepartementet": Status.PARTIALLY_IMPLEMENTED,
        "Nettverk mot menneskehandel": Status.NO_PROGRESS,
        "Migrantrådet": Status.IN_PROGRESS,
        "Krisesenteret": Status.REGRESSED,
    }
    # Partially implemented (3) against the lowest NGO position, Regressed (0).
    assert divergence == 3
    html = response.content.decode()
    # By side: how many assessed, and each NGO a chip saying its position.
    assert "3 of 3 assessed" in html
    assert 'title="Krisesenteret: Regressed, ' in html
    # A column per organization: the summary counts each status too.
    wide = client.get("/reports/norway-2024/?columns=organizations").content.decode()
    assert "3 of 3 assessed: 1 Regressed · 1 No progress · 1 In progress" in wide
    divergent = client.get("/reports/norway-2024/?divergent=true").context["rows"]
    assert [r.number for r in divergent] == [1]
    document = json.loads(client.get(EXPORT.format("json")).content)
    assert document["recommendations"][0]["divergence"] == 3
    assert len(document["recommendations"][0]["positions"]) == 4


def test_divergence_is_the_largest_gap_between_any_government_and_any_ngo_position(
    client, three_ngos, norway
):
    second_ministry = make_organization("Arbeidsdepartementet", kind=Organization.Kind.GOVERNMENT)
    labour = make_user("labour", second_ministry)
    recommendation = norway.recommendations.get(number=2)
    make_assessment(recommendation, three_ngos["gov"], Status.NO_PROGRESS)
    make_assessment(recommendation, labour, Status.IMPLEMENTED)
    make_assessment(recommendation, three_ngos["ngo"], Status.IN_PROGRESS)
    make_assessment(recommendation, three_ngos["other"], Status.NO_PROGRESS)
    divergence, _, response = dashboard_view(client, three_ngos, 2)
    assert divergence == 3  # Implemented (labour) − No progress (an NGO)
    row = next(r for r in response.context["rows"] if r.number == 2)
    assert (row.matrix.sides[0].lowest, row.matrix.sides[0].highest) == (
        Status.NO_PROGRESS,
        Status.IMPLEMENTED,
    )


def test_a_status_filter_finds_any_organization_holding_it(client, three_ngos, norway):
    recommendation = norway.recommendations.get
    make_assessment(recommendation(number=1), three_ngos["ngo"], Status.NO_PROGRESS)
    make_assessment(recommendation(number=1), three_ngos["other"], Status.IN_PROGRESS)
    make_assessment(recommendation(number=2), three_ngos["shelter"], Status.NO_PROGRESS)
    client.force_login(three_ngos["ngo"])

    def numbers(query: str) -> list[int]:
        return [r.number for r in client.get(f"/reports/norway-2024/?{query}").context["rows"]]

    assert numbers("status=NO_PROGRESS&kind=NGO") == [1, 2]
    assert numbers("status=IN_PROGRESS") == [1]
    assert numbers("status=NO_PROGRESS&kind=GOVERNMENT") == []
    assert numbers("status=NOT_ASSESSED&kind=NGO") == list(range(3, 11))


def test_as_of_shows_positions_as_they_stood_then(client, people, norway, cycle):
    recommendation = norway.recommendations.get(number=1)
    make_assessment(
        recommendation, people["gov"], Status.NO_PROGRESS, created_at=timezone.now() - timedelta(10)
    )
    make_assessment(recommendation, people["gov"], Status.IMPLEMENTED)
    make_assessment(recommendation, people["ngo"], Status.NO_PROGRESS)
    client.force_login(people["ngo"])
    day = (timezone.localdate() - timedelta(days=5)).isoformat()
    response = client.get(f"/reports/norway-2024/?as_of={day}")
    row = response.context["rows"][0]
    assert [a.status for a in row.standing.values()] == [Status.NO_PROGRESS]
    assert row.divergence is None
    assert "positions as they stood at the end of" in response.content.decode()
    # Exports take the same as_of: positions, history and the document's header.
    document = json.loads(client.get(EXPORT.format("json") + f"?as_of={day}").content)
    assert document["as_of"] == day
    assert [p["status"] for p in document["recommendations"][0]["positions"]] == ["NO_PROGRESS"]
    assert len(document["assessments"]) == 1
    history = client.get(EXPORT.format("csv") + f"?as_of={day}&table=history")
    assert b"".join(history.streaming_content).decode("utf-8-sig").count("\n") == 2
    now = json.loads(client.get(EXPORT.format("json")).content)
    assert now["as_of"] is None and len(now["recommendations"][0]["positions"]) == 2


def test_as_of_a_past_cycle_is_its_last_day(client, people, norway):
    ended = ReviewCycle.objects.filter(ends_on__lt=timezone.localdate()).order_by("-ends_on")
    cycle = ended.first()
    recommendation = norway.recommendations.get(number=1)
    last_week = start_of_day(cycle.ends_on - timedelta(days=7))
    make_assessment(recommendation, people["gov"], Status.IN_PROGRESS, created_at=last_week)
    make_assessment(
        recommendation, people["gov"], Status.IMPLEMENTED, created_at=end_of_day(cycle.ends_on)
    )
    client.force_login(people["ngo"])
    response = client.get(f"/reports/norway-2024/?cycle={cycle.pk}")
    assert response.context["day"] == cycle.ends_on
    row = response.context["rows"][0]
    assert [a.status for a in row.standing.values()] == [Status.IN_PROGRESS]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("as_of=2999-01-01", "cannot be in the future"),
        ("as_of=2025-13-01", "Enter a valid date"),
        ("as_of=2025-01-01&cycle=1", "not both"),
        ("cycle=3", "Select a valid choice"),  # the current cycle has not ended
    ],
)
def test_a_bad_as_of_is_a_form_error(client, people, query, message):
    client.force_login(people["ngo"])
    response = client.get(f"/reports/norway-2024/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert client.get(EXPORT.format("csv") + f"?{query}").status_code == 400


def test_the_change_since_the_cycle_began_counts_moves_up_and_down(client, people, norway):
    before = start_of_day(ReviewCycle.containing().starts_on - timedelta(days=3))
    recommendation = norway.recommendations.get(number=1)
    make_assessment(recommendation, people["gov"], Status.IN_PROGRESS, created_at=before)
    make_assessment(recommendation, people["ngo"], Status.IN_PROGRESS, created_at=before)
    make_assessment(recommendation, people["gov"], Status.IMPLEMENTED)
    make_assessment(recommendation, people["ngo"], Status.NO_PROGRESS)
    make_assessment(recommendation, people["other"], Status.NO_PROGRESS)
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/")
    matrix = response.context["rows"][0].matrix
    assert (matrix.moved_up, matrix.moved_down, matrix.newly_assessed) == (1, 1, 1)
    html = response.content.decode()
    assert "▲ 1 up" in html and "▼ 1 down" in html and "1 new" in html
    document = json.loads(client.get(EXPORT.format("json")).content)
    assert document["recommendations"][0]["change_since_cycle_start"] == {
        "up": 1,
        "down": 1,
        "new": 1,
    }


@pytest.fixture
def ministries(people):
    labour = make_organization("Arbeidsdepartementet", kind=Organization.Kind.GOVERNMENT)
    return {"justice": people["gov"].membership.organization, "labour": labour}


def test_overdue_means_a_passed_target_date_without_the_leads_implemented(
    client, people, norway, ministries
):
    first, second, third = norway.recommendations.order_by("number")[:3]
    yesterday = timezone.localdate() - timedelta(days=1)
    for recommendation in (first, second, third):
        responsibility = Responsibility.objects.create(
            recommendation=recommendation, lead=ministries["justice"], target_date=yesterday
        )
    responsibility.target_date = timezone.localdate() + timedelta(days=30)
    responsibility.save()  # the third is not due yet
    make_assessment(second, people["gov"], Status.IMPLEMENTED)  # the lead says done
    make_assessment(first, people["ngo"], Status.IMPLEMENTED)  # an NGO saying so is not enough
    client.force_login(people["observer"])
    response = client.get("/reports/norway-2024/?overdue=true")
    assert [r.number for r in response.context["rows"]] == [1]
    assert "Overdue" in response.content.decode()
    page = client.get("/reports/norway-2024/recommendations/1/").content.decode()
    assert "Justisdepartementet" in page and "Overdue" in page
    assert "the target date has passed and the lead has not yet assessed it as implemented" in page
    assert "Overdue" not in client.get("/reports/norway-2024/recommendations/2/").content.decode()
    document = json.loads(client.get(EXPORT.format("json")).content)
    records = {r["number"]: r for r in document["recommendations"]}
    assert records[1]["overdue"] and not records[2]["overdue"] and not records[3]["overdue"]
    assert records[1]["responsible"] == {"lead": "Justisdepartementet", "supporting": []}
    assert records[1]["target_date"] == yesterday.isoformat()
    csv = client.get(EXPORT.format("csv")).content.decode("utf-8-sig")
    assert "Justisdepartementet" in csv.splitlines()[1] and ",yes," in csv.splitlines()[1]
    # As of a day before the target date, nothing was overdue yet.
    earlier = (yesterday - timedelta(days=2)).isoformat()
    assert not client.get(f"/reports/norway-2024/?overdue=true&as_of={earlier}").context["rows"]


def test_my_organization_lists_what_it_leads_supports_or_has_not_assessed(
    client, people, norway, ministries
):
    recommendations = list(norway.recommendations.order_by("number"))
    Responsibility.objects.create(recommendation=recommendations[0], lead=ministries["justice"])
    supported = Responsibility.objects.create(
        recommendation=recommendations[1], lead=ministries["labour"]
    )
    supported.supporting.add(ministries["justice"])
    for recommendation in recommendations[:5]:
        make_assessment(recommendation, people["gov"], Status.IN_PROGRESS)
    client.force_login(people["gov"])
    rows = client.get("/reports/norway-2024/?mine=true").context["rows"]
    assert [r.number for r in rows] == [1, 2, 6, 7, 8, 9, 10]
    # Someone without an organization has no such filter.
    client.force_login(people["staff"])
    assert "mine" not in client.get("/reports/norway-2024/").context["filterset"].filters


def test_only_government_bodies_are_responsible(norway, people, ministries):
    from django.core.exceptions import ValidationError

    responsibility = Responsibility(
        recommendation=norway.recommendations.first(), lead=people["ngo"].membership.organization
    )
    with pytest.raises(ValidationError, match="government body"):
        responsibility.full_clean()
    responsibility.lead = ministries["justice"]
    responsibility.save()
    with pytest.raises(ValidationError, match="Only government bodies"), transaction.atomic():
        responsibility.supporting.add(people["ngo"].membership.organization)
    with pytest.raises(ValidationError, match="cannot also be"), transaction.atomic():
        responsibility.supporting.add(ministries["justice"])
    assert not responsibility.supporting.exists()


def test_coordinators_set_responsibility_in_admin(client, people, norway, ministries):
    recommendation = norway.recommendations.get(number=1)
    client.force_login(people["coordinator"])
    url = f"/admin/recommendations/recommendation/{recommendation.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = {
        "short_title": recommendation.short_title,
        "pillar": recommendation.pillar,
        "responsibility-TOTAL_FORMS": "1",
        "responsibility-INITIAL_FORMS": "0",
        "responsibility-MIN_NUM_FORMS": "0",
        "responsibility-MAX_NUM_FORMS": "1",
        "responsibility-0-lead": str(ministries["justice"].pk),
        "responsibility-0-supporting": [
            str(ministries["labour"].pk),
            str(ministries["justice"].pk),
        ],
        "responsibility-0-target_date": "2027-03-31",
        "evidence_links-TOTAL_FORMS": "0",
        "evidence_links-INITIAL_FORMS": "0",
        "evidence_links-MIN_NUM_FORMS": "0",
        "evidence_links-MAX_NUM_FORMS": "1000",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "cannot also be supporting" in refused.content.decode()
    assert not Responsibility.objects.exists()
    form["responsibility-0-supporting"] = [str(ministries["labour"].pk)]
    assert client.post(url, form).status_code == 302
    responsibility = Responsibility.objects.get()
    assert responsibility.lead == ministries["justice"]
    assert responsibility.target_date == date(2027, 3, 31)
    assert responsibility.supporting_names() == ["Arbeidsdepartementet"]


def test_the_json_document_is_version_2_with_every_position(client, people, norway):
    make_assessment(norway.recommendations.get(number=1), people["gov"], Status.IN_PROGRESS)
    client.force_login(people["ngo"])
    document = json.loads(client.get(EXPORT.format("json")).content)
    assert document["version"] == 2
    assert document["as_of"] is None
    assert [o["name"] for o in document["organizations"]] == [
        "Justisdepartementet",
        "Migrantrådet",
        "Nettverk mot menneskehandel",
    ]
    first = document["recommendations"][0]
    assert set(first) >= {
        "positions",
        "groups",
        "divergence",
        "responsible",
        "target_date",
        "overdue",
        "change_since_cycle_start",
    }
    assert "government" not in first and "ngo" not in first
    assert first["groups"]["GOVERNMENT"] == {
        "assessed": 1,
        "organizations": 1,
        "lowest": "IN_PROGRESS",
        "highest": "IN_PROGRESS",
        "counts": {"IN_PROGRESS": 1},
    }


def test_version_1_snapshots_still_render(client, people, norway):
    """A snapshot published before version 2 keeps its stored JSON; the renderers read it
    through upgraded()."""
    old = {
        "version": 1,
        "report": {},
        "recommendations": [
            {
                "number": 1,
                "divergence": 2,
                "positions": [
                    {
                        "organization": "A",
                        "organization_kind": "GOVERNMENT",
                        "status": "IMPLEMENTED",
                    },
                    {"organization": "B", "organization_kind": "NGO", "status": "IN_PROGRESS"},
                ],
            }
        ],
    }
    shaped = upgraded(old)
    assert shaped["recommendations"][0]["divergence"] == 2
    assert shaped["recommendations"][0]["groups"]["NGO"]["lowest"] == "IN_PROGRESS"
    assert shaped["recommendations"][0]["responsible"] == {"lead": None, "supporting": []}
    assert old["recommendations"][0].get("groups") is None  # the stored document is untouched
