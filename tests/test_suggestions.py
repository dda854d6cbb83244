"""Evidence suggestions (recommendations/suggestions.py) and the sentences they are made of
(recommendations/sentences.py): quotes carried forward from earlier years of a fictional
country written here (word for word, changed, vanished), passages ranked for the Norway 2024
chapter, the `suggest_evidence` command, and recall@10 against Norway's curated links."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recommendations.importer import import_report
from recommendations.lineage import Segment, sentences, similarity
from recommendations.models import EvidenceItem, EvidenceLink, Recommendation, Report, Section
from recommendations.sentences import paragraph_sentences, resize, sentence_spans, snap
from recommendations.suggestion_quality import baseline, engine, recall
from recommendations.suggestions import (
    CARRIED,
    CHANGED_THRESHOLD,
    RANKED,
    WINDOW,
    Chapter,
    Proposal,
    Suggestions,
    overlap_by_half,
    suggest,
    terms,
)

# --- sentences ----------------------------------------------------------------------------

PROSE = (
    "The U.S. Embassy funded Dr. Varga’s shelter, i.e. its night staff. "
    "Police opened No. 12 of the cases (approx. 40 percent) after J. K. Ostrander testified. "
    "Judges sentenced them to 2.5 years; two appealed; one fled. "
    "Experts called it “pimping.” "
    "41 victims received care, e.g. housing. "
    "“Nobody asked us,” one victim said. "
    "(The ministry disagreed.) Did it? Yes!"
)


def texts(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_sentences_of_report_prose():
    assert texts(PROSE, sentence_spans(PROSE)) == [
        "The U.S. Embassy funded Dr. Varga’s shelter, i.e. its night staff.",
        "Police opened No. 12 of the cases (approx. 40 percent) after J. K. Ostrander testified.",
        "Judges sentenced them to 2.5 years; two appealed; one fled.",
        "Experts called it “pimping.”",
        "41 victims received care, e.g. housing.",
        "“Nobody asked us,” one victim said.",
        "(The ministry disagreed.)",
        "Did it?",
        "Yes!",
    ]


def test_a_sentence_never_crosses_a_paragraph_break():
    blank_lines = "First one. Second one\n\n  Third one.  \nstill the third.\n\n\nFourth."
    assert texts(blank_lines, sentence_spans(blank_lines)) == [
        "First one.",
        "Second one",
        "Third one.  \nstill the third.",  # a hard-wrapped line runs on
        "Fourth.",
    ]
    assert [len(p) for p in paragraph_sentences(blank_lines)] == [2, 1, 1]
    # Without any blank line, each line is a paragraph (as the importer reads such a chapter).
    single_lines = "First one. Second one\nThird one\nFourth."
    assert texts(single_lines, sentence_spans(single_lines)) == [
        "First one.",
        "Second one",
        "Third one",
        "Fourth.",
    ]
    crlf = "A one\r\nstill A.\r\n\r\nB."
    assert texts(crlf, sentence_spans(crlf)) == ["A one\r\nstill A.", "B."]
    # Within bounds: a sentence cut by them is cut, nothing outside is returned.
    assert texts(blank_lines, sentence_spans(blank_lines, 3, 17)) == ["st one.", "Second"]


def test_lineage_compares_the_same_sentences():
    assert sentences("The U.S. Embassy paid. 12 more came.\n\nNo. 5 left.") == [
        "The U.S. Embassy paid.",
        "12 more came.",
        "No. 5 left.",
    ]


def test_snap_widens_a_selection_to_whole_sentences():
    text = "One is here. Two is there.   Three is everywhere.\n\nFour."
    two = text.index("Two")
    assert snap(text, two + 4, two + 6) == (two, two + len("Two is there."))
    assert snap(text, 4, two + 2) == (0, two + len("Two is there."))
    # Only whitespace: the nearest sentence, the earlier one on a tie.
    gap = text.index("   Three")
    assert snap(text, gap + 2, gap + 3) == snap(text, text.index("Three"), text.index("Three"))
    assert snap(text, gap + 1, gap + 2) == snap(text, two, two)
    assert text[slice(*snap(text, text.index("\n\n"), text.index("\n\n") + 1))] == (
        "Three is everywhere."
    )
    # Within the bounds given: a selection beyond them is brought back inside.
    three = text.index("Three")
    assert snap(text, 0, len(text), lo=two, hi=three + 5) == (two, three + 5)
    with pytest.raises(ValueError, match="no sentence"):
        snap(text, 0, 1, lo=gap, hi=gap + 3)


def test_resize_adds_and_drops_whole_sentences_within_the_paragraph_and_bounds():
    text = "A one. B two. C three. D four.\n\nE five. F six."
    spans = sentence_spans(text)
    a, b, c, d, e, _ = spans

    def sized(span, **changes):
        return texts(text, [resize(text, *span, **changes)])[0]

    assert sized(b, before=1, after=1) == "A one. B two. C three."
    assert sized(b, after=10) == "B two. C three. D four."  # not into the next paragraph
    assert sized(e, before=3) == "E five."  # nor into the one before
    assert sized((b[0], d[1]), before=-1) == "C three. D four."
    assert sized((b[0], d[1]), before=-1, after=-1) == "C three."
    assert sized((b[0], d[1]), before=-5, after=-5) == "D four."  # never fewer than one
    assert sized((c[0], e[1])) == "C three. D four.\n\nE five."  # over two paragraphs, kept
    assert sized((c[0], e[1]), before=1, after=1) == "B two. C three. D four.\n\nE five. F six."
    assert sized(b, before=2, lo=a[0] + 2) == "one. B two."  # never outside [lo, hi)
    assert sized(c, after=2, hi=d[0] + 4) == "C three. D fo"


# --- a fictional country over three years ------------------------------------------------

RECOMMENDATIONS = (
    "Prosecute labor traffickers on fruit farms and seek adequate sentences for convicted "
    "traffickers. * Open shelters for male victims of forced labor in every province. * Train "
    "labor inspectors to identify forced labor among seasonal workers."
)
IDENTIFIED = "Authorities identified 40 victims of forced labor on fruit farms."


def chapter(year: int, summary: str, prosecution: str, protection: str, prevention: str) -> str:
    return (
        f"{year} Trafficking in Persons Report: Lumeria\n\nLUMERIA (Tier 2)\n\n"
        "Lumeria is a fictional country made up for these tests; nothing in this chapter "
        "describes a real place, government or person. The Government of Lumeria does not fully "
        "meet the minimum standards for the elimination of trafficking but is making "
        f"significant efforts to do so. {summary} Therefore Lumeria remained on Tier 2.\n\n"
        f"{RECOMMENDATIONS}\n\n"
        f"The government increased law enforcement efforts. {prosecution}\n\n"
        f"The government maintained protection efforts. {protection}\n\n"
        f"The government maintained prevention efforts. {prevention}\n\n"
        "As reported over the past five years, traffickers exploit seasonal workers from "
        "neighboring countries on fruit farms.\n"
    )


FIRST = chapter(
    2031,
    "These efforts included convicting more traffickers.",
    "Police initiated 27 investigations into forced labor on fruit farms in 2030. Courts "
    "convicted four traffickers and sentenced each of them to prison.",
    f"{IDENTIFIED} Male victims slept in police stations because the only shelter accepted "
    "women and children.",
    "Labor inspectors visited 12 fruit farms and found no forced labor. The anti-trafficking "
    "council met twice and published no report.",
)
# The next year: one figure changed, a sentence rewritten, the identified victims now also in
# the summary, the inspections and the council each reported a little differently.
SECOND = chapter(
    2032,
    f"These efforts included opening a shelter for men. {IDENTIFIED}",
    "Police initiated 31 investigations into forced labor on fruit farms in 2031. Courts "
    "convicted six traffickers and sentenced five of them to prison.",
    f"{IDENTIFIED} A new shelter for men opened in the capital in March.",
    "Labor inspectors visited 45 fruit farms and found forced labor on three of them. The "
    "anti-trafficking council met four times and published a report on its first year.",
)
THIRD = SECOND.replace("2032 Trafficking", "2033 Trafficking")


def imported(text: str, year: int) -> Report:
    return import_report(
        text.encode(), name=f"lumeria-{year}.txt", country="Lumeria", year=year
    ).report


def link(report: Report, number: int, quote: str, stance: str, occurrence: int = 0) -> int:
    """Quote the `occurrence`-th (from 0) place of `quote` in the report, linked to a
    recommendation with a stance; the item's pk."""
    start = [m.start() for m in re.finditer(re.escape(quote), report.source_text)][occurrence]
    end = start + len(quote)
    item = EvidenceItem.objects.create(
        report=report,
        section=Section.objects.get(report=report, start_offset__lte=start, end_offset__gte=end),
        quote=quote,
        start_offset=start,
        end_offset=end,
    )
    EvidenceLink.objects.create(
        evidence=item,
        recommendation=Recommendation.objects.get(report=report, number=number),
        stance=stance,
    )
    return item.pk


@pytest.fixture
def lumeria(db) -> dict:
    """Three years of Lumeria, each recommendation repeated from the year before; the first
    year's evidence."""
    first, second, third = imported(FIRST, 2031), imported(SECOND, 2032), imported(THIRD, 2033)
    items = {
        "investigations": link(first, 1, "Police initiated 27 investigations", "GAP"),
        "identified": link(first, 2, IDENTIFIED, "CONTEXT", occurrence=0),
        "slept": link(first, 2, "Male victims slept in police stations", "GAP"),
        "inspections": link(
            first, 3, "Labor inspectors visited 12 fruit farms and found no forced labor.", "GAP"
        ),
        "council": link(
            first, 3, "The anti-trafficking council met twice and published no report.", "GAP"
        ),
    }
    return {"reports": (first, second, third), "items": items}


def passage(report: Report, proposal: Proposal) -> str:
    return report.source_text[proposal.start : proposal.end]


def section_kind(report: Report, proposal: Proposal) -> str:
    section = report.section_at(proposal.start, proposal.end)
    assert section is not None
    return section.kind


def test_quotes_carried_word_for_word_changed_or_vanished(lumeria):
    _, second, _ = lumeria["reports"]
    items = lumeria["items"]
    suggestions = suggest(second)

    investigations, *others = suggestions.carried[1]
    assert others == []
    # Part of a sentence, changed: proposed as the whole sentence, with the word diff.
    assert passage(second, investigations) == (
        "Police initiated 31 investigations into forced labor on fruit farms in 2031."
    )
    assert (investigations.origin, investigations.changed, investigations.stance) == (
        CARRIED,
        True,
        "GAP",
    )
    assert investigations.from_evidence == items["investigations"]
    assert [s for s in investigations.diff if s.kind != "same"] == [
        Segment("removed", "27"),
        Segment("added", "31"),
        Segment("removed", "2030."),
        Segment("added", "2031."),
    ]

    # Word for word, twice in the new chapter: where the old one stood, in the protection
    # section, not the summary's first occurrence.
    (identified,) = suggestions.carried[2]
    assert passage(second, identified) == IDENTIFIED
    assert section_kind(second, identified) == Section.Kind.PROTECTION
    assert second.source_text.index(IDENTIFIED) < identified.start
    assert (identified.changed, identified.diff, identified.score) == (False, (), 1.0)
    assert (identified.stance, identified.from_evidence) == ("CONTEXT", items["identified"])
    (slept,) = suggestions.vanished[2]
    assert (slept.from_evidence, slept.stance) == (items["slept"], "GAP")
    assert slept.quote == "Male victims slept in police stations"


def test_changed_from_the_threshold_up_vanished_below_it(lumeria):
    """The inspections are reported a little differently (just above the threshold), the
    council more so (just below)."""
    _, second, _ = lumeria["reports"]
    inspections = (
        "Labor inspectors visited 12 fruit farms and found no forced labor.",
        "Labor inspectors visited 45 fruit farms and found forced labor on three of them.",
    )
    council = (
        "The anti-trafficking council met twice and published no report.",
        "The anti-trafficking council met four times and published a report on its first year.",
    )
    assert CHANGED_THRESHOLD <= similarity(*inspections) < CHANGED_THRESHOLD + 5
    assert CHANGED_THRESHOLD - 5 < similarity(*council) < CHANGED_THRESHOLD
    suggestions = suggest(second)
    (changed,) = suggestions.carried[3]
    assert passage(second, changed) == inspections[1]
    assert changed.score == pytest.approx(similarity(*inspections) / 100)
    (vanished,) = suggestions.vanished[3]
    assert vanished.quote == council[0]


def test_carried_from_the_nearest_year_with_evidence_and_never_from_the_report_itself(lumeria):
    """2033's recommendation 1 inherits 2032's quotes once there are any; its recommendation 2,
    without 2032 quotes, still 2031's. Quoting 2032 changes what 2033 is proposed, never what
    2032 is."""
    _, second, third = lumeria["reports"]
    before = suggest(second)
    assert [p.from_evidence for p in suggest(third).carried[1]] == [
        lumeria["items"]["investigations"]
    ]
    convicted = link(second, 1, "Courts convicted six traffickers", "PROGRESS")
    assert suggest(second) == before
    suggestions = suggest(third)
    (carried,) = suggestions.carried[1]
    assert (carried.from_evidence, carried.stance, carried.changed) == (
        convicted,
        "PROGRESS",
        False,
    )
    assert passage(third, carried) == (
        "Courts convicted six traffickers and sentenced five of them to prison."
    )
    assert [p.from_evidence for p in suggestions.carried[2]] == [lumeria["items"]["identified"]]


def test_suggesting_takes_five_queries_over_any_number_of_years(
    lumeria, django_assert_max_num_queries
):
    _, second, third = lumeria["reports"]
    link(second, 1, "Courts convicted six traffickers", "PROGRESS")
    with django_assert_max_num_queries(5):
        suggestions = suggest(third)
    assert suggestions.carried[1] and suggestions.carried[2]


def test_a_chapter_without_a_word_to_rank_has_no_ranked_passages():
    text = "2031. 12 of 40.\n\n2032."
    sections = [Section(kind=Section.Kind.SUMMARY, start_offset=0, end_offset=len(text))]
    assert len(Chapter(text, sections).passages) == 4
    assert Chapter(text, sections).rank({"victim": 1.0}, None, 10) == []


def test_the_ranking_queries_the_predecessors_quotes_too(lumeria):
    """Recommendation 3 says nothing of the council; its predecessor's quote does."""
    first, second, _ = lumeria["reports"]
    assert "council" not in terms(Recommendation.objects.get(report=second, number=3).text)
    council = next(p for p in suggest(second).ranked[3] if "council" in p.matched)
    assert "The anti-trafficking council met four times" in passage(second, council)
    # The first year has no predecessor: its council is no match.
    assert not any("council" in p.matched for p in suggest(first).ranked[3])


# --- ranked passages on Norway -----------------------------------------------------------


def test_ranked_passages_are_whole_sentences_of_one_paragraph_never_the_recommendations(norway):
    text = norway.source_text
    suggestions = suggest(norway)
    recommendations = {r.number: r for r in norway.recommendations.all()}
    assert set(suggestions.ranked) == set(recommendations)
    for number, ranked in suggestions.ranked.items():
        assert len(ranked) == 10
        assert suggestions.carried[number] == suggestions.vanished[number] == []
        assert [p.score for p in ranked] == sorted((p.score for p in ranked), reverse=True)
        query = set(terms(recommendations[number].text))
        for i, p in enumerate(ranked):
            assert (p.origin, p.number, p.recommendation_id) == (
                RANKED,
                number,
                recommendations[number].pk,
            )
            section = norway.section_at(p.start, p.end)
            assert section is not None
            assert section.kind != Section.Kind.RECOMMENDATIONS
            paragraph = next(
                spans
                for spans in paragraph_sentences(text, section.start_offset, section.end_offset)
                if spans[0][0] <= p.start < spans[-1][1]
            )
            starts, ends = [a for a, _ in paragraph], [b for _, b in paragraph]
            assert p.start in starts and p.end in ends
            assert 1 <= ends.index(p.end) - starts.index(p.start) + 1 <= WINDOW
            assert all(p.end <= q.start or q.end <= p.start for q in ranked[:i])  # no overlap
            assert p.matched
            for word in p.matched:
                assert re.search(rf"\b{re.escape(word)}\b", passage(norway, p))
                assert set(terms(word)) <= query


def test_the_report_s_own_evidence_never_changes_the_suggestions(norway):
    def command_output(*options: str) -> str:
        out = StringIO()
        call_command("suggest_evidence", "norway-2024", *options, stdout=out)
        return out.getvalue()

    before = suggest(norway)
    outputs = command_output(), command_output("--json")
    first = before.ranked[1][0]
    assert EvidenceLink.objects.filter(recommendation__report=norway).exists()
    EvidenceLink.objects.filter(recommendation__report=norway).delete()
    EvidenceItem.objects.filter(report=norway).delete()
    assert suggest(norway) == before
    link(norway, 1, passage(norway, first), "GAP")  # the first proposal, now quoted
    link(norway, 2, "Authorities did not prosecute or convict any traffickers", "CONTEXT")
    assert suggest(norway) == before
    assert (command_output(), command_output("--json")) == outputs


def test_carried_proposals_come_first_then_the_ranked_ones_up_to_top():
    def proposal(start: int, end: int, origin: str = RANKED) -> Proposal:
        return Proposal(1, 1, start, end, 1.0, origin)

    carried = proposal(100, 200, CARRIED)
    ranked = [proposal(50, 140), proposal(180, 400), proposal(400, 500)]
    suggestions = Suggestions(carried={1: [carried]}, vanished={1: []}, ranked={1: ranked})
    assert suggestions.for_recommendation(1) == [carried, *ranked]
    assert suggestions.for_recommendation(1, top=2) == [carried, proposal(50, 140)]
    assert suggestions.for_recommendation(2) == []


def test_the_ranking_passes_over_what_a_carried_proposal_covers_and_keeps_the_rest():
    text = (
        "Police investigated ten trafficking cases. Police charged three suspects. "
        "Courts convicted two traffickers."
    )
    chapter = Chapter(text, [Section(kind="PROSECUTION", start_offset=0, end_offset=len(text))])
    weights = dict.fromkeys(terms("police trafficking cases"), 1.0)
    best, _ = chapter.rank(weights, None, 3)[0]
    carried = Proposal(1, 1, best.start, best.end, 1.0, CARRIED)
    again = [passage for passage, _ in chapter.rank(weights, None, 3, [carried])]
    assert again, "the other sentences about the police are still ranked"
    assert not any(overlap_by_half(passage, carried) for passage in again)


# --- the command ---------------------------------------------------------------------------


def test_the_command_prints_json_by_recommendation_number(lumeria):
    _, second, _ = lumeria["reports"]
    out = StringIO()
    call_command("suggest_evidence", "lumeria-2032", "--json", "--top", "3", stdout=out)
    data = json.loads(out.getvalue())
    assert list(data) == ["1", "2", "3"]
    suggestions = suggest(second, 3)
    for number, proposals in data.items():
        assert proposals == [p.as_json() for p in suggestions.for_recommendation(int(number), 3)]
        assert 1 <= len(proposals) <= 3
    carried, ranked = data["1"][0], data["1"][1]
    assert set(carried) == {"start", "end", "score", "origin", "from_evidence", "stance", "changed"}
    assert (carried["origin"], carried["changed"], carried["stance"]) == (CARRIED, True, "GAP")
    assert set(ranked) == {"start", "end", "score", "origin"}
    assert ranked["origin"] == RANKED and isinstance(ranked["score"], float)


def test_the_command_s_listing_names_the_vanished_quotes(lumeria):
    out = StringIO()
    call_command("suggest_evidence", "lumeria-2032", stdout=out)
    listing = out.getvalue()
    assert "Recommendation 2: 1 carried, 1 vanished" in listing
    slept = lumeria["items"]["slept"]
    assert re.search(rf"vanished .* E{slept} GAP +Male victims slept in police stations", listing)
    assert re.search(r"changed +0\.9\d\d +E\d+ GAP +Police initiated 31 investigations", listing)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no-such-report"], "No report with the slug 'no-such-report'"),
        (["norway-2024", "--top", "0"], "--top must be at least 1, not 0"),
        (["norway-2024", "--json", "--top", "-2"], "--top must be at least 1, not -2"),
    ],
)
def test_the_command_refuses_an_unknown_report_or_top(norway, arguments, message):
    out = StringIO()
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("suggest_evidence", *arguments, stdout=out)
    assert out.getvalue() == ""


# --- recall@10 on Norway ------------------------------------------------------------------

# Measured 0.659 (60 of 91 curated links; the baseline 0.418) with the fixture as it stood;
# a few links' margin, so that a ranking that regresses fails here.
RECALL_FLOOR = 0.62


def test_recall_at_10_on_norway_stays_above_its_floor_and_the_baseline(norway):
    ours = recall(norway, engine(norway))
    plain = recall(norway, baseline(norway))
    assert [row.curated for row in ours.rows] == [row.curated for row in plain.rows]
    assert ours.micro >= RECALL_FLOOR
    assert ours.micro - plain.micro >= 0.15
    assert ours.macro > plain.macro
    assert plain.sentences_per_proposal == 1.0
    assert 1.0 < ours.sentences_per_proposal <= WINDOW


def test_a_passage_next_to_a_carried_quote_is_still_ranked(demo):
    """The best window for the demo's Veldoria 2025 recommendation 3 overlaps a quote carried
    from 2024; passing over that window must not take its own sentences with it."""
    report = demo[2025]
    shelters = "The government increased funding for NGO-run shelters by 15 percent."
    start = report.source_text.index(shelters)
    proposals = suggest(report).for_recommendation(3)
    assert any(p.start <= start < p.end for p in proposals)
