"""Live exports of the dashboard's table (CSV, XLSX, PDF, JSON, the history CSV), parsed back
and checked against the database; the admin's downloads of the same files.

Published snapshots: test_snapshots.py. Query counts: test_scaling.py."""

import csv
import io
import json

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from recommendations import publishing
from recommendations.models import (
    Assessment,
    EvidenceItem,
    Organization,
    Recommendation,
    Report,
    Status,
)
from recommendations.publishing.csv import stream_history_csv
from recommendations.publishing.document import DOCUMENT_FORMAT, stream_assessment_records
from recommendations.publishing.tables import (
    FIRST_ORGANIZATION_COLUMN,
    HISTORY_COLUMNS,
    SUMMARY_COLUMNS,
)
from recommendations.status import STATUS_STYLES

from .conftest import (
    EXPORT,
    HTMX,
    NORWEGIAN,
    admin_action,
    assess_all,
    download,
    make_assessment,
)


def latest(recommendation: Recommendation, kind: str) -> Assessment | None:
    return (
        recommendation.assessments.filter(organization__kind=kind)
        .order_by("-created_at", "-pk")
        .first()
    )


def local_iso(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


# --- each format parsed back and checked against the database --------------------------------


def test_summary_csv_has_every_recommendation_once_with_positions(client, people):
    assess_all(people, rounds=2)
    client.force_login(people["observer"])
    response = client.get(EXPORT.format("csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="tip-norway-2024-status-{today}.csv"'
    )
    body = response.content
    assert body.startswith("\ufeff".encode())  # Excel reads UTF-8 only with the BOM
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [int(row["Number"]) for row in rows] == list(range(1, 11))
    for row in rows:
        r = Recommendation.objects.get(number=int(row["Number"]))
        government = latest(r, Organization.Kind.GOVERNMENT)
        ngo_positions = [
            r.assessments.filter(organization=organization).order_by("-created_at").first()
            for organization in Organization.objects.filter(kind=Organization.Kind.NGO)
        ]
        ngo_positions = [p for p in ngo_positions if p is not None]
        assert row["Recommendation"] == r.text
        assert row["Short title"] == r.short_title
        # One column per organization holds its current status.
        assert row["Justisdepartementet"] == government.get_status_display()
        for position in ngo_positions:
            assert row[position.organization.name] == position.get_status_display()
        assert f"({len(ngo_positions)} of 2 assessed)" in row["NGO positions"]
        assert row["Government positions"].startswith(government.get_status_display())
        steps = max(
            abs(Status.rank(government.status) - Status.rank(p.status)) for p in ngo_positions
        )
        assert row["Divergence (steps)"] == str(steps)
        assert int(row["Evidence items"]) == r.evidence_links.count()
        if r.number % 2 == 0:
            assert row["Migrantrådet"] == "Not assessed"


def test_csv_respects_the_dashboard_filters(client, people):
    assess_all(people)
    client.force_login(people["observer"])
    body = download(client, EXPORT.format("csv") + "?status=IN_PROGRESS&kind=GOVERNMENT")
    numbers = {int(row["Number"]) for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    expected = {
        r.number
        for r in Recommendation.objects.all()
        if latest(r, Organization.Kind.GOVERNMENT).status == Status.IN_PROGRESS
    }
    assert expected and numbers == expected

    body = download(client, EXPORT.format("csv") + "?q=children")
    numbers = [int(row["Number"]) for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))]
    assert numbers == list(
        Recommendation.objects.filter(text__icontains="children").values_list("number", flat=True)
    )


def test_unassessed_recommendations_say_not_assessed(client, people):
    client.force_login(people["observer"])
    rows = list(
        csv.DictReader(io.StringIO(download(client, EXPORT.format("csv")).decode("utf-8-sig")))
    )
    assert len(rows) == 10
    assert {row["Government positions"] for row in rows} == {"Not assessed"}
    assert {row["Justisdepartementet"] for row in rows} == {"Not assessed"}
    assert {row["Divergence (steps)"] for row in rows} == {""}


def test_history_csv_streams_every_assessment(client, people):
    assess_all(people, rounds=3)
    client.force_login(people["observer"])
    response = client.get(EXPORT.format("csv") + "?table=history")
    assert isinstance(response, StreamingHttpResponse)
    assert "tip-norway-2024-history-" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == Assessment.objects.count()
    oldest_first = Assessment.objects.order_by("created_at", "pk")
    for row, assessment in zip(rows, oldest_first, strict=True):
        assert int(row["Assessment ID"]) == assessment.pk
        assert int(row["Recommendation"]) == assessment.recommendation.number
        assert row["Status"] == assessment.get_status_display()
        assert row["Assessed at"] == local_iso(assessment.created_at)
        assert row["Rationale"] == assessment.rationale
        assert row["Organization"] == assessment.organization.name
        cited = sorted(assessment.cited_evidence.values_list("pk", flat=True))
        assert row["Cited evidence"] == " ".join(f"E{pk}" for pk in cited)
        assert row["Based on assessment ID"] == ""


def test_history_csv_reads_the_database_only_as_it_is_sent(people):
    assess_all(people, rounds=2)
    recommendations = Recommendation.objects.all()
    stream = stream_history_csv(
        stream_assessment_records(recommendations),
        dict(recommendations.values_list("number", "short_title")),
    )
    with CaptureQueriesContext(connection) as queries:
        header = next(stream)
        assert header.startswith("\ufeffAssessment ID".encode())
        assert len(queries) == 0  # no assessment has been read yet
        first_row = next(stream)
        assert len(queries) == 1  # one cursor over the assessments
        rest = list(stream)
        assert len(queries) == 1  # still the same cursor
    assert first_row.startswith(str(Assessment.objects.order_by("created_at", "pk")[0].pk).encode())
    assert 1 + len(rest) == Assessment.objects.count()


def test_exports_of_an_empty_selection_are_still_valid_files(client, people):
    client.force_login(people["observer"])
    query = "?q=no-such-word"
    rows = list(csv.reader(io.StringIO(download(client, EXPORT.format("csv") + query).decode())))
    assert len(rows) == 1
    workbook = load_workbook(io.BytesIO(download(client, EXPORT.format("xlsx") + query)))
    assert workbook["Summary"].max_row == 1
    pdf = PdfReader(io.BytesIO(download(client, EXPORT.format("pdf") + query)))
    assert "No recommendation matches the filters." in pdf.pages[1].extract_text()
    assert json.loads(download(client, EXPORT.format("json") + query))["recommendations"] == []


def test_history_csv_respects_filters(client, people):
    assess_all(people)
    client.force_login(people["observer"])
    body = download(client, EXPORT.format("csv") + "?pillar=PROSECUTION&table=history")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    expected = Assessment.objects.filter(recommendation__pillar="PROSECUTION").count()
    assert expected and len(rows) == expected


def test_xlsx_has_summary_history_and_evidence_sheets(client, people):
    assess_all(people, rounds=2)
    client.force_login(people["observer"])
    response = client.get(EXPORT.format("xlsx"))
    assert response["Content-Type"] == publishing.MEDIA_TYPES["xlsx"]
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[:3] == ["Summary", "History", "Evidence"]

    summary = workbook["Summary"]
    assert summary.freeze_panes == "A2"
    header = [cell.value for cell in summary[1]]
    organizations = ["Justisdepartementet", "Migrantrådet", "Nettverk mot menneskehandel"]
    assert header == SUMMARY_COLUMNS + organizations
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == list(range(1, 11))
    for excel_row, values in zip(summary.iter_rows(min_row=2), rows, strict=True):
        r = Recommendation.objects.get(number=values[0])
        government = latest(r, Organization.Kind.GOVERNMENT)
        assert values[FIRST_ORGANIZATION_COLUMN] == government.get_status_display()
        assert values[4] is None and values[7] == "no"  # no lead yet, so nothing overdue
        status_cell = excel_row[FIRST_ORGANIZATION_COLUMN]
        colour = STATUS_STYLES[government.status].colour_hex
        assert status_cell.fill.fgColor.rgb.endswith(colour)
        assert excel_row[3].alignment.wrap_text
    assert summary.column_dimensions["D"].width >= 40

    history = list(workbook["History"].iter_rows(min_row=2, values_only=True))
    assert len(history) == Assessment.objects.count()
    assert {row[0] for row in history} == set(Assessment.objects.values_list("pk", flat=True))

    evidence = list(workbook["Evidence"].iter_rows(min_row=2, values_only=True))
    assert len(evidence) == EvidenceItem.objects.count()
    for row in evidence:
        item = EvidenceItem.objects.get(pk=int(row[0].removeprefix("E")))
        assert (row[0], row[2]) == (item.label, item.quote)

    # The source in words, as the PDF's cover names it; never where the file was stored.
    about = dict(workbook["About"].iter_rows(values_only=True))
    assert "fixtures/sources/" in Report.objects.get().source_name
    assert about["Source"] == (
        "U.S. Department of State, 2024 Trafficking in Persons Report: Norway"
    )


def test_xlsx_evidence_sheet_names_stances_in_words_not_codes(client, people):
    client.force_login(people["observer"])
    workbook = load_workbook(io.BytesIO(download(client, EXPORT.format("xlsx"))))
    evidence = list(workbook["Evidence"].iter_rows(min_row=2, values_only=True))
    for row in evidence:
        item = EvidenceItem.objects.get(pk=int(row[0].removeprefix("E")))
        expected = "; ".join(
            f"{link.recommendation.number} ({link.get_stance_display()})"
            for link in item.links.select_related("recommendation").order_by("pk")
        )
        assert sorted(row[6].split("; ")) == sorted(expected.split("; "))
    stances = " ".join(row[6] for row in evidence)
    assert "(Gap)" in stances and "GAP" not in stances and "PROGRESS" not in stances


def test_pdf_names_every_recommendation_and_status(client, people):
    assess_all(people)
    client.force_login(people["observer"])
    response = client.get(EXPORT.format("pdf"))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert "Norway · TIP Report 2024" in flat
    assert "Page 1 of" in flat
    for r in Recommendation.objects.all():
        assert f"Recommendation {r.number}: " in flat
        government = latest(r, Organization.Kind.GOVERNMENT)
        assert government.get_status_display() in flat
    assert "Ødegård" in flat  # Norwegian letters survive into the PDF
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points


def test_json_export_matches_the_database(client, people):
    assess_all(people, rounds=2)
    client.force_login(people["observer"])
    response = client.get(EXPORT.format("json"))
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    assert document["format"] == DOCUMENT_FORMAT
    assert document["version"] == 2
    assert document["report"]["id"] == "norway-2024"
    assert document["generated_by"] == "observer"
    assert [r["id"] for r in document["recommendations"]] == [
        f"norway-2024/{n}" for n in range(1, 11)
    ]
    assessments = {a["id"]: a for a in document["assessments"]}
    assert set(assessments) == set(Assessment.objects.values_list("pk", flat=True))
    for r in document["recommendations"]:
        recommendation = Recommendation.objects.get(number=r["number"])
        government = latest(recommendation, Organization.Kind.GOVERNMENT)
        position = next(p for p in r["positions"] if p["organization_kind"] == "GOVERNMENT")
        assert position["id"] == government.pk
        assert position["status"] == government.status
        assert position["assessed_at"] == local_iso(government.created_at)
        assert r["groups"]["GOVERNMENT"]["lowest"] == government.status
        assert {p["organization"] for p in r["positions"]} == set(
            recommendation.assessments.values_list("organization__name", flat=True)
        )
        assert {e["id"] for e in r["evidence"]} == set(
            recommendation.evidence_items.values_list("pk", flat=True)
        )
    for item in document["evidence"]:
        assert EvidenceItem.objects.get(pk=item["id"]).quote == item["quote"]
    assert NORWEGIAN in response.content.decode("utf-8")  # not \\u-escaped


def test_json_export_records_its_filters(client, people):
    assess_all(people)
    client.force_login(people["observer"])
    document = json.loads(download(client, EXPORT.format("json") + "?pillar=PROTECTION&q="))
    assert document["filters"] == {"pillar": "PROTECTION"}
    assert {r["pillar"] for r in document["recommendations"]} == {"PROTECTION"}
    assessed = {a["recommendation"] for a in document["assessments"]}
    assert assessed == {r["number"] for r in document["recommendations"]}


# --- spreadsheets must not run what reviewers typed ------------------------------------------


def test_formulas_typed_by_reviewers_stay_text(client, people):
    r = Recommendation.objects.get(number=1)
    make_assessment(r, people["gov"], rationale='=HYPERLINK("http://evil.example","x")')
    make_assessment(r, people["ngo"], rationale="@SUM(A1:A2)")
    client.force_login(people["observer"])
    rows = list(
        csv.DictReader(
            io.StringIO(
                download(client, EXPORT.format("csv") + "?table=history").decode("utf-8-sig")
            )
        )
    )
    assert [row["Rationale"] for row in rows] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'@SUM(A1:A2)",
    ]

    history = load_workbook(io.BytesIO(download(client, EXPORT.format("xlsx"))))["History"]
    cell = history.cell(row=2, column=HISTORY_COLUMNS.index("Rationale") + 1)
    assert cell.value == '=HYPERLINK("http://evil.example","x")'
    assert cell.data_type == "s"


# --- bad input and permissions ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        EXPORT.format("csv"),
        EXPORT.format("xlsx"),
        EXPORT.format("pdf"),
        EXPORT.format("json"),
        EXPORT.format("csv") + "?table=history",
        "/reports/norway-2024/snapshots/",
    ],
)
def test_anonymous_users_cannot_export_or_list_snapshots(client, norway, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_bad_export_requests_are_refused_clearly(client, people):
    client.force_login(people["observer"])
    assert client.get("/reports/norway-2024/export.docx").status_code == 404
    assert client.get("/reports/no-such-report/export.csv").status_code == 404
    response = client.get(EXPORT.format("xlsx") + "?table=history")
    assert response.status_code == 400
    assert "Only the CSV export has a history table" in response.content.decode()
    response = client.get(EXPORT.format("csv") + "?status=SOLVED")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert client.get(EXPORT.format("csv") + "?table=everything").status_code == 400


def test_dashboard_links_exports_with_its_filters(client, people):
    client.force_login(people["observer"])
    page = client.get("/reports/norway-2024/?pillar=PROTECTION").content.decode()
    assert 'href="/reports/norway-2024/export.xlsx?pillar=PROTECTION"' in page
    assert 'href="/reports/norway-2024/export.csv?pillar=PROTECTION&amp;table=history"' in page
    partial = client.get("/reports/norway-2024/?pillar=PREVENTION", **HTMX)
    assert 'href="/reports/norway-2024/export.pdf?pillar=PREVENTION"' in partial.content.decode()


# --- the admin downloads the same files ------------------------------------------------------


def test_admin_downloads_the_same_files_as_the_dashboard(superuser_client, people, norway):
    assess_all(people)
    response = admin_action(superuser_client, "report", "download_csv", [norway.pk])
    assert response.status_code == 200
    assert "tip-norway-2024-status-" in response["Content-Disposition"]
    assert response.content == download(superuser_client, EXPORT.format("csv"))

    response = admin_action(superuser_client, "report", "download_xlsx", [norway.pk])
    summary = load_workbook(io.BytesIO(response.content))["Summary"]
    assert [row[0] for row in summary.iter_rows(min_row=2, values_only=True)] == list(range(1, 11))
    for extension in ("pdf", "json"):
        response = admin_action(superuser_client, "report", f"download_{extension}", [norway.pk])
        assert response["Content-Type"] == publishing.MEDIA_TYPES[extension]
