"""Arbitrary and hostile input across many URLs: whatever arrives, the answer is a clear 4xx (or
success) and nothing partial is written.

The property tests of a single form live with their view: test_assess.py, test_comments.py."""

import csv
import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from recommendations.importer import import_report
from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    Organization,
    Recommendation,
    Report,
    Status,
)
from recommendations.publishing.csv import neutralise_formula
from recommendations.publishing.snapshots import publish_snapshot

from .conftest import ANY_TEXT, EXAMPLES, HOSTILE_TEXT

FILTER_KEYS = st.sampled_from(["q", "status", "pillar", "kind", "divergent", "table", "page", "x"])


@EXAMPLES
@given(query=st.lists(st.tuples(FILTER_KEYS, HOSTILE_TEXT), max_size=5))
def test_filters_and_exports_take_any_query_string(client, people, query):
    client.force_login(people["ngo"])
    for path in ("/reports/norway-2024/", "/reports/norway-2024/export.csv"):
        response = client.get(path, query)
        assert response.status_code in (200, 400), (path, query)


def test_malformed_query_strings_are_answered(client, people):
    client.force_login(people["ngo"])
    for raw in ("status=%ZZ", "q=%00", "pillar[]=1&pillar=PROTECTION", "&&==&", "q=" + "a" * 5000):
        for path in ("/reports/norway-2024/", "/reports/norway-2024/export.json"):
            response = client.get(f"{path}?{raw}")
            assert response.status_code in (200, 400), (path, raw)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rationale=HOSTILE_TEXT.filter(lambda text: text.strip() and "\x00" not in text))
@example(rationale="0\r\n")  # CR LF comes back from a spreadsheet as LF
def test_every_export_carries_any_stored_text(client, people, rationale):
    """Text that passed the form comes back from CSV, XLSX and JSON (PDF: see test_exports)."""
    recommendation = Recommendation.objects.get(number=4)
    Assessment.objects.create(
        recommendation=recommendation,
        cycle_id=1,
        organization=people["ngo"].membership.organization,
        author=people["ngo"],
        status=Status.IN_PROGRESS,
        rationale=rationale,
    )
    client.force_login(people["ngo"])
    base = "/reports/norway-2024/export."
    document = json.loads(client.get(base + "json").content)
    assert document["recommendations"][3]["ngo"]["rationale"] == rationale

    rows = list(csv.DictReader(io.StringIO(client.get(base + "csv").content.decode("utf-8-sig"))))
    assert rows[3]["NGO rationale"] == neutralise_formula(rationale)

    response = client.get(base + "xlsx")
    assert response.status_code == 200
    value = load_workbook(io.BytesIO(response.content))["Summary"].cell(row=5, column=12).value
    # Spreadsheet cells hold line breaks as LF and no XML-illegal control codes.
    expected = ILLEGAL_CHARACTERS_RE.sub("\ufffd", re.sub(r"\r\n?", "\n", rationale))
    assert value == expected


# --- files and commands ----------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=2000), ANY_TEXT.map(str.encode)))
def test_import_refuses_garbage_and_writes_nothing(tmp_path_factory, db, data):
    path = tmp_path_factory.mktemp("import") / "chapter.txt"
    path.write_bytes(data)
    with pytest.raises(CommandError, match="refused to import"):
        call_command("import_tip_report", str(path), country="Norway", year=2024, verbosity=0)
    assert not Report.objects.exists()
    assert not Organization.objects.exists()


def test_a_truncated_or_mis_encoded_chapter_is_refused(tmp_path, db, seed_bytes):
    for name, data in {
        "truncated.txt": seed_bytes[: len(seed_bytes) // 3],
        "latin1.txt": seed_bytes.decode("utf-8").encode("latin-1", errors="replace"),
        "utf16.txt": seed_bytes.decode("utf-8").encode("utf-16"),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CommandError) as refused:
            call_command("import_tip_report", str(path), country="Norway", year=2024)
        assert name in str(refused.value)
        assert not Report.objects.exists()


@pytest.fixture
def sweden_evidence(norway, seed_bytes) -> EvidenceItem:
    """A second report (the same chapter, renamed) with one evidence item."""
    text = seed_bytes.decode("utf-8").replace("Norway", "Sweden").replace("NORWAY", "SWEDEN")
    sweden = import_report(text.encode(), name="renamed", country="Sweden", year=2024).report
    section = sweden.sections.order_by("position").last()
    start = section.start_offset
    return EvidenceItem.objects.create(
        report=sweden,
        section=section,
        quote=sweden.source_text[start : start + 40],
        start_offset=start,
        end_offset=start + 40,
    )


def test_ids_from_another_report_are_refused_everywhere(client, people, sweden_evidence):
    client.force_login(people["ngo"])
    url = "/reports/norway-2024/recommendations/1/"
    response = client.post(
        url + "assess/",
        {"status": "IMPLEMENTED", "rationale": "Cites Sweden", "evidence": [sweden_evidence.pk]},
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    response = client.post(url + "comments/", {"body": "x", "evidence": sweden_evidence.pk})
    assert response.status_code == 422
    assert not Assessment.objects.exists() and not Comment.objects.exists()
    # The model refuses too, whatever form is in front of it.
    with pytest.raises(ValidationError, match="linked to this recommendation"):
        Recommendation.objects.get(report__slug="norway-2024", number=1).assess(
            author=people["ngo"], status="IMPLEMENTED", rationale="x", evidence=[sweden_evidence]
        )
    assert not Assessment.objects.exists()
    # A snapshot of one report cannot be compared with another report's.
    norway = Report.objects.get(slug="norway-2024")
    sweden = sweden_evidence.report
    coordinator = people["coordinator"]
    ours = publish_snapshot(norway, published_by=coordinator, title="N")
    theirs = publish_snapshot(sweden, published_by=coordinator, title="S")
    response = client.get(
        "/reports/norway-2024/snapshots/compare/", {"older": ours.pk, "newer": theirs.pk}
    )
    assert response.status_code == 400
    assert client.get(f"/reports/norway-2024/snapshots/{theirs.pk}/").status_code == 404
