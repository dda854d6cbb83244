"""The load_demo_data command (development only)."""

import json
import re
from collections import Counter
from collections.abc import Iterator
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings

from recommendations.integrity import integrity_errors
from recommendations.lineage import similarity
from recommendations.management.commands import load_demo_data
from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    EvidenceLink,
    Lineage,
    Membership,
    Organization,
    Recommendation,
    Report,
    Section,
)
from recommendations.sentences import sentence_spans

from .conftest import ROOT, load_fixtures

EVIDENCE = ROOT / "fixtures" / "sources" / "fictional" / "veldoria-evidence.json"


@override_settings(DEBUG=True)
def test_demo_data_creates_organizations_users_and_history(norway, capsys):
    call_command("load_demo_data")
    out = capsys.readouterr().out
    assert "ngo.reviewer" in out and "demo-tracker-2024" in out
    kinds = sorted(Organization.objects.values_list("kind", flat=True))
    assert kinds.count("NGO") == 3 and kinds.count("GOVERNMENT") == 2
    # Beside Norway, the fictional Veldoria over three years, its lineage proposed.
    veldoria = Report.objects.filter(country="Veldoria").order_by("year")
    assert [r.year for r in veldoria] == [2023, 2024, 2025]
    assert Lineage.objects.filter(recommendation__report=veldoria.last()).exists()
    assert Organization.objects.get(country="Veldoria").memberships.count() == 1
    assert Membership.objects.filter(role="OBSERVER").count() == 1
    assert Assessment.objects.count() >= 5
    assert Comment.objects.count() >= 2
    call_command("load_demo_data")  # a second run adds nothing
    assert Organization.objects.count() == len(kinds)


@override_settings(DEBUG=False)
def test_demo_data_refuses_without_debug(norway):
    with pytest.raises(CommandError, match="development only"):
        call_command("load_demo_data")
    assert not Organization.objects.exists()


@override_settings(DEBUG=True)
def test_demo_data_has_two_reviewers_in_one_organization(norway, capsys):
    call_command("load_demo_data")
    reviewers = Membership.objects.filter(role="REVIEWER")
    per_organization = Counter(reviewers.values_list("organization__short_name", flat=True))
    assert per_organization["Demo ATN"] == 2
    # the organization's assessments are still its first reviewer's
    authors = Assessment.objects.filter(organization__short_name="Demo ATN")
    assert set(authors.values_list("author__username", flat=True)) == {"ngo.reviewer"}


@override_settings(DEBUG=True)
def test_the_readme_lists_the_demo_logins_the_command_prints(norway, capsys):
    call_command("load_demo_data")
    printed = re.findall(r"^  (\S+) +password \S+  — ([^,]+), (.+)$", capsys.readouterr().out, re.M)
    readme = (ROOT / "README.md").read_text()
    readme = readme.split("| user | name | role |", 1)[1].split("\n\n", 1)[0]
    table = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|$", readme, re.M)
    in_words = [
        (user, name.strip(), re.sub(r"[*`]", "", role).strip().lower())
        for user, name, role in table
    ]
    assert in_words == [(user, name, role.lower()) for user, name, role in printed]


# --- Veldoria's curated evidence (fixtures/sources/fictional/veldoria-evidence.json) ------


@pytest.fixture(scope="class")
def demo_once(django_db_setup, django_db_blocker) -> Iterator[dict[int, Report]]:
    """The demo data, loaded once for the tests of a class (a second each time): in a
    transaction of its own, rolled back once they have run; each test runs inside it, in a
    savepoint rolled back after the test."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_fixtures()
        with override_settings(DEBUG=True):
            call_command("load_demo_data", stdout=StringIO())
        yield {report.year: report for report in Report.objects.filter(country="Veldoria")}
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_once, db) -> dict[int, Report]:
    return demo_once


def veldoria_items(report: Report) -> list[EvidenceItem]:
    return list(report.evidence_items.select_related("carried_from__report").order_by("pk"))


def everything() -> dict[str, list[dict]]:
    """Every row the demo writes, and the audit history of the evidence."""
    models = [Report, Recommendation, Lineage, EvidenceItem, EvidenceLink, Organization]
    models += [Membership, Assessment, Comment, get_user_model()]
    rows = {m.__name__: list(m.objects.order_by("pk").values()) for m in models}
    for model in (EvidenceItem, EvidenceLink):
        rows[f"{model.__name__} history"] = list(model.history.order_by("pk").values())
    return rows


class TestTheDemosVeldoriaEvidence:
    """Read from one load of the demo (demo_once)."""

    def test_every_veldoria_recommendation_has_two_quotes_one_showing_its_gap(self, demo):
        assert sorted(demo) == [2023, 2024, 2025]
        for report in demo.values():
            recommendations = report.recommendations.order_by("number")
            assert recommendations.count() == 7
            for recommendation in recommendations:
                stances = list(
                    EvidenceLink.objects.filter(recommendation=recommendation).values_list(
                        "stance", flat=True
                    )
                )
                assert len(stances) >= 2 and "GAP" in stances, (report.slug, recommendation.number)

    def test_the_later_years_carry_quotes_forward_from_the_year_before(self, demo):
        for year in (2024, 2025):
            items = veldoria_items(demo[year])
            earlier = {item.quote: item for item in veldoria_items(demo[year - 1])}
            carried = [item for item in items if item.carried_from is not None]
            # Some word for word, some the same sentence with this year's figures.
            assert any(item.quote == item.carried_from.quote for item in carried)
            assert any(item.quote != item.carried_from.quote for item in carried)
            for item in carried:
                assert item.carried_from.report == demo[year - 1]
                # the same sentence: the suggestions propose a carry from 80 (CHANGED_THRESHOLD)
                assert similarity(item.quote, item.carried_from.quote) >= 85, item.quote
            # A sentence quoted again word for word is always recorded as carried.
            for item in items:
                if item.quote in earlier:
                    assert item.carried_from == earlier[item.quote], item.quote
        assert not any(item.carried_from for item in veldoria_items(demo[2023]))

    def test_the_quotes_are_whole_sentences_that_stand_on_their_own(self, demo):
        for report in demo.values():
            starts, ends = set(), set()
            for section in report.sections.all():
                for start, end in sentence_spans(
                    report.source_text, section.start_offset, section.end_offset
                ):
                    starts.add(start)
                    ends.add(end)
            for item in veldoria_items(report):
                assert item.section.kind != Section.Kind.RECOMMENDATIONS
                assert item.start_offset in starts and item.end_offset in ends, item.quote
                assert not re.match(
                    r"(The (group|same)|It|They|This|These|Those|He|She)\b", item.quote
                )

    def test_every_demo_quote_passes_the_integrity_check(self, demo):
        assert EvidenceItem.objects.filter(report__country="Veldoria").count() >= 50
        assert integrity_errors() == []
        out = StringIO()
        call_command("verify_evidence", stdout=out)
        assert (
            f"{EvidenceItem.objects.count()} evidence item(s) verified verbatim" in out.getvalue()
        )

    def test_veldoria_watch_cites_the_linked_evidence(self, demo):
        assessments = Assessment.objects.filter(organization__short_name="Demo VW")
        assert assessments.count() == 3
        for assessment in assessments:
            cited = set(assessment.cited_evidence.all())
            assert cited and cited <= set(assessment.recommendation.evidence_items.all())

    def test_running_the_demo_twice_changes_nothing(self, demo):
        before = everything()
        with override_settings(DEBUG=True):
            call_command("load_demo_data", stdout=StringIO())
        assert everything() == before


def edit_last_2025_quote(data: dict) -> str:
    entry = data["years"]["2025"][-1]
    first, rest = entry["quote"].split(" ", 1)
    entry["quote"] = f"{first} also {rest}"
    return entry["quote"]


def edit_a_carried_quote(data: dict) -> str:
    entry = data["years"]["2025"][-1]
    entry["carried_from"] = {"year": 2024, "quote": "Police investigated 99 cases in 2023."}
    return entry["quote"]


def edit_a_link(data: dict) -> str:
    entry = data["years"]["2025"][-1]
    entry["links"] = {"9": "GAP"}
    return entry["quote"]


@pytest.mark.parametrize(
    "edit, says",
    [
        (edit_last_2025_quote, "is not verbatim in"),
        (edit_a_carried_quote, "is carried from a quote 2024 does not have"),
        (edit_a_link, "links recommendation 9"),
    ],
)
@override_settings(DEBUG=True)
def test_a_bad_quote_fails_naming_it_and_writes_nothing(norway, tmp_path, monkeypatch, edit, says):
    data = json.loads(EVIDENCE.read_text(encoding="utf-8"))
    named = edit(data)
    path = tmp_path / "veldoria-evidence.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(load_demo_data, "FICTIONAL_EVIDENCE", path)
    before = everything()
    with pytest.raises(CommandError) as raised:
        call_command("load_demo_data", stdout=StringIO())
    assert f"the quote “{named}”" in str(raised.value) and says in str(raised.value)
    assert everything() == before
    assert not Report.objects.filter(country="Veldoria").exists()
    # Nothing was left half done: with the file mended the demo loads.
    monkeypatch.setattr(load_demo_data, "FICTIONAL_EVIDENCE", EVIDENCE)
    call_command("load_demo_data", stdout=StringIO())
    assert EvidenceItem.objects.filter(report__slug="veldoria-2025").exists()
