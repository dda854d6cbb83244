"""The dashboard: every recommendation with the government's and the NGOs' positions."""

import re

import pytest
from django.urls import reverse

from recommendations.models import Report, Status, sha256_hex

from .conftest import HTMX, make_assessment, make_organization, make_user, rec_url


def test_root_redirects_to_latest_report(client, people):
    client.force_login(people["ngo"])
    assert client.get("/")["Location"] == "/reports/norway-2024/"


def test_root_takes_others_to_the_reports_index(client, people, norway):
    client.force_login(people["coordinator"])  # no organization
    assert client.get("/")["Location"] == "/reports/"
    swede = make_user("swede", make_organization("Svenska nätverket", country="Sweden"))
    client.force_login(swede)  # no Swedish report yet
    assert client.get("/")["Location"] == "/reports/"


def test_reports_index_lists_every_report_by_country_newest_first(client, people, norway):
    older = Report.objects.create(
        slug="norway-2023",
        title="Norway 2023",
        country="Norway",
        year=2023,
        tier=Report.Tier.TIER_1,
        source_text="x",
        source_sha256=sha256_hex("x"),
        source_name="test",
    )
    client.force_login(people["ngo"])
    page = client.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("/reports/norway-2024/") < html.index("/reports/norway-2023/")
    assert "(your organization&#x27;s country)" in html or "(your organization's country)" in html
    # Each report links the other years of its country.
    dashboard = client.get("/reports/norway-2024/").content.decode()
    assert f'href="/reports/{older.slug}/">2023</a>' in dashboard


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
    government, ngos = first.matrix.sides[:2]
    assert (government.lowest, government.assessed) == (Status.IMPLEMENTED, 1)
    assert (ngos.lowest, ngos.assessed, ngos.organizations) == (Status.NO_PROGRESS, 1, 2)
    assert first.standing[people["ngo"].membership.organization_id].author == people["ngo"]
    assert first.divergence == 3
    assert "3 steps apart" in html
    assert first.evidence_total == first.evidence_links.count()
    government_summary = dict(response.context["summary"])["Government"]
    assert {c.status: c.count for c in government_summary}["IMPLEMENTED"] == 1
    assert {c.status: c.count for c in government_summary}["NOT_ASSESSED"] == 9
    # Every organization with reviewers is a column of the matrix, grouped by kind.
    assert [(g.kind, [o.name for o in g.organizations]) for g in response.context["groups"]] == [
        ("GOVERNMENT", ["Justisdepartementet"]),
        ("NGO", ["Migrantrådet", "Nettverk mot menneskehandel"]),
    ]
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


@pytest.fixture
def sortable(people, norway):
    """Recommendation 1: government Implemented, NGO No progress; 2: government In progress;
    3: NGO Regressed; 4: government Regressed; the rest not assessed."""
    recommendation = norway.recommendations.get
    make_assessment(recommendation(number=1), people["gov"], Status.IMPLEMENTED)
    make_assessment(recommendation(number=1), people["ngo"], Status.NO_PROGRESS)
    make_assessment(recommendation(number=2), people["gov"], Status.IN_PROGRESS)
    make_assessment(recommendation(number=3), people["ngo"], Status.REGRESSED)
    make_assessment(recommendation(number=4), people["gov"], Status.REGRESSED)
    return norway


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("number", [1, 2, 3, 4]),
        ("-number", [10, 9, 8, 7]),
        ("government", [4, 2, 1, 3]),  # worst first, not assessed last
        ("-government", [1, 2, 4, 3]),  # best first, not assessed still last
        ("ngo", [3, 1, 2, 4]),
        ("-divergence", [1, 2, 3, 4]),
        ("pillar", [1, 5, 6, 2]),  # in the report's order: prosecution, protection, …
        ("-pillar", [9, 10, 2, 3]),
    ],
)
def test_dashboard_sorts_in_the_database(client, people, sortable, sort, first):
    client.force_login(people["ngo"])
    response = client.get(f"/reports/norway-2024/?sort={sort}")
    assert response.status_code == 200
    assert [r.number for r in response.context["rows"]][:4] == first


def test_dashboard_sort_keeps_the_filters_and_marks_the_sorted_header(client, people, sortable):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/?pillar=PROSECUTION&sort=-government", **HTMX)
    html = response.content.decode()
    assert [r.number for r in response.context["rows"]] == [1, 5, 6]
    assert 'aria-sort="descending"' in html and html.count("aria-sort=") == 1
    # The header of the sorted column turns the order round; the others keep the filters.
    assert 'href="/reports/norway-2024/?pillar=PROSECUTION&amp;sort=government"' in html
    assert 'hx-get="/reports/norway-2024/?pillar=PROSECUTION&amp;sort=-divergence"' in html
    # The filter form carries the order on to the next filter change.
    assert '<input type="hidden" name="sort" value="-government" form="filters">' in html
    # The exports take the filters only.
    assert 'export.csv?pillar=PROSECUTION"' in html
    unsorted = client.get("/reports/norway-2024/").content.decode()
    assert '<th scope="col" aria-sort="ascending" class="num">' in unsorted
    # A column per organization keeps the order and the filters in its links, and says so.
    wide = client.get("/reports/norway-2024/?pillar=PROSECUTION&columns=organizations&sort=-ngo")
    html = wide.content.decode()
    assert '<th scope="col" class="org">' in html
    assert (
        'href="/reports/norway-2024/?pillar=PROSECUTION&amp;columns=organizations&amp;sort=ngo"'
        in html
    )
    assert 'export.csv?pillar=PROSECUTION"' in html  # the layout is not a filter


def test_an_unknown_sort_is_a_form_error(client, people):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/?sort=text")
    assert response.status_code == 400
    assert "Sort: Select a valid choice" in response.content.decode()


def test_column_headers_are_spelled_out_and_the_count_agrees(client, people, sortable):
    client.force_login(people["ngo"])
    html = client.get("/reports/norway-2024/?q=children").content.decode()
    assert "Evidence items" in html and ">Comments<" in html
    assert "Evid." not in html and "Com." not in html
    assert "1 recommendation matches the filters." in html
    html = client.get("/reports/norway-2024/?q=police").content.decode()
    assert "2 recommendations match the filters." in html


def test_empty_parameters_are_dropped_from_the_address(client, people):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/?q=&status=&pillar=PREVENTION&kind=")
    assert response.status_code == 302
    assert response["Location"] == "/reports/norway-2024/?pillar=PREVENTION"
    response = client.get("/reports/norway-2024/?q=&status=")
    assert response["Location"] == "/reports/norway-2024/"
    # Through HTMX the results come back and the address pushed is the clean one.
    response = client.get("/reports/norway-2024/?q=&pillar=PREVENTION&divergent=", **HTMX)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/reports/norway-2024/?pillar=PREVENTION"


def test_an_invalid_filter_keeps_the_chart_of_the_whole_report(client, people, sortable):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/?status=DONE")
    assert response.status_code == 400
    government = {c.status: c.count for c in dict(response.context["summary"])["Government"]}
    assert government["IMPLEMENTED"] == 1 and government["NOT_ASSESSED"] == 7
    assert "Select a valid choice" in response.content.decode()


def test_divergence_says_which_side_has_assessed(client, people, sortable):
    client.force_login(people["ngo"])
    html = client.get("/reports/norway-2024/").content.decode()
    assert "Only government has assessed" in html
    assert "Only NGOs have assessed" in html
    assert "Neither has assessed" in html


def test_links_carry_only_the_valid_filters(client, people):
    """A refused value is shown once, in its field, and not copied into every sorting and
    download link; a parameter that is no filter is in no link either."""
    client.force_login(people["ngo"])
    page = client.get("/reports/norway-2024/?pillar=PROSECUTION&status=NOPE&foo=bar").content
    page = page.decode()
    links = re.findall(r'(?:href|hx-get)="([^"]*)"', page)
    assert "/reports/norway-2024/?pillar=PROSECUTION&amp;sort=-number" in links
    assert not [link for link in links if "NOPE" in link or "foo=bar" in link]
    assert "/export.csv" not in page  # downloads of a refused selection would be refused too
    page = client.get("/reports/norway-2024/?pillar=PROSECUTION&foo=bar").content.decode()
    links = re.findall(r'(?:href|hx-get)="([^"]*)"', page)
    assert "/reports/norway-2024/export.csv?pillar=PROSECUTION" in links
    assert not [link for link in links if "foo=bar" in link]


def test_a_huge_refused_filter_is_not_multiplied_in_the_page(client, people):
    client.force_login(people["ngo"])
    refused = "x" * 100_000
    query = f"q={refused}&status={refused}&pillar={refused}&sort={refused}&as_of={refused}"
    response = client.get(f"/reports/norway-2024/?{query}")
    assert response.status_code == 400
    assert len(response.content) < 12 * len(refused)  # was 40 copies of it, one per link
