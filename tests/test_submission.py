"""The yearly submission draft (recommendations/publishing/submission.py): the .docx opened
with python-docx, the JSON, the reporting period's bounds, and who may have which draft."""

import io
import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from docx import Document

from recommendations.models import Pillar, ReviewCycle
from recommendations.periods import ReportingPeriod
from recommendations.rules.access import CURATION_PERMISSIONS
from recommendations.status import Status

from .conftest import make_assessment

LANG = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def language_of(run) -> str:
    return run.element.rPr.find(f"{LANG}lang").get(f"{LANG}val")


pytestmark = pytest.mark.django_db

URL = "/reports/norway-2024/submission.{}"
PERIOD_2025 = ReportingPeriod(2025)  # 1 April 2024 – 31 March 2025


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


@pytest.fixture
def year_of_work(norway, people):
    """The NGO's assessments in and around the 2025 report's period, and the ministry's."""
    first, second = norway.recommendations.order_by("number")[:2]
    evidence = first.evidence_items.order_by("pk").first()
    made = {
        "before": make_assessment(
            first,
            people["ngo"],
            Status.NO_PROGRESS,
            created_at=at(2024, 3, 31, 23),
            rationale="The day before the period.",
        ),
        "first day": make_assessment(
            first,
            people["ngo"],
            Status.IN_PROGRESS,
            created_at=at(2024, 4, 1, 0),
            rationale="Screening began in two districts.",
        ),
        "last day": make_assessment(
            second,
            people["ngo"],
            Status.PARTIALLY_IMPLEMENTED,
            created_at=at(2025, 3, 31, 23),
            rationale="Funding doubled.\nShelters opened.",
        ),
        "after": make_assessment(
            second,
            people["ngo"],
            Status.IMPLEMENTED,
            created_at=at(2025, 4, 1, 0),
            rationale="The day after the period.",
        ),
        "ministry": make_assessment(
            first,
            people["gov"],
            Status.IMPLEMENTED,
            created_at=at(2024, 6, 1),
            rationale="The ministry's own view.",
        ),
    }
    made["first day"].cited_evidence.set([evidence])
    return made


def download(client, user, extension: str = "docx", **query):
    client.force_login(user)
    response = client.get(URL.format(extension), query)
    assert response.status_code == 200, response.content[:500]
    return response


def opened(response) -> Document:
    return Document(io.BytesIO(response.content))


def test_the_reporting_period_of_a_report_and_of_today():
    assert (PERIOD_2025.starts_on.isoformat(), PERIOD_2025.ends_on.isoformat()) == (
        "2024-04-01",
        "2025-03-31",
    )
    assert ReportingPeriod.containing(datetime(2025, 3, 31).date()).report_year == 2025
    assert ReportingPeriod.containing(datetime(2025, 4, 1).date()).report_year == 2026
    assert PERIOD_2025.contains(at(2024, 4, 1, 0)) and not PERIOD_2025.contains(at(2025, 4, 1, 0))


def test_the_draft_holds_the_period_and_the_organizations_own_assessments(
    client, people, year_of_work
):
    document = opened(download(client, people["ngo"], period="2025"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Screening began in two districts." in text
    assert "Funding doubled." in text and "Shelters opened." in text
    assert "The day before the period." not in text  # a minute outside: absent
    assert "The day after the period." not in text
    assert "The ministry's own view." not in text  # never another organization's
    assert "Nettverk mot menneskehandel" in text
    assert "1 April 2024 – 31 March 2025" in text
    assert "2024 Trafficking in Persons Report" in text
    # The recommendation's text and the cited evidence, quoted, in English.
    quotes = [p for p in document.paragraphs if p.style.name == "Quote" and p.text.startswith("“")]
    assert quotes and all(language_of(run) == "en-US" for p in quotes for run in p.runs)
    evidence = year_of_work["first day"].cited_evidence.get()
    assert f"“{' '.join(evidence.quote.split())}”" in [p.text for p in quotes]
    assert any(p.text.startswith(f"{evidence.label} (") for p in document.paragraphs)


def test_the_draft_is_structured_for_word(client, people, norway, year_of_work):
    document = opened(download(client, people["ngo"], period="2025"))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    pillars = [str(p.label) for p in Pillar if norway.recommendations.filter(pillar=p).exists()]
    assert headings == [*pillars, "Position on every recommendation"]
    assert document.paragraphs[0].style.name == "Title"
    assert [p.style.name for p in document.paragraphs].count("Heading 2") == (
        norway.recommendations.count()
    )
    (table,) = document.tables
    header = table.rows[0]
    assert [c.text for c in header.cells] == ["Recommendation", "Position", "Since"]
    assert header._tr.trPr.xpath("./w:tblHeader")  # repeated, read as the header row
    assert table.style.name == "Light List Accent 1"
    assert len(table.rows) == norway.recommendations.count() + 1
    positions = {row.cells[0].text.split(".")[0]: row.cells[1].text for row in table.rows[1:]}
    # At the end of the period: the last day's assessment, not the day after's.
    assert positions["2"] == "Partially implemented"
    assert positions["3"] == "Not assessed"


def test_the_json_is_the_same_content(client, people, year_of_work):
    content = json.loads(download(client, people["ngo"], "json", period="2025").content)
    assert content["format"] == "tip-tracker/submission"
    assert content["period"] == {
        "report_year": 2025,
        "starts_on": "2024-04-01",
        "ends_on": "2025-03-31",
        "current": False,
    }
    assessments = [
        a for p in content["pillars"] for r in p["recommendations"] for a in r["assessments"]
    ]
    assert {a["rationale"] for a in assessments} == {
        "Screening began in two districts.",
        "Funding doubled.\nShelters opened.",
    }


def test_the_draft_in_norwegian(client, people, year_of_work):
    client.cookies["django_language"] = "nb"
    document = opened(download(client, people["ngo"], period="2025"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Rapporteringsperiode: 1. april 2024 – 31. mars 2025" in text
    assert "Screening began in two districts." in text  # the rationale as written
    quotes = [p for p in document.paragraphs if p.style.name == "Quote" and p.text.startswith("“")]
    assert quotes and all(language_of(run) == "en-US" for p in quotes for run in p.runs)
    assert document.core_properties.language == "nb-NO"
    # The recommendation's short title in its heading stays English, marked so.
    heading = next(p for p in document.paragraphs if p.style.name == "Heading 2")
    label, title = heading.runs
    assert label.text == "Anbefaling 1: " and language_of(title) == "en-US"


def test_hostile_text_is_kept_as_text(client, people, norway):
    hostile = '<w:p>=HYPERLINK("x")\x07 ‘quoted’ & </w:body>\x0b'
    make_assessment(
        norway.recommendations.get(number=1),
        people["ngo"],
        rationale=hostile,
        created_at=timezone.now(),
    )
    document = opened(download(client, people["ngo"]))
    assert '<w:p>=HYPERLINK("x") ‘quoted’ & </w:body>' in [p.text for p in document.paragraphs]


@pytest.mark.parametrize(
    ("who", "query", "expected"),
    [
        ("ngo", {"organization": "other"}, 403),  # another organization's: refused
        ("observer", {}, 403),  # an observer gets none
        ("staff", {}, 403),  # staff without the coordinators' permission
        ("coordinator", {}, 400),  # must choose the organization
        ("coordinator", {"organization": "x"}, 400),
        ("coordinator", {"organization": "999999"}, 404),
        ("ngo", {"period": "25"}, 400),
        ("ngo", {"period": "2099"}, 400),  # a period not begun
        ("ngo", {"period": "١٢٣٤"}, 400),
    ],
)
def test_who_may_have_which_draft(client, people, who, query, expected):
    if query.get("organization") == "other":
        query = {"organization": str(people["gov"].membership.organization.pk)}
    client.force_login(people[who])
    assert client.get(URL.format("docx"), query).status_code == expected


def test_a_coordinator_chooses_the_organization(client, people, year_of_work):
    organization = people["gov"].membership.organization
    content = json.loads(
        download(
            client, people["coordinator"], "json", period="2025", organization=organization.pk
        ).content
    )
    assert content["organization"]["name"] == organization.name
    rationales = [
        a["rationale"]
        for p in content["pillars"]
        for r in p["recommendations"]
        for a in r["assessments"]
    ]
    assert rationales == ["The ministry's own view."]


def test_the_current_period_is_the_default(client, people, norway):
    make_assessment(norway.recommendations.get(number=1), people["ngo"], created_at=timezone.now())
    content = json.loads(download(client, people["ngo"], "json").content)
    assert content["period"]["report_year"] == ReportingPeriod.current().report_year
    assert content["period"]["current"] is True
    assessed = [
        a for p in content["pillars"] for r in p["recommendations"] for a in r["assessments"]
    ]
    assert len(assessed) == 1


def test_the_dashboard_offers_the_draft_to_whom_may_have_it(client, people, norway):
    period = ReportingPeriod.current()
    client.force_login(people["ngo"])
    page = client.get("/reports/norway-2024/").content.decode()
    assert 'href="/reports/norway-2024/submission.docx"' in page
    assert f"submission draft for the {period.report_year} report (Word)" in page
    assert f"Reporting period now: {period.label()}" in page
    client.force_login(people["observer"])
    page = client.get("/reports/norway-2024/").content.decode()
    assert "submission.docx" not in page
    client.force_login(people["coordinator"])
    page = client.get("/reports/norway-2024/").content.decode()
    assert 'action="/reports/norway-2024/submission.docx"' in page
    organization = people["gov"].membership.organization
    assert f'<option value="{organization.pk}">{organization.name}</option>' in page
    assert f'<option value="{period.report_year - 1}">' in page


def test_a_submission_deadline_is_set_in_admin(client, people):
    from recommendations.models import SubmissionDeadline

    client.force_login(people["coordinator"])
    response = client.post(
        "/admin/recommendations/submissiondeadline/add/",
        {"report_year": "2026", "due_on": "2026-01-30"},
    )
    assert response.status_code == 302
    deadline = SubmissionDeadline.objects.get()
    assert (deadline.report_year, deadline.due_on.isoformat()) == (2026, "2026-01-30")
    assert deadline.history.count() == 1
    listing = client.get("/admin/recommendations/submissiondeadline/").content.decode()
    assert "1 April 2025 – 31 March 2026" in listing
    refused = client.post(
        "/admin/recommendations/submissiondeadline/add/",
        {"report_year": "26", "due_on": "2026-01-30"},
    )
    assert refused.status_code == 200 and SubmissionDeadline.objects.count() == 1


def test_a_coordinator_cannot_ask_for_another_countrys_organization(client, people, norway):
    from .conftest import make_organization

    swedish = make_organization("Svenska nätverket", country="Sweden")
    client.force_login(people["coordinator"])
    response = client.get(URL.format("docx"), {"organization": swedish.pk})
    assert response.status_code == 400
    assert "Svenska nätverket is not an organization of Norway." in response.content.decode()


def test_a_long_name_fits_the_documents_properties(client, people, norway):
    author = people["ngo"]
    author.first_name, author.last_name = "A" * 150, "B" * 150
    author.save()
    document = opened(download(client, author))
    assert document.core_properties.author == ("A" * 150 + " " + "B" * 150)[:255]


def test_the_dashboard_offers_a_coordinators_form_to_no_one_else(client, people, norway):
    """The page cache keys the dashboard by whether the viewer drafts for any organization:
    staff who curate evidence but may not publish never get a coordinator's cached page."""
    from django.contrib.auth.models import Permission

    client.force_login(people["coordinator"])
    assert "submission-draft" in client.get("/reports/norway-2024/").content.decode()
    curator = people["staff"]
    codenames = [permission.split(".")[1] for permission in CURATION_PERMISSIONS]
    curator.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(curator)
    page = client.get("/reports/norway-2024/")
    assert "Evidence workspace" in page.content.decode()  # staff who curate, like the coordinator
    assert "submission-draft" not in page.content.decode()


def test_each_review_cycle_names_the_reporting_period_it_starts_in(client, people, norway):
    client.force_login(people["coordinator"])
    listing = client.get("/admin/recommendations/reviewcycle/").content.decode()
    cycle = ReviewCycle.objects.order_by("starts_on").first()
    period = ReportingPeriod.containing(cycle.starts_on)
    assert f"{period.report_year}: {period.label()}" in listing


def test_the_draft_reads_the_same_queries_however_long_the_history(client, people, norway):
    """The position table takes the newest assessment per recommendation in the query: a long
    history behind the period costs no more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(people["ngo"])
    first = norway.recommendations.get(number=1)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL.format("json"), {"period": "2025"}).status_code == 200
        return len(captured)

    short = queries()
    for day in range(40):
        make_assessment(first, people["ngo"], created_at=at(2023, 1, 1) + timedelta(days=day))
    assert queries() == short
