"""Curating evidence without admin: the reader's quote panel, the evidence workspace (carried
quotes, ranked suggestions, coverage) and where the result shows (docs/design.md, "Curating
evidence")."""

import re

import pytest

from recommendations.lineage import similarity
from recommendations.models import (
    DeclinedCarry,
    EvidenceItem,
    EvidenceLink,
    Lineage,
    Recommendation,
    Report,
    SectionKind,
    Stance,
)
from recommendations.sentences import sentence_spans
from recommendations.suggestions import CHANGED_THRESHOLD, suggest

from .conftest import HTMX, make_assessment
from .test_lineage import import_veldoria
from .test_lineage import quote as quote_in

QUOTE = "/reports/norway-2024/source/quote/"
WORKSPACE = "/reports/norway-2024/evidence/"


def section_sentences(report: Report, kind: str) -> list[tuple[int, int]]:
    section = report.sections.get(kind=kind)
    return sentence_spans(report.source_text, section.start_offset, section.end_offset)


def unquoted_run(report: Report, length: int = 1) -> list[tuple[int, int]]:
    """`length` consecutive sentences of one line of a narrative section that no evidence item
    touches."""
    items = list(report.evidence_items.all())
    text = report.source_text
    for kind in (SectionKind.PROTECTION, SectionKind.PREVENTION, SectionKind.PROSECUTION):
        spans = section_sentences(report, kind)
        for at in range(len(spans) - length + 1):
            run = spans[at : at + length]
            if "\n" in text[run[0][0] : run[-1][1]]:
                continue
            if not any(i.start_offset < run[-1][1] and run[0][0] < i.end_offset for i in items):
                return run
    raise AssertionError(f"no {length} unquoted sentences in a row")


def unquoted_sentence(report: Report) -> tuple[int, int]:
    return unquoted_run(report)[0]


def stances(**by_number: str) -> dict[str, str]:
    return {f"stance_{number.removeprefix('r')}": stance for number, stance in by_number.items()}


@pytest.fixture
def coordinator_client(client, people):
    client.force_login(people["coordinator"])
    return client


# --- the reader ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ngo", "observer", "staff"])
def test_readers_without_the_permission_see_the_reader_as_before(client, people, who):
    client.force_login(people[who])
    page = client.get("/reports/norway-2024/source/").content.decode()
    assert "Quote a passage" not in page
    assert "data-start" not in page and "data-quote-url" not in page
    assert "reader.js" not in page and "edit-quote" not in page
    assert "no quote yet" not in page


def test_a_coordinator_s_reader_has_the_quote_form_and_an_edit_link_per_quote(
    coordinator_client, norway
):
    page = coordinator_client.get("/reports/norway-2024/source/").content.decode()
    assert 'id="quote-form"' in page and "reader.js" in page
    for item in norway.evidence_items.all():
        assert f'href="/reports/norway-2024/source/evidence/{item.pk}/"' in page
    # Every paragraph says where it starts, so the script can turn a selection into offsets.
    for paragraph in norway.paragraphs.exclude(section__kind=SectionKind.RECOMMENDATIONS):
        assert f'data-start="{paragraph.start_offset}"' in page


def test_the_reader_names_the_sections_no_quote_touches(coordinator_client, norway):
    profile = norway.sections.get(kind=SectionKind.TRAFFICKING_PROFILE)
    norway.evidence_items.filter(section=profile).delete()
    EvidenceLink.objects.filter(evidence__section=profile).delete()
    page = coordinator_client.get("/reports/norway-2024/source/").content.decode()
    contents = page[page.index('id="source-contents-heading"') : page.index('id="quote-form"')]
    flagged = re.findall(r'href="#section-(\w+)">[^<]*</a> <span class="flag">', contents)
    assert flagged == ["trafficking_profile"]


# --- the quote panel -------------------------------------------------------------------------


def test_a_selection_snaps_to_whole_sentences(coordinator_client, norway):
    start, end = unquoted_sentence(norway)
    response = coordinator_client.get(QUOTE, {"start": start + 3, "end": start + 9}, **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="quote-panel-heading"' in page and "<html" not in page  # the partial only
    assert f'name="start" value="{start}"' in page and f'name="end" value="{end}"' in page
    assert norway.source_text[start:end] in page.replace("&#x27;", "'").replace("&quot;", '"')


def test_the_panel_widens_and_narrows_by_a_sentence(coordinator_client, norway):
    (s1, _), (s2, e2), (_, e3) = unquoted_run(norway, 3)
    wider = coordinator_client.get(QUOTE, {"start": s2, "end": e2, "before": 1, "after": 1})
    assert f'name="start" value="{s1}"' in wider.content.decode()
    assert f'name="end" value="{e3}"' in wider.content.decode()
    # Narrowing never leaves less than one sentence.
    narrower = coordinator_client.get(QUOTE, {"start": s2, "end": e2, "before": -1})
    assert f'name="start" value="{s2}"' in narrower.content.decode()
    assert f'name="end" value="{e2}"' in narrower.content.decode()


def test_a_pasted_quote_is_found_and_kept_as_pasted(coordinator_client, norway):
    start, end = unquoted_sentence(norway)
    words = norway.source_text[start:end].split(" ")
    pasted = " ".join(words[2:6])
    response = coordinator_client.get(QUOTE, {"quote": pasted})
    at = norway.source_text.index(pasted)
    assert f'name="start" value="{at}"' in response.content.decode()
    assert f'name="end" value="{at + len(pasted)}"' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Paste a quote, or give the first character"),
        ({"start": "50", "end": "10"}, "must end after it starts"),
        ({"start": "1", "end": "99999999"}, "are not in the report"),
        ({"start": "x", "end": "10"}, "Enter a whole number"),
        ({"quote": "Nothing like this is in any report, surely."}, "is not verbatim"),
    ],
)
def test_bad_passages_are_refused_with_a_reason(coordinator_client, params, message):
    response = coordinator_client.get(QUOTE, params)
    assert response.status_code == 422
    assert message in response.content.decode()


def test_the_recommendations_themselves_are_not_evidence(coordinator_client, norway):
    first = norway.recommendations.get(number=1)
    response = coordinator_client.get(QUOTE, {"start": first.start_offset, "end": first.end_offset})
    assert response.status_code == 422
    assert "is one of the recommendations" in response.content.decode()


def test_saving_a_quote_links_it_with_stances_and_keeps_the_audit_trail(
    coordinator_client, norway, people
):
    start, end = unquoted_sentence(norway)
    before = EvidenceItem.objects.count()
    response = coordinator_client.post(
        QUOTE,
        {"start": start, "end": end, "note": "Why it matters.", **stances(r2="GAP", r7="PROGRESS")},
    )
    item = EvidenceItem.objects.get(report=norway, start_offset=start, end_offset=end)
    assert response.status_code == 302
    assert response["Location"] == f"/reports/norway-2024/source/#evidence-{item.pk}"
    assert EvidenceItem.objects.count() == before + 1
    assert item.quote == norway.source_text[start:end]
    assert item.section.start_offset <= start and end <= item.section.end_offset
    assert item.note == "Why it matters."
    assert {(link.recommendation.number, link.stance) for link in item.links.all()} == {
        (2, Stance.GAP),
        (7, Stance.PROGRESS),
    }
    assert item.history.get().history_user == people["coordinator"]
    assert {h.history_user for h in EvidenceLink.history.filter(evidence_id=item.pk)} == {
        people["coordinator"]
    }


def test_an_htmx_save_reloads_the_reader_at_the_new_quote(coordinator_client, norway):
    (start, end), (start2, end2) = unquoted_run(norway, 2)
    reader = "http://testserver/reports/norway-2024/source/"
    response = coordinator_client.post(
        QUOTE,
        {"start": start, "end": end, **stances(r3="CONTEXT")},
        HTTP_HX_CURRENT_URL=reader,
        **HTMX,
    )
    item = EvidenceItem.objects.get(report=norway, start_offset=start)
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/reports/norway-2024/source/#evidence-{item.pk}"
    # From the reader only the anchor would change: HTMX must load the page again.
    assert response["HX-Refresh"] == "true"
    response = coordinator_client.post(
        QUOTE,
        {"start": start2, "end": end2, **stances(r3="CONTEXT")},
        HTTP_HX_CURRENT_URL="http://testserver/reports/norway-2024/source/quote/?quote=x",
        **HTMX,
    )
    assert response.status_code == 204 and "HX-Refresh" not in response


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "Link the quote to at least one recommendation."),
        (stances(r1="MAYBE"), "Select a valid choice"),
        ({"note": "bad\x00note", **stances(r1="GAP")}, "Null characters are not allowed"),
    ],
)
def test_a_refused_save_writes_nothing_and_says_why(coordinator_client, norway, extra, message):
    start, end = unquoted_sentence(norway)
    items, links = EvidenceItem.objects.count(), EvidenceLink.objects.count()
    response = coordinator_client.post(QUOTE, {"start": start, "end": end, **extra})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert (EvidenceItem.objects.count(), EvidenceLink.objects.count()) == (items, links)


def test_offsets_across_two_sections_are_refused(coordinator_client, norway):
    protection = norway.sections.get(kind=SectionKind.PROTECTION)
    response = coordinator_client.post(
        QUOTE,
        {
            "start": protection.end_offset - 20,
            "end": protection.end_offset + 20,
            **stances(r1="GAP"),
        },
    )
    assert response.status_code == 422
    assert "spans two sections" in response.content.decode()
    assert not EvidenceItem.objects.filter(start_offset=protection.end_offset - 20).exists()


def test_selecting_an_existing_quote_opens_it(coordinator_client, norway):
    item = norway.evidence_items.order_by("pk").first()
    response = coordinator_client.get(QUOTE, {"start": item.start_offset, "end": item.end_offset})
    assert response.status_code == 302
    assert response["Location"] == f"/reports/norway-2024/source/evidence/{item.pk}/"


def test_an_existing_quote_s_links_and_stances_change_and_unlink(coordinator_client, norway):
    item = norway.evidence_items.order_by("pk").first()
    link = item.links.order_by("pk").first()
    number = link.recommendation.number
    url = f"/reports/norway-2024/source/evidence/{item.pk}/"
    page = coordinator_client.get(url).content.decode()
    assert re.search(rf'<option value="{link.stance}" selected>', page)
    other = 10 if number != 10 else 9
    response = coordinator_client.post(
        url,
        {
            "start": item.start_offset,
            "end": item.end_offset,
            "seen": seen_in(page),
            "note": "Changed.",
            **{f"stance_{number}": "", f"stance_{other}": "CONTEXT"},
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.note == "Changed."
    links = {(lk.recommendation.number, lk.stance) for lk in item.links.all()}
    assert links == {(other, "CONTEXT")}
    assert EvidenceLink.history.filter(evidence_id=item.pk, history_type="-").exists()


def seen_in(page: str) -> str:
    """The links and note the panel showed (its hidden `seen` field)."""
    match = re.search(r'name="seen" value="([^"]*)"', page)
    assert match, "the panel sends back what it showed"
    return match.group(1)


def test_a_panel_opened_before_someone_else_s_change_does_not_undo_it(coordinator_client, norway):
    item = norway.evidence_items.order_by("pk").first()
    url = f"/reports/norway-2024/source/evidence/{item.pk}/"
    page = coordinator_client.get(url).content.decode()
    stances_shown = {link.recommendation.number: link.stance for link in item.links.all()}
    # Meanwhile another coordinator links the item to one more recommendation.
    added = next(r for r in norway.recommendations.all() if r.number not in stances_shown)
    EvidenceLink.objects.create(evidence=item, recommendation=added, stance=Stance.CONTEXT)
    data = {f"stance_{n}": s for n, s in stances_shown.items()}
    response = coordinator_client.post(
        url,
        {"start": item.start_offset, "end": item.end_offset, "seen": seen_in(page), **data},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Someone changed this quote" in page
    assert re.search(
        rf'name="stance_{added.number}"[^>]*>.*?<option value="CONTEXT" selected', page, re.S
    )
    assert item.links.filter(recommendation=added).exists()  # not undone


def test_a_link_its_recommendation_cites_is_not_taken_away(coordinator_client, norway, people):
    item = norway.evidence_items.order_by("pk").first()
    link = item.links.order_by("pk").first()
    make_assessment(link.recommendation, people["ngo"]).cited_evidence.add(item)
    url = f"/reports/norway-2024/source/evidence/{item.pk}/"
    page = coordinator_client.get(url).content.decode()
    data = {f"stance_{lk.recommendation.number}": lk.stance for lk in item.links.all()}
    data[f"stance_{link.recommendation.number}"] = ""
    response = coordinator_client.post(
        url, {"start": item.start_offset, "end": item.end_offset, "seen": seen_in(page), **data}
    )
    assert response.status_code == 422
    assert f"stays linked to recommendation {link.recommendation.number}" in (
        response.content.decode()
    )
    assert EvidenceLink.objects.filter(pk=link.pk).exists()


def test_accepting_never_changes_a_stance_another_coordinator_chose(coordinator_client, norway):
    item = norway.evidence_items.order_by("pk").first()
    link = item.links.order_by("pk").first()
    other = next(s for s in Stance.values if s != link.stance)
    response = coordinator_client.post(
        f"{WORKSPACE}accept/",
        {
            "number": link.recommendation.number,
            "start": item.start_offset,
            "end": item.end_offset,
            "stance": other,
        },
        follow=True,
    )
    assert "is already linked to recommendation" in response.content.decode()
    link.refresh_from_db()
    assert link.stance != other


def test_a_pasted_quote_loses_the_spaces_a_copy_picks_up(coordinator_client, norway):
    start, end = unquoted_sentence(norway)
    sentence = norway.source_text[start:end]
    response = coordinator_client.get(QUOTE, {"quote": f"\n  {sentence} \n"})
    assert f'name="start" value="{start}"' in response.content.decode()
    assert f'name="end" value="{end}"' in response.content.decode()


def test_an_uncited_quote_is_deleted_a_cited_one_stays(coordinator_client, norway, people):
    cited, uncited = norway.evidence_items.order_by("pk")[:2]
    recommendation = cited.links.first().recommendation
    assessment = make_assessment(recommendation, people["ngo"])
    assessment.cited_evidence.add(cited)
    page = coordinator_client.get(f"/reports/norway-2024/source/evidence/{cited.pk}/")
    assert "Cited, so it cannot be deleted" in page.content.decode()
    assert 'name="delete"' not in page.content.decode()
    coordinator_client.post(f"/reports/norway-2024/source/evidence/{cited.pk}/", {"delete": "1"})
    assert EvidenceItem.objects.filter(pk=cited.pk).exists()
    assert not uncited.citations()
    url = f"/reports/norway-2024/source/evidence/{uncited.pk}/"
    assert 'name="delete"' in coordinator_client.get(url).content.decode()
    coordinator_client.post(url, {"delete": "1"})
    assert not EvidenceItem.objects.filter(pk=uncited.pk).exists()
    assert not EvidenceLink.objects.filter(evidence_id=uncited.pk).exists()


def test_an_item_of_another_report_is_not_found_here(coordinator_client, norway, veldoria):
    item = norway.evidence_items.first()
    for slug in ("no-such-report", "veldoria-2025"):
        url = f"/reports/{slug}/source/evidence/{item.pk}/"
        assert coordinator_client.get(url).status_code == 404
        assert coordinator_client.post(url, {"delete": "1"}).status_code == 404
    assert EvidenceItem.objects.filter(pk=item.pk).exists()


def test_only_an_earlier_year_of_the_same_country_is_carried_from(
    coordinator_client, norway, veldoria
):
    """A quote of another country, or of the same or a later year, is not found as the
    earlier quote of a carry."""
    start, end = section_sentences(veldoria[2024], SectionKind.PROSECUTION)[0]
    later = veldoria[2025]
    later_start, later_end = section_sentences(later, SectionKind.PROSECUTION)[0]
    another_country = norway.evidence_items.first()
    a_later_year = quote_in(later, later.source_text[later_start:later_end])
    for earlier in (another_country, a_later_year):
        accept = {"number": 1, "start": start, "end": end, "stance": "GAP"}
        for url, data in (
            ("/reports/veldoria-2024/evidence/accept/", accept),
            ("/reports/veldoria-2024/evidence/decline/", {"number": 1}),
        ):
            response = coordinator_client.post(url, {**data, "from_evidence": earlier.pk})
            assert response.status_code == 404
    assert not EvidenceItem.objects.filter(report=veldoria[2024]).exists()
    assert not DeclinedCarry.objects.exists()


@pytest.mark.parametrize("who", ["ngo", "observer", "staff"])
def test_only_curators_quote(client, people, norway, who):
    client.force_login(people[who])
    start, end = unquoted_sentence(norway)
    count = EvidenceItem.objects.count()
    assert client.get(QUOTE, {"start": start, "end": end}).status_code == 403
    response = client.post(QUOTE, {"start": start, "end": end, **stances(r1="GAP")})
    assert response.status_code == 403
    assert EvidenceItem.objects.count() == count
    assert client.get(WORKSPACE).status_code == 403


# --- the workspace: coverage, carried quotes, ranked suggestions -------------------------------


@pytest.fixture
def veldoria(norway):
    return import_veldoria()


def carried_pair(veldoria) -> tuple[Recommendation, Recommendation]:
    """A 2024 recommendation that carries on a 2023 one (by the proposed lineage)."""
    lineage = (
        Lineage.objects.filter(recommendation__report=veldoria[2024], previous__isnull=False)
        .select_related("recommendation", "previous")
        .order_by("recommendation__number")
        .first()
    )
    return lineage.previous, lineage.recommendation


def shared_and_changed_sentences(earlier: Report, later: Report) -> tuple[str, str]:
    """A narrative sentence both years have word for word, and one the earlier year has that
    the later year changed (and does not have verbatim)."""

    def narrative(report: Report) -> list[str]:
        spans = []
        for section in report.sections.exclude(kind=SectionKind.RECOMMENDATIONS):
            spans += sentence_spans(report.source_text, section.start_offset, section.end_offset)
        return [report.source_text[s:e] for s, e in spans]

    later_text = later.source_text
    old = narrative(earlier)
    same = next(s for s in old if len(s) > 60 and s in later_text)
    changed = next(
        s for s in old if len(s) > 60 and s not in later_text and suggest_changed(s, later)
    )
    return same, changed


def vanished_sentence(earlier: Report, later: Report) -> str:
    """The narrative sentence of the earlier year least like any sentence of the later one
    (below the engine's threshold for "the same sentence, changed")."""
    candidates = [
        earlier.source_text[s:e]
        for section in earlier.sections.exclude(kind=SectionKind.RECOMMENDATIONS)
        for s, e in sentence_spans(earlier.source_text, section.start_offset, section.end_offset)
    ]
    later_sentences = [
        later.source_text[s:e]
        for section in later.sections.exclude(kind=SectionKind.RECOMMENDATIONS)
        for s, e in sentence_spans(later.source_text, section.start_offset, section.end_offset)
    ]
    best = {c: max(similarity(c, other) for other in later_sentences) for c in candidates}
    sentence = min((c for c in candidates if len(c) > 40), key=best.__getitem__)
    assert best[sentence] < CHANGED_THRESHOLD
    return sentence


def suggest_changed(sentence: str, later: Report, above: int = 85) -> bool:
    from rapidfuzz import fuzz

    return any(
        fuzz.ratio(sentence, later.source_text[s:e]) > above
        for section in later.sections.exclude(kind=SectionKind.RECOMMENDATIONS)
        for s, e in sentence_spans(later.source_text, section.start_offset, section.end_offset)
    )


def test_the_workspace_carries_quotes_forward_and_the_coordinator_accepts_them(
    client, people, veldoria
):
    client.force_login(people["coordinator"])
    earlier, later = carried_pair(veldoria)
    same, changed = shared_and_changed_sentences(veldoria[2023], veldoria[2024])
    kept = quote_in(veldoria[2023], same)
    revised = quote_in(veldoria[2023], changed)
    gone = quote_in(veldoria[2023], vanished_sentence(veldoria[2023], veldoria[2024]))
    EvidenceLink.objects.create(evidence=kept, recommendation=earlier, stance=Stance.GAP)
    EvidenceLink.objects.create(evidence=revised, recommendation=earlier, stance=Stance.PROGRESS)
    EvidenceLink.objects.create(evidence=gone, recommendation=earlier, stance=Stance.CONTEXT)
    url = "/reports/veldoria-2024/evidence/"
    page = client.get(url).content.decode()
    assert "Carried forward from the year before" in page
    assert "word for word" in page and "changed" in page
    assert "<del>" in page and "<ins>" in page  # the changed one's word diff
    vanished = page[page.index("No longer in the report:") :]
    assert f"(E{gone.pk}, Context)" in vanished

    # Every verbatim proposal at once.
    response = client.post("/reports/veldoria-2024/evidence/accept-verbatim/")
    assert response.status_code == 302
    carried = EvidenceItem.objects.get(report=veldoria[2024], carried_from=kept)
    assert carried.quote == same
    assert carried.links.get().recommendation == later
    assert carried.links.get().stance == Stance.GAP
    assert not EvidenceItem.objects.filter(report=veldoria[2024], carried_from=revised).exists()

    # The changed one: declined, then not proposed again.
    client.post(
        "/reports/veldoria-2024/evidence/decline/",
        {"number": later.number, "from_evidence": revised.pk},
    )
    assert DeclinedCarry.objects.filter(recommendation=later, evidence=revised).exists()
    page = client.get(url).content.decode()
    assert f'name="from_evidence" value="{revised.pk}"' not in page
    assert f'name="from_evidence" value="{kept.pk}"' not in page  # accepted: not shown again

    # The recommendation page shows the chain.
    page = client.get(f"/reports/veldoria-2024/recommendations/{later.number}/").content.decode()
    assert "Also quoted in" in page and f"2023 ({kept.label})" in page


def test_a_ranked_suggestion_is_accepted_with_a_stance_in_one_step(client, people, veldoria):
    client.force_login(people["coordinator"])
    report = veldoria[2025]
    proposal = suggest(report).for_recommendation(1)[0]
    page = client.get("/reports/veldoria-2025/evidence/").content.decode()
    assert f'name="start" value="{proposal.start}"' in page
    assert 'class="matched"' in page
    response = client.post(
        "/reports/veldoria-2025/evidence/accept/",
        {"number": 1, "start": proposal.start, "end": proposal.end, "stance": "GAP"},
    )
    assert response.status_code == 302
    item = EvidenceItem.objects.get(report=report, start_offset=proposal.start)
    assert item.links.get().stance == Stance.GAP
    assert item.links.get().recommendation.number == 1


def test_accepting_takes_a_stance_and_a_passage_of_this_report(client, people, veldoria):
    client.force_login(people["coordinator"])
    report = veldoria[2025]
    start, end = section_sentences(report, SectionKind.PROSECUTION)[0]
    count = EvidenceItem.objects.count()
    url = "/reports/veldoria-2025/evidence/accept/"
    for data, message in (
        ({"number": 1, "start": start, "end": end}, "This field is required"),  # no stance
        ({"number": 1, "start": start, "end": end, "stance": "SOMETIMES"}, "Select a valid"),
    ):
        response = client.post(url, data)
        assert response.status_code == 400 and message in response.content.decode()
    response = client.post(
        url, {"number": 1, "start": end, "end": start, "stance": "GAP"}, follow=True
    )
    assert "The passage must end after it starts." in response.content.decode()
    assert EvidenceItem.objects.count() == count
    response = client.post(
        "/reports/veldoria-2025/evidence/accept/",
        {"number": 99, "start": start, "end": end, "stance": "GAP"},
    )
    assert response.status_code == 404


def test_coverage_flags_show_to_coordinators_and_clear_with_a_gap_quote(client, people, veldoria):
    report = veldoria[2025]
    client.force_login(people["coordinator"])
    page = client.get("/reports/veldoria-2025/").content.decode()
    assert page.count("needs evidence: no quote") == report.recommendations.count()
    first = report.recommendations.get(number=1)
    start, end = section_sentences(report, SectionKind.PROSECUTION)[0]
    client.post(
        "/reports/veldoria-2025/source/quote/", {"start": start, "end": end, "stance_1": "CONTEXT"}
    )
    page = client.get("/reports/veldoria-2025/").content.decode()
    assert "needs evidence: no gap quote" in page
    EvidenceLink.objects.filter(recommendation=first).update(stance=Stance.GAP)
    page = client.get("/reports/veldoria-2025/").content.decode()
    assert page.count("needs evidence") == report.recommendations.count() - 1
    workspace = client.get("/reports/veldoria-2025/evidence/").content.decode()
    assert workspace.count("<td>covered</td>") == 1  # recommendation 1's row
    # A reviewer's dashboard has no flags (and is a page cache entry of its own).
    client.force_login(people["ngo"])
    assert "needs evidence" not in client.get("/reports/veldoria-2025/").content.decode()


def test_staff_without_the_curation_permissions_never_get_a_curator_s_cached_page(
    client, people, veldoria
):
    """The flags are in the cached dashboard, so curators have cache entries of their own."""
    client.force_login(people["coordinator"])
    assert "needs evidence" in client.get("/reports/veldoria-2025/").content.decode()
    client.force_login(people["staff"])  # staff too, but without the evidence permissions
    assert "needs evidence" not in client.get("/reports/veldoria-2025/").content.decode()
