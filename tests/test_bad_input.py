"""Property-based tests: whatever arrives, the answer is a clear 4xx (or success) and nothing
partial is written."""

import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

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

from .conftest import make_coordinator, make_organization, make_user

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
HOSTILE_TEXT = st.one_of(
    ANY_TEXT,
    st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=20),  # control chars
    st.sampled_from(["", " ", "\x00", "=1+1", "-", "A" * 6000, "<script>", "’ “ ø å Æ"]),
)
FILTER_KEYS = st.sampled_from(["q", "status", "pillar", "kind", "divergent", "table", "page", "x"])


@pytest.fixture
def reviewer(norway):
    return make_user("reviewer", make_organization("NGO"))


@pytest.fixture
def other_report_evidence(norway) -> int:
    """An id that is not an evidence item of this recommendation."""
    return EvidenceItem.objects.order_by("-pk").first().pk + 1000


@EXAMPLES
@given(
    status=st.one_of(st.sampled_from(Status.values), HOSTILE_TEXT),
    rationale=HOSTILE_TEXT,
    evidence=st.lists(st.one_of(st.integers(-5, 10_000), HOSTILE_TEXT), max_size=4),
    based_on=st.one_of(st.none(), st.integers(-1, 10**12), HOSTILE_TEXT),
    number=st.integers(1, 10),
)
def test_assess_answers_every_submission_cleanly(
    client, reviewer, status, rationale, evidence, based_on, number
):
    client.force_login(reviewer)
    before = Assessment.objects.count()
    current = (
        Assessment.objects.filter(recommendation__number=number).order_by("-created_at").first()
    )
    data = {"status": status, "rationale": rationale, "evidence": evidence}
    data["based_on"] = (current.pk if current else "") if based_on is None else based_on
    url = f"/reports/norway-2024/recommendations/{number}/assess/"
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 422), response.status_code
    stored = Assessment.objects.count() - before
    if response.status_code == 200:
        assert stored == 1
        newest = Assessment.objects.latest("created_at")
        assert newest.rationale == rationale.strip()
        assert newest.status == status
    else:
        assert stored == 0
        page = response.content.decode()
        assert 'class="error"' in page or 'class="form-errors"' in page  # a visible reason


@EXAMPLES
@given(body=HOSTILE_TEXT, evidence=st.one_of(st.none(), st.integers(-5, 10**9), HOSTILE_TEXT))
def test_comments_answer_every_submission_cleanly(client, reviewer, body, evidence):
    client.force_login(reviewer)
    before = Comment.objects.count()
    data = {"body": body} if evidence is None else {"body": body, "evidence": evidence}
    response = client.post("/reports/norway-2024/recommendations/2/comments/", data)
    assert response.status_code in (302, 422)
    assert Comment.objects.count() - before == (1 if response.status_code == 302 else 0)


@EXAMPLES
@given(query=st.lists(st.tuples(FILTER_KEYS, HOSTILE_TEXT), max_size=5))
def test_filters_and_exports_take_any_query_string(client, reviewer, query):
    client.force_login(reviewer)
    for path in ("/reports/norway-2024/", "/reports/norway-2024/export.csv"):
        response = client.get(path, query)
        assert response.status_code in (200, 400), (path, query)


def test_malformed_query_strings_are_answered(client, reviewer):
    client.force_login(reviewer)
    for raw in ("status=%ZZ", "q=%00", "pillar[]=1&pillar=PROTECTION", "&&==&", "q=" + "a" * 5000):
        for path in ("/reports/norway-2024/", "/reports/norway-2024/export.json"):
            response = client.get(f"{path}?{raw}")
            assert response.status_code in (200, 400), (path, raw)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rationale=HOSTILE_TEXT.filter(lambda text: text.strip() and "\x00" not in text))
def test_every_export_carries_any_stored_text(client, reviewer, rationale):
    """Text that passed the form comes back from CSV, XLSX and JSON (PDF: see test_exports)."""
    recommendation = Recommendation.objects.get(number=4)
    Assessment.objects.create(
        recommendation=recommendation,
        cycle_id=1,
        organization=reviewer.membership.organization,
        author=reviewer,
        status=Status.IN_PROGRESS,
        rationale=rationale,
    )
    client.force_login(reviewer)
    base = "/reports/norway-2024/export."
    document = json.loads(client.get(base + "json").content)
    assert document["recommendations"][3]["ngo"]["rationale"] == rationale

    rows = list(csv.DictReader(io.StringIO(client.get(base + "csv").content.decode("utf-8-sig"))))
    assert rows[3]["NGO rationale"] == neutralise_formula(rationale)

    response = client.get(base + "xlsx")
    assert response.status_code == 200
    value = load_workbook(io.BytesIO(response.content))["Summary"].cell(row=5, column=12).value
    assert isinstance(value, str) and len(value) == len(rationale)


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


def test_ids_from_another_report_are_refused(client, reviewer, sweden_evidence):
    client.force_login(reviewer)
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
            author=reviewer, status="IMPLEMENTED", rationale="x", evidence=[sweden_evidence]
        )
    assert not Assessment.objects.exists()
    # A snapshot of one report cannot be compared with another report's.
    norway = Report.objects.get(slug="norway-2024")
    sweden = sweden_evidence.report
    coordinator = make_coordinator("publisher")
    ours = publish_snapshot(norway, published_by=coordinator, title="N")
    theirs = publish_snapshot(sweden, published_by=coordinator, title="S")
    response = client.get(
        "/reports/norway-2024/snapshots/compare/", {"older": ours.pk, "newer": theirs.pk}
    )
    assert response.status_code == 400
    assert client.get(f"/reports/norway-2024/snapshots/{theirs.pk}/").status_code == 404
