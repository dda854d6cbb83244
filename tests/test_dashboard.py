"""The dashboard: every recommendation with the government's and the NGOs' positions."""

import pytest
from django.urls import reverse

from recommendations.models import Status

from .conftest import HTMX, make_assessment, rec_url


def test_root_redirects_to_latest_report(client, people):
    client.force_login(people["ngo"])
    assert client.get("/")["Location"] == "/reports/norway-2024/"


def test_dashboard_shows_positions_divergence_and_counts(client, people, norway):
    make_assessment(norway.recommendations.get(number=1), people["gov"], Status.IMPLEMENTED)
    make_assessment(norway.recommendations.get(number=1), people["ngo"], Status.NO_PROGRESS)
    client.force_login(people["observer"])
    response = client.get(reverse("dashboard", args=["norway-2024"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tier 2" in html and "Norway" in html
    rows = response.context["rows"]
    assert [r.number for r in rows] == list(range(1, 11))
    first = rows[0]
    assert first.government_position.status == Status.IMPLEMENTED
    assert first.ngo_position.author == people["ngo"]
    assert first.divergence == 3
    assert "3 steps apart" in html
    assert first.evidence_total == first.evidence_links.count()
    government_summary = dict(response.context["summary"])["Government"]
    assert {c.status: c.count for c in government_summary}["IMPLEMENTED"] == 1
    assert {c.status: c.count for c in government_summary}["NOT_ASSESSED"] == 9
    assert "<svg" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=NO_PROGRESS", [1]),
        ("status=NO_PROGRESS&kind=GOVERNMENT", []),
        ("status=IMPLEMENTED&kind=GOVERNMENT", [1]),
        ("kind=NGO", [1, 2]),
        ("divergent=true", [1]),
        ("pillar=CROSS_CUTTING", [9, 10]),
        ("q=police", [5, 6]),
        ("q=updated+NAP", [10]),
        ("status=NOT_ASSESSED&kind=NGO", [3, 4, 5, 6, 7, 8, 9, 10]),
    ],
)
def test_dashboard_filters_select_the_matching_recommendations(
    client, people, norway, query, expected
):
    make_assessment(norway.recommendations.get(number=1), people["gov"], Status.IMPLEMENTED)
    make_assessment(norway.recommendations.get(number=1), people["ngo"], Status.NO_PROGRESS)
    make_assessment(norway.recommendations.get(number=2), people["gov"], Status.IN_PROGRESS)
    make_assessment(norway.recommendations.get(number=2), people["other"], Status.IN_PROGRESS)
    client.force_login(people["ngo"])
    response = client.get(f"/reports/norway-2024/?{query}")
    assert [r.number for r in response.context["rows"]] == expected


def test_dashboard_htmx_returns_only_the_table(client, people):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/?pillar=PREVENTION", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="results"' in html
    assert response["Vary"].count("HX-Request")
    full = client.get("/reports/norway-2024/?pillar=PREVENTION").content.decode()
    assert "<html" in full and 'id="results"' in full and '<form class="filters"' in full


def test_htmx_history_restore_gets_the_full_page(client, people):
    client.force_login(people["ngo"])
    response = client.get(
        "/reports/norway-2024/?pillar=PROTECTION", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX
    )
    assert "<html" in response.content.decode()


def test_bad_filter_values_get_a_clear_400(client, people):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/?status=DONE&pillar=NOPE")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters could not be used" in html and "Select a valid choice" in html


def test_unknown_report_and_recommendation_are_404(client, people):
    client.force_login(people["ngo"])
    assert client.get("/reports/sweden-2024/").status_code == 404
    assert client.get(rec_url("recommendation", 11)).status_code == 404
    assert client.get("/reports/sweden-2024/source/").status_code == 404
