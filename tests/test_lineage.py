"""Lineage between years (docs/design.md, "Lineage between years"), on the fictional country
Veldoria (fixtures/sources/fictional/, 2023–2025, also the demo): proposals, chains, the
recommendation page, carrying a position forward, the "what changed" page, the JSON document and
the admin."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations.importer import import_report
from recommendations.lineage import (
    REVISED_THRESHOLD,
    chain,
    compare,
    dropped,
    match,
    propose_lineage,
    recommended_since,
    repeat_key,
    similarity,
    word_diff,
)
from recommendations.models import (
    Assessment,
    EvidenceItem,
    Lineage,
    Organization,
    Recommendation,
    Report,
    Section,
)
from recommendations.status import Status

from .conftest import ROOT, download, make_assessment, make_organization, make_user

CHAPTERS = ROOT / "fixtures" / "sources" / "fictional"
YEARS = (2023, 2024, 2025)


def import_veldoria(propose: bool = True) -> dict[int, Report]:
    """The three Veldoria chapters, imported in year order, each followed by its proposal (as
    the import will be)."""
    reports = {}
    for year in YEARS:
        path = CHAPTERS / f"tip-{year}-veldoria.txt"
        report = import_report(
            path.read_bytes(), name=path.name, country="Veldoria", year=year
        ).report
        if propose:
            propose_lineage(report)
        reports[year] = report
    return reports


def rec(year: int, number: int) -> Recommendation:
    return Recommendation.objects.get(report__slug=f"veldoria-{year}", number=number)


def summary(report: Report) -> dict[int, tuple[str, int | None]]:
    """number → (change, the previous recommendation's number)."""
    return {
        lineage.recommendation.number: (
            lineage.change,
            lineage.previous.number if lineage.previous else None,
        )
        for lineage in Lineage.objects.filter(recommendation__report=report).select_related(
            "recommendation", "previous"
        )
    }


@pytest.fixture
def veldoria(norway) -> dict[int, Report]:
    return import_veldoria()


@pytest.fixture
def veldorians(veldoria) -> dict:
    """Reviewers of two Veldorian organizations, an observer, and a Norwegian reviewer."""
    ministry = make_organization(
        "Veldorian Ministry of Justice", kind=Organization.Kind.GOVERNMENT, country="Veldoria"
    )
    shelters = make_organization("Marrosk Shelter Network", country="Veldoria")
    return {
        "gov": make_user("v.gov", ministry, first_name="Vera"),
        "ngo": make_user("v.ngo", shelters, first_name="Nika"),
        "observer": make_user(
            "v.observer", make_organization("Embassy of Elsewhere", kind="OTHER", country="")
        ),
        "norwegian": make_user("n.ngo", make_organization("Norsk nettverk")),
    }


# --- proposals ---------------------------------------------------------------------------


def test_the_first_year_has_no_lineage_and_nothing_dropped(veldoria):
    assert propose_lineage(veldoria[2023]) == []
    assert dropped(veldoria[2023]) == []


def test_each_recommendation_is_repeated_revised_or_new_and_the_rest_dropped(veldoria):
    assert summary(veldoria[2024]) == {
        1: ("REPEATED", 1),
        2: ("REVISED", 2),  # seasonal workers and referral added
        3: ("REPEATED", 3),  # a comma added: the same up to punctuation
        4: ("REVISED", 4),
        5: ("NEW", None),
        6: ("REPEATED", 6),
        7: ("NEW", None),
    }
    assert [r.number for r in dropped(veldoria[2024])] == [5, 7]
    assert summary(veldoria[2025]) == {
        1: ("REVISED", 1),
        2: ("REPEATED", 2),
        3: ("REPEATED", 3),
        4: ("REPEATED", 5),
        5: ("REPEATED", 7),
        6: ("NEW", None),
        7: ("NEW", None),
    }
    assert [r.number for r in dropped(veldoria[2025])] == [4, 6]
    revised = Lineage.objects.get(recommendation=rec(2024, 2))
    assert REVISED_THRESHOLD <= revised.similarity < 100
    assert Lineage.objects.get(recommendation=rec(2024, 1)).similarity == 100


def test_repeated_means_the_same_up_to_case_spacing_and_punctuation():
    assert repeat_key("Increase funding for NGO-run shelters and extend it.") == repeat_key(
        "increase  funding for NGO run shelters, and extend it"
    )
    assert repeat_key("Increase funding.") != repeat_key("Increase the funding.")


def test_the_threshold_separates_this_chapter_s_rewordings_from_unrelated_recommendations(
    veldoria,
):
    """Every pair the proposal did not match scores below the threshold; every rewording at or
    above it — with some room on both sides."""
    for earlier, later in ((2023, 2024), (2024, 2025)):
        matched = {
            (lineage.previous_id, lineage.recommendation_id)
            for lineage in Lineage.objects.filter(recommendation__report=veldoria[later])
        }
        for old in veldoria[earlier].recommendations.all():
            for new in veldoria[later].recommendations.all():
                score = similarity(old.text, new.text)
                if (old.pk, new.pk) in matched:
                    assert score >= REVISED_THRESHOLD + 5
                else:
                    assert score < REVISED_THRESHOLD - 5


def unsaved(pk: int, text: str) -> Recommendation:
    return Recommendation(pk=pk, number=pk, text=text)


def test_revised_from_the_threshold_up_new_below_it():
    old = unsaved(1, "Train labor inspectors to identify forced labor in seasonal agriculture.")
    new = unsaved(11, "Train police to identify forced labor among seasonal agricultural workers.")
    score = similarity(old.text, new.text)
    assert match([new], [old], threshold=score)[11].change == "REVISED"
    assert match([new], [old], threshold=score)[11].previous == old
    below = match([new], [old], threshold=score + 0.01)[11]
    assert (below.change, below.previous, below.similarity) == ("NEW", None, None)


def test_matches_are_one_to_one_the_best_score_first():
    old = unsaved(1, "Screen all migrants for indicators of trafficking before deportation.")
    close = unsaved(11, "Screen all migrants for indicators of trafficking before any deportation.")
    farther = unsaved(12, "Screen migrants and asylum-seekers for trafficking before deportation.")
    result = match([farther, close], [old])
    assert result[11].previous == old and result[11].change == "REVISED"
    assert result[12].change == "NEW"
    # A repeat takes its earlier recommendation before any rewording can.
    same = unsaved(13, old.text.upper())
    result = match([close, same], [old])
    assert (result[13].change, result[11].change) == ("REPEATED", "NEW")


def test_proposing_again_changes_nothing(veldoria):
    before = list(Lineage.objects.order_by("pk").values())
    history = Lineage.history.count()
    propose_lineage(veldoria[2024])
    propose_lineage(veldoria[2025])
    assert list(Lineage.objects.order_by("pk").values()) == before
    assert Lineage.history.count() == history


def test_a_wrong_unconfirmed_proposal_is_replaced(veldoria):
    lineage = Lineage.objects.get(recommendation=rec(2024, 5))
    lineage.change, lineage.previous = "REVISED", rec(2023, 7)
    lineage.save()
    propose_lineage(veldoria[2024])
    assert summary(veldoria[2024])[5] == ("NEW", None)


def test_confirmed_rows_are_kept_and_their_earlier_recommendation_stays_taken(veldoria):
    # A coordinator judges 2024's referral mechanism a rewording of 2023's action plan, and
    # 2024's recommendation 2 new.
    Lineage.objects.filter(recommendation=rec(2024, 2)).update(
        change="NEW", previous=None, confirmed=True
    )
    Lineage.objects.filter(recommendation=rec(2024, 5)).update(
        change="REVISED", previous=rec(2023, 5), confirmed=True
    )
    propose_lineage(veldoria[2024])
    result = summary(veldoria[2024])
    assert result[2] == ("NEW", None)
    assert result[5] == ("REVISED", 5)
    assert [r.number for r in dropped(veldoria[2024])] == [2, 7]


# --- chains ------------------------------------------------------------------------------


def test_the_chain_runs_from_the_earliest_year_to_the_latest(veldoria):
    for year in YEARS:
        steps = chain(rec(year, 1))
        assert [s.recommendation.report.year for s in steps] == [2023, 2024, 2025]
        assert [s.change for s in steps] == [None, "REPEATED", "REVISED"]
    assert steps[2].diff and not steps[1].diff
    # The referral mechanism: new in 2024, repeated in 2025 as recommendation 4.
    assert [
        (s.recommendation.report.year, s.recommendation.number) for s in chain(rec(2024, 5))
    ] == [
        (2024, 5),
        (2025, 4),
    ]
    assert [s.recommendation.pk for s in chain(rec(2025, 6))] == [rec(2025, 6).pk]


def test_recommended_since(veldoria):
    since = recommended_since(veldoria[2025])
    assert (since[rec(2025, 2).pk].first_year, since[rec(2025, 2).pk].years) == (2023, 3)
    assert (since[rec(2025, 4).pk].first_year, since[rec(2025, 4).pk].years) == (2024, 2)
    assert (since[rec(2025, 6).pk].first_year, since[rec(2025, 6).pk].years) == (2025, 1)
    assert since[rec(2025, 6).pk].change == "NEW"
    assert recommended_since(veldoria[2023]) == {}


def test_word_diff():
    segments = word_diff(
        "seek adequate sentences for traffickers",
        "seek sentences, including prison, for traffickers",
    )
    assert [(s.kind, s.text) for s in segments] == [
        ("same", "seek"),
        ("removed", "adequate sentences"),
        ("added", "sentences, including prison,"),
        ("same", "for traffickers"),
    ]


# --- the recommendation page -------------------------------------------------------------


def test_the_page_shows_the_chain_the_diff_since_and_last_year_s_positions(client, veldorians):
    make_assessment(rec(2024, 1), veldorians["gov"], Status.IN_PROGRESS)
    make_assessment(rec(2024, 1), veldorians["ngo"], Status.NO_PROGRESS)
    client.force_login(veldorians["observer"])
    page = client.get("/reports/veldoria-2025/recommendations/1/").content.decode()
    assert "Recommended since <strong>2023</strong> (3 years)" in page
    assert 'href="/reports/veldoria-2023/recommendations/1/"' in page
    assert 'href="/reports/veldoria-2024/recommendations/1/"' in page
    assert '<span class="visually-hidden" lang="en-gb">removed: </span>including</del>' in page
    assert '<span class="visually-hidden" lang="en-gb">added: </span>especially</ins>' in page
    assert "Positions on the 2024 recommendation" in page
    assert "Veldorian Ministry of Justice" in page and "Marrosk Shelter Network" in page
    assert "Carry" not in page  # an observer writes nothing
    # The 2024 page: repeated from 2023, revised later.
    page = client.get("/reports/veldoria-2024/recommendations/1/").content.decode()
    assert "Same text as the year before" in page
    assert "(2 years; still recommended later)" in page


def test_a_recommendation_without_lineage_shows_no_chain(client, veldorians):
    client.force_login(veldorians["observer"])
    assert (
        'id="lineage"'
        not in client.get("/reports/veldoria-2025/recommendations/6/").content.decode()
    )
    assert (
        'id="lineage"' not in client.get("/reports/norway-2024/recommendations/1/").content.decode()
    )


def carry_url(year: int, number: int) -> str:
    return f"/reports/veldoria-{year}/recommendations/{number}/carry-forward/"


def test_a_reviewer_carries_the_position_forward(client, veldorians):
    make_assessment(rec(2024, 2), veldorians["ngo"], Status.PARTIALLY_IMPLEMENTED)
    client.force_login(veldorians["ngo"])
    page = client.get("/reports/veldoria-2025/recommendations/2/").content.decode()
    assert f'action="{carry_url(2025, 2)}"' in page
    assert '<option value="PARTIALLY_IMPLEMENTED" selected>' in page
    response = client.post(
        carry_url(2025, 2), {"status": "PARTIALLY_IMPLEMENTED", "rationale": "As last year."}
    )
    assert response.status_code == 302
    assessment = Assessment.objects.get(recommendation=rec(2025, 2))
    assert (assessment.status, assessment.rationale) == ("PARTIALLY_IMPLEMENTED", "As last year.")
    assert assessment.organization.name == "Marrosk Shelter Network"
    assert not assessment.cited_evidence.exists()
    page = client.get(response["Location"]).content.decode()
    assert "Position carried forward" in page
    assert f'action="{carry_url(2025, 2)}"' not in page  # assessed now
    # Twice: refused, nothing recorded.
    client.post(carry_url(2025, 2), {"status": "IN_PROGRESS", "rationale": "Again."})
    assert Assessment.objects.filter(recommendation=rec(2025, 2)).count() == 1


def test_carrying_forward_takes_a_rationale_and_a_position_to_carry(client, veldorians):
    make_assessment(rec(2024, 2), veldorians["ngo"], Status.IN_PROGRESS)
    client.force_login(veldorians["ngo"])
    response = client.post(
        carry_url(2025, 2), {"status": "IN_PROGRESS", "rationale": "  "}, follow=True
    )
    assert "Give the reasons for carrying it forward." in response.content.decode()
    # Implemented needs evidence, which a carried position never cites.
    response = client.post(
        carry_url(2025, 2), {"status": "IMPLEMENTED", "rationale": "Done."}, follow=True
    )
    assert "needs at least one cited evidence item" in response.content.decode()
    # No position on 2024's recommendation 1 to carry forward.
    response = client.post(
        carry_url(2025, 1), {"status": "IN_PROGRESS", "rationale": "x"}, follow=True
    )
    assert "no position on the previous year" in response.content.decode()
    assert not Assessment.objects.filter(recommendation__report__year=2025).exists()


@pytest.mark.parametrize("who", ["observer", "norwegian"])
def test_only_the_country_s_reviewers_carry_forward(client, veldorians, who):
    make_assessment(rec(2024, 2), veldorians["ngo"], Status.IN_PROGRESS)
    client.force_login(veldorians[who])
    response = client.post(carry_url(2025, 2), {"status": "IN_PROGRESS", "rationale": "Mine."})
    assert response.status_code == 403
    assert not Assessment.objects.filter(recommendation=rec(2025, 2)).exists()


# --- the dashboard -----------------------------------------------------------------------


def test_the_dashboard_shows_badges_and_since(client, veldorians):
    client.force_login(veldorians["observer"])
    page = client.get("/reports/veldoria-2025/").content.decode()

    def badge(change: str, since: str) -> str:
        label = change.capitalize()
        return f'"lineage-badge lineage-{change}">{label}</span> <span class="since">{since}</span>'

    # The chain's every year: 1 repeated in 2024, revised in 2025; 2 revised in 2024, repeated
    # in 2025 (never "repeated since 2023"); 3 repeated both years; 4 new in 2024, then repeated.
    assert badge("REVISED", "since 2023, revised 2025") in page
    assert badge("REPEATED", "since 2023, revised 2024") in page
    assert badge("REPEATED", "since 2023") in page
    assert badge("REPEATED", "since 2024") in page
    assert page.count('<span class="lineage-badge lineage-NEW">New</span>') == 2
    client.cookies["django_language"] = "nb"
    norwegian = client.get("/reports/veldoria-2025/").content.decode()
    assert '<span class="since">siden 2023, endret 2024</span>' in norwegian
    assert "lineage-badge" not in client.get("/reports/veldoria-2023/").content.decode()


# --- what changed ------------------------------------------------------------------------


def quote(report: Report, text: str) -> EvidenceItem:
    start = report.source_text.index(text)
    section = report.sections.get(start_offset__lte=start, end_offset__gte=start + len(text))
    return EvidenceItem.objects.create(
        report=report, section=section, quote=text, start_offset=start, end_offset=start + len(text)
    )


def test_the_changes_page(client, veldorians, veldoria):
    quote(
        veldoria[2024],
        "Male victims stayed in hostels for migrant workers without specialized care.",
    )
    quote(veldoria[2024], "Police investigated 19 cases in 2023, compared with 14 in 2022.")
    client.force_login(veldorians["observer"])
    page = client.get("/reports/veldoria-2025/changes/").content.decode()
    assert "What changed from 2024 to 2025" in page
    assert "Tier 2 Watch List in 2024 → <strong>Tier 2</strong> in 2025" in page
    assert "upgraded" in page
    assert "2 new · 1 revised · 4 repeated · 2 dropped" in page
    assert "Provide specialized training for judges" in page  # added
    assert "Amend the penal code to remove the requirement" in page  # dropped
    assert (
        '<span class="visually-hidden" lang="en-gb">added: </span>especially</ins>' in page
    )  # revised
    # Sentences: the prosecution section's new figures, last year's gone.
    assert "<li>Police investigated 27 cases in 2024, compared with 19 in 2023.</li>" in page
    assert "Inconsistent with international law, the code required" in page  # removed
    assert "<li>The two state-funded shelters continued to accept" not in page  # unchanged
    assert "1 of 2 quotes stand word for word in the 2025 report." in page


def test_comparing_with_an_earlier_year(veldoria):
    comparison = compare(veldoria[2023], veldoria[2025])
    assert comparison.tier_change == "up"
    assert [r.number for r in comparison.added] == [4, 5, 6, 7]
    assert [r.number for r in comparison.dropped] == [4, 5, 6, 7]
    repeated = {(c.earlier.number, c.later.number) for c in comparison.repeated}
    revised = {(c.earlier.number, c.later.number) for c in comparison.revised}
    # 2023's 2 was revised in 2024, then repeated: revised over the two years.
    assert revised == {(1, 1), (2, 2)}
    assert repeated == {(3, 3)}
    summary_changes = next(s for s in comparison.sections if s.kind == Section.Kind.SUMMARY)
    assert "Therefore Veldoria was upgraded to Tier 2." in summary_changes.added


def test_the_changes_page_chooses_the_earlier_year(client, veldorians):
    client.force_login(veldorians["observer"])
    page = client.get("/reports/veldoria-2025/changes/?from=veldoria-2023").content.decode()
    assert "What changed from 2023 to 2025" in page
    assert '<option value="veldoria-2023" selected>' in page
    assert client.get("/reports/veldoria-2025/changes/?from=norway-2024").status_code == 404
    assert client.get("/reports/veldoria-2024/changes/?from=veldoria-2025").status_code == 404


def test_the_changes_page_without_an_earlier_year_and_of_no_report(client, veldorians):
    client.force_login(veldorians["observer"])
    response = client.get("/reports/veldoria-2023/changes/")
    assert response.status_code == 200
    assert "no earlier report of Veldoria" in response.content.decode()
    assert client.get("/reports/no-such-report/changes/").status_code == 404


# --- the document ------------------------------------------------------------------------


def test_the_json_document_has_lineage_and_dropped(client, veldorians):
    client.force_login(veldorians["observer"])
    document = json.loads(download(client, "/reports/veldoria-2025/export.json"))
    lineage = {r["number"]: r["lineage"] for r in document["recommendations"]}
    assert lineage[1] == {
        "previous": "veldoria-2024/1",
        "change": "REVISED",
        "first_year": 2023,
        "years_recommended": 3,
    }
    assert lineage[4] == {
        "previous": "veldoria-2024/5",
        "change": "REPEATED",
        "first_year": 2024,
        "years_recommended": 2,
    }
    assert lineage[6] == {
        "previous": None,
        "change": "NEW",
        "first_year": 2025,
        "years_recommended": 1,
    }
    assert [d["id"] for d in document["dropped"]] == ["veldoria-2024/4", "veldoria-2024/6"]
    assert document["dropped"][0]["text"].startswith("Train labor inspectors and police")
    first = json.loads(download(client, "/reports/veldoria-2023/export.json"))
    assert first["dropped"] == []
    assert first["recommendations"][0]["lineage"] == {
        "previous": None,
        "change": "NEW",
        "first_year": 2023,
        "years_recommended": 1,
    }


def test_the_document_s_queries_do_not_grow_with_the_recommendations(client, veldorians):
    client.force_login(veldorians["observer"])

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            download(client, url)
        return len(captured)

    one = queries("/reports/veldoria-2025/export.json?q=judges")
    assert queries("/reports/veldoria-2025/export.json") == one


# --- admin -------------------------------------------------------------------------------


def test_a_coordinator_confirms_and_changes_a_match_in_admin(client, people, veldoria):
    client.force_login(people["coordinator"])
    lineage = Lineage.objects.get(recommendation=rec(2024, 5))
    url = f"/admin/recommendations/lineage/{lineage.pk}/change/"
    page = client.get(url).content.decode()
    assert "Adopt and fund a new national action plan" in page  # 2023 choices
    assert "Vigorously investigate trafficking crimes" not in page  # no Norwegian ones
    # Each choice is named with its report and year; only earlier years of Veldoria.
    previous = re.search(r'<select name="previous".*?</select>', page, re.S)[0]
    labels = re.findall(r'<option value="\d+"[^>]*>([^<]*)</option>', previous)
    assert labels and all(label.startswith("Veldoria 2023 · ") for label in labels)
    response = client.post(url, {"previous": rec(2023, 5).pk, "change": "REVISED", "confirmed": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    lineage.refresh_from_db()
    assert (lineage.previous, lineage.change, lineage.confirmed) == (rec(2023, 5), "REVISED", True)
    latest = lineage.history.latest()
    assert latest.history_user == people["coordinator"]
    # A new recommendation has no previous one.
    response = client.post(url, {"previous": rec(2023, 5).pk, "change": "NEW"})
    assert response.status_code == 200
    assert "A new recommendation has no previous one" in response.content.decode()
    # Kept through a new proposal.
    propose_lineage(veldoria[2024])
    assert summary(veldoria[2024])[5] == ("REVISED", 5)


def test_after_an_import_admin_points_to_the_lineage_to_confirm_and_the_evidence(
    client, people, norway
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    import_veldoria(propose=True)
    Report.objects.filter(slug="veldoria-2025").delete()
    client.force_login(people["coordinator"])
    chapter = (CHAPTERS / "tip-2025-veldoria.txt").read_bytes()
    url = "/admin/recommendations/report/import/"
    file = SimpleUploadedFile("tip-2025-veldoria.txt", chapter, content_type="text/plain")
    confirm = client.post(url, {"file": file, "country": "", "year": ""}).context["confirm"]
    response = client.post(
        url, {"text": confirm.initial["text"], "token": confirm.initial["token"]}, follow=True
    )
    report = Report.objects.get(slug="veldoria-2025")
    proposals = Lineage.objects.filter(recommendation__report=report).count()
    assert proposals == report.recommendations.count()
    assert (
        f"Imported veldoria-2025: {proposals} recommendations. Next: "
        f'<a href="/admin/recommendations/lineage/?recommendation__report__id__exact={report.pk}">'
        f"confirm the {proposals} matches proposed with the year before</a>, then "
        '<a href="/reports/veldoria-2025/evidence/">curate its evidence</a>.'
    ) in response.content.decode()


def test_the_confirm_action(client, people, veldoria):
    client.force_login(people["coordinator"])
    pks = list(
        Lineage.objects.filter(recommendation__report=veldoria[2025]).values_list("pk", flat=True)
    )
    response = client.post(
        "/admin/recommendations/lineage/", {"action": "confirm", "_selected_action": pks}
    )
    assert response.status_code == 302
    assert Lineage.objects.filter(confirmed=True).count() == 7
