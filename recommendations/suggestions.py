"""Evidence suggestions for a newly imported chapter: passages of the report a coordinator may
quote for each recommendation.

Two kinds of proposal, both whole sentences (`sentences`) inside one section, never inside the
recommendations themselves:

- **Carried.** A recommendation that carries on an earlier one (lineage, over one year or
  several) inherits the quotes of the nearest earlier recommendation in its chain that has any
  — the coordinators' latest choice, in which older years' quotes were already carried or
  dropped. Each quote is looked for in the new chapter: word for word (where it occurs more than
  once, in a section of the same kind first); else the most similar run of as many whole
  sentences within one paragraph (the same section kind first), when similar enough
  (CHANGED_THRESHOLD) — the same sentences with other figures or a few other words, shown as a
  word diff; else the quote has vanished.
- **Ranked.** Every passage of the chapter — each sentence, and each run of two or three
  consecutive sentences within one paragraph — ranked by BM25 (bm25s: sparse matrices, no
  model, nothing downloaded) against a query of the recommendation's text and the quotes
  linked to its predecessors in every earlier year; passages in the section the
  recommendation's pillar names score PILLAR_BOOST times more. A passage that overlaps one
  ranked higher is left out, so a window and its own sentence never both take a place.

Only the report's text, its recommendations and its predecessors' evidence are read, never the
report's own evidence items or links: what coordinators have curated must not feed the
proposals, so that these can be measured against a curated chapter (`suggestion_quality`,
bench/evidence_recall.py).

Measured on Norway 2024 (recall@10 against its curated links, with the fixture as it stood when
this was written; the bench prints the current figures): plain BM25 over single sentences with
the recommendation's text as query finds 0.42 of the links; single sentences with the stemming
below 0.43; passages of up to three sentences 0.60; with the pillar boost 0.66. Leaving the
summary out lost 0.03 to 0.08 (it restates the pillars' findings, and coordinators quote it),
so it stays in.
"""

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import bm25s  # type: ignore[import-untyped]
import numpy as np
from bm25s.stopwords import STOPWORDS_EN  # type: ignore[import-untyped]
from rapidfuzz import fuzz, process

from .lineage import Segment, backward, comparable, country_links, word_diff
from .models import EvidenceLink, Pillar, Recommendation, Report, Section, SectionKind
from .quotes import occurrences
from .sentences import paragraph_sentences, sentence_spans, snap

# bm25s sets its logger to DEBUG when it is imported, overriding the settings' LOGGING, and
# would log a line on every suggestion; below WARNING it says nothing an operator needs.
logging.getLogger("bm25s").setLevel(logging.WARNING)

CARRIED, RANKED = "carried", "ranked"

# lineage.similarity (fuzz.ratio of the casefolded words, 0–100) between an earlier quote,
# widened to whole sentences, and a run of as many sentences of the new chapter. Measured with
# every sentence of the fictional Veldoria 2024 chapter quoted and carried to 2025: the sentences
# 2025 updates (a figure, a word, a clause: "Police investigated 19 cases in 2023" → "27 cases
# in 2024", "did not have a mandate" → "received a mandate") score 84 to 98 against their
# update; those rewritten or dropped ("The anti-trafficking commission met twice." → "…met four
# times and invited NGOs to two of its meetings") 69 at most against any 2025 sentence. On
# Norway 2024 no two sentences of one section score 65; across sections the highest, 79 to 89,
# are summary sentences against the pillar sentences they restate and the pillars' formulaic
# openings, which a match in the same section kind goes before. 80 lies in the gap.
CHANGED_THRESHOLD = 80.0

WINDOW = 3  # sentences in a ranked passage, at most
PILLAR_BOOST = 1.5
PILLAR_SECTIONS: dict[str, str] = {
    Pillar.PROSECUTION: SectionKind.PROSECUTION,
    Pillar.PROTECTION: SectionKind.PROTECTION,
    Pillar.PREVENTION: SectionKind.PREVENTION,
}
# The predecessors' quotes in the query: each word weighs the share of the quotes that hold it,
# times this, against 1 for each time it stands in the recommendation: a word every earlier
# quote shares counts as much as one of the recommendation's own.
QUOTE_WEIGHT = 1.0

# --- words --------------------------------------------------------------------------------

WORD = re.compile(r"[^\W\d_]+")  # letters only: "anti-trafficking" is two words, figures none
# bm25s's English list, and the function words of report prose it leaves out, which would
# otherwise be shown as matches ("all", "were", "whether").
# fmt: off
STOPWORDS = frozenset(STOPWORDS_EN) | {
    "all", "also", "any", "been", "could", "during", "from", "had", "has", "have", "including",
    "its", "more", "other", "over", "should", "some", "than", "those", "through", "under",
    "were", "whether", "which", "who", "whom", "would",
}
# fmt: on
PREFIX = 6  # characters a stem keeps


def stem(word: str) -> str:
    """A casefolded word's stem: its plural and -ing or -ed ending removed, then cut to PREFIX
    characters (truncation stemming), so that investigate, investigated, investigation and
    investigators meet at "invest", prosecute and prosecutions at "prosec". On Norway 2024 it
    does as well as the Snowball (Porter 2) stemmer without a dependency; it merges a few
    unrelated words (identify, identity), which costs less than missing the inflections."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending in ("ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            word = word[: -len(ending)]
            break
    return word[:PREFIX]


def words(text: str) -> Iterable[tuple[str, str]]:
    """Each word of the text that counts, as (the word as written, its term)."""
    for match in WORD.finditer(text):
        word = match[0].casefold()
        if len(word) > 1 and word not in STOPWORDS:
            yield match[0], stem(word)


def terms(text: str) -> list[str]:
    return [term for _, term in words(text)]


# --- what the API returns -----------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A passage proposed as evidence for a recommendation."""

    recommendation_id: int
    number: int  # the recommendation's number in its report
    start: int
    end: int  # [start, end) in report.source_text: whole sentences within one section
    score: float  # carried: similarity to the earlier quote, 0–1 (1: word for word); ranked: BM25
    origin: str  # CARRIED or RANKED
    stance: str | None = None  # carried: the earlier link's stance
    from_evidence: int | None = None  # carried: the earlier EvidenceItem's pk
    changed: bool = False  # carried, but the words differ from the earlier quote
    diff: tuple[Segment, ...] = ()  # carried and changed: from the earlier passage to this one
    matched: tuple[str, ...] = ()  # ranked: the query's words in the passage, as written there

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "origin": self.origin,
        }
        if self.origin == CARRIED:
            data |= {
                "from_evidence": self.from_evidence,
                "stance": self.stance,
                "changed": self.changed,
            }
        return data


@dataclass(frozen=True)
class Vanished:
    """An earlier quote found nowhere in the new chapter, word for word or nearly."""

    recommendation_id: int
    number: int
    from_evidence: int
    quote: str
    stance: str


def overlap_by_half(a: "Proposal | Passage", b: "Proposal | Passage") -> bool:
    """Whether the two overlap by half of the shorter one or more."""
    overlap = min(a.end, b.end) - max(a.start, b.start)
    return 2 * overlap >= min(a.end - a.start, b.end - b.start)


@dataclass
class Suggestions:
    """By recommendation number (each of the report's numbers is a key of each): the carried
    proposals (word for word ones first, in report order, then the changed ones, most similar
    first), the vanished quotes, and the ranked proposals, best first: `top` of them, none
    overlapping a carried one by half (so that a page hiding the carried ones it has accepted
    still shows `top` suggestions)."""

    carried: dict[int, list[Proposal]] = field(default_factory=dict)
    vanished: dict[int, list[Vanished]] = field(default_factory=dict)
    ranked: dict[int, list[Proposal]] = field(default_factory=dict)

    def for_recommendation(self, number: int, top: int = 10) -> list[Proposal]:
        """Carried first, then ranked; at most `top`."""
        return [*self.carried.get(number, []), *self.ranked.get(number, [])][:top]


# --- the new chapter ----------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    start: int
    end: int
    kind: str  # its section's


class Chapter:
    """The new chapter's quotable text: the sentences of every section but the
    recommendations, by paragraph."""

    def __init__(self, text: str, sections: Iterable[Section]) -> None:
        self.text = text
        self.sections = {
            section.kind: (section.start_offset, section.end_offset)
            for section in sections
            if section.kind != SectionKind.RECOMMENDATIONS
        }
        self.paragraphs = [
            (kind, spans)
            for kind, (lo, hi) in self.sections.items()
            for spans in paragraph_sentences(text, lo, hi)
        ]
        self._comparable_runs: dict[int, list[tuple[Passage, str]]] = {}

    def runs(self, length: int) -> list[Passage]:
        """Every run of `length` consecutive sentences within one paragraph, in report order."""
        return [
            Passage(spans[i][0], spans[i + length - 1][1], kind)
            for kind, spans in self.paragraphs
            for i in range(len(spans) - length + 1)
        ]

    @cached_property
    def passages(self) -> list[Passage]:
        """What is ranked: each sentence and the longer runs starting there, in report order
        (so that among equal scores the earlier and shorter passage comes first)."""
        runs = (passage for length in range(1, WINDOW + 1) for passage in self.runs(length))
        return sorted(runs, key=lambda passage: (passage.start, passage.end))

    @cached_property
    def index(self) -> bm25s.BM25 | None:
        """The passages' BM25 index; None when not one of them has a word that counts (bm25s
        cannot index that)."""
        documents = [terms(self.text[p.start : p.end]) for p in self.passages]
        if not any(documents):
            return None
        index = bm25s.BM25()
        index.index(documents, show_progress=False)
        return index

    def kind_at(self, start: int, end: int) -> str | None:
        """The kind of the quotable section holding [start, end), if any."""
        return next(
            (kind for kind, (lo, hi) in self.sections.items() if lo <= start and end <= hi),
            None,
        )

    def find(self, quote: str, kind: str) -> tuple[int, int] | None:
        """Where the quote stands word for word in a quotable section, widened to whole
        sentences: in a section of `kind` if it stands there, else its first occurrence."""
        found = [
            (start, here)
            for start in occurrences(self.text, quote)
            if (here := self.kind_at(start, start + len(quote))) is not None
        ]
        if not found:
            return None
        start, here = next((f for f in found if f[1] == kind), found[0])
        return snap(self.text, start, start + len(quote), *self.sections[here])

    def most_similar(self, passage: str, length: int, kind: str) -> tuple[Passage, float] | None:
        """The run of `length` sentences most similar to `passage` and at least
        CHANGED_THRESHOLD similar (lineage.similarity): in a section of `kind` if one is, else
        anywhere."""
        if length not in self._comparable_runs:
            self._comparable_runs[length] = [
                (run, comparable(self.text[run.start : run.end])) for run in self.runs(length)
            ]
        runs = self._comparable_runs[length]
        wanted = comparable(passage)
        for same_kind in (True, False):
            choices = {
                i: text for i, (run, text) in enumerate(runs) if (run.kind == kind) is same_kind
            }
            best = process.extractOne(
                wanted, choices, scorer=fuzz.ratio, score_cutoff=CHANGED_THRESHOLD
            )
            if best is not None:
                return runs[best[2]][0], best[1]
        return None

    def rank(
        self,
        weights: dict[str, float],
        boosted: str | None,
        wanted: int,
        taken: Sequence[Proposal] = (),
    ) -> list[tuple[Passage, float]]:
        """The `wanted` best passages for a query (term → weight) that overlap no better one,
        best first; passages of the `boosted` section kind score PILLAR_BOOST times more.
        Passages that overlap one of `taken` (the carried proposals) by half are passed over
        before choosing, so that a window dropped for its overlap with a carried quote does
        not take its own sentences down with it."""
        passages, index = self.passages, self.index
        if index is None:
            return []
        scores = np.zeros(len(passages))
        for term, weight in weights.items():
            if term in index.vocab_dict:
                scores += weight * index.get_scores_from_ids([index.vocab_dict[term]])
        if boosted is not None:
            scores *= np.array([PILLAR_BOOST if p.kind == boosted else 1.0 for p in passages])
        chosen: list[tuple[Passage, float]] = []
        for i in np.argsort(-scores, kind="stable"):
            if len(chosen) == wanted or scores[i] <= 0:
                break
            passage = passages[i]
            if any(overlap_by_half(passage, proposal) for proposal in taken):
                continue
            if not any(passage.start < c.end and c.start < passage.end for c, _ in chosen):
                chosen.append((passage, float(scores[i])))
        return chosen


# --- the earlier years --------------------------------------------------------------------


@dataclass(frozen=True)
class EarlierQuote:
    """A quote linked to a recommendation of an earlier year."""

    evidence_id: int
    stance: str
    quote: str
    report_id: int
    start: int
    end: int
    kind: str  # its section's
    section: tuple[int, int]  # its section's bounds in its report


def predecessors(report: Report, recommendations: Sequence[Recommendation]) -> dict[int, list[int]]:
    """Each recommendation's predecessors (by pk), through lineage, nearest first."""
    links = country_links(report.country)
    return {
        r.pk: [link.previous_id for link in backward(r.pk, links) if link.previous_id is not None]
        for r in recommendations
    }


def earlier_quotes(report: Report, recommendations: Iterable[int]) -> dict[int, list[EarlierQuote]]:
    """The quotes linked to each of these earlier recommendations (by pk), in report order; of
    reports before this one only, so never this report's own evidence."""
    rows = (
        EvidenceLink.objects.filter(
            recommendation_id__in=list(recommendations),
            recommendation__report__year__lt=report.year,
        )
        .order_by("evidence__start_offset", "evidence_id")
        .values_list(
            "recommendation_id",
            "evidence_id",
            "stance",
            "evidence__quote",
            "evidence__report_id",
            "evidence__start_offset",
            "evidence__end_offset",
            "evidence__section__kind",
            "evidence__section__start_offset",
            "evidence__section__end_offset",
        )
    )
    quotes: dict[int, list[EarlierQuote]] = defaultdict(list)
    for pk, evidence, stance, quote, report_id, start, end, kind, lo, hi in rows:
        quotes[pk].append(
            EarlierQuote(evidence, stance, quote, report_id, start, end, kind, (lo, hi))
        )
    return quotes


def query(recommendation: Recommendation, quotes: Sequence[EarlierQuote]) -> dict[str, float]:
    """The recommendation's terms (each as often as it occurs) and its predecessors' quotes'
    (each by the share of the quotes that hold it, times QUOTE_WEIGHT)."""
    weights: dict[str, float] = defaultdict(float)
    for term in terms(recommendation.text):
        weights[term] += 1.0
    for quote in quotes:
        for term in set(terms(quote.quote)):
            weights[term] += QUOTE_WEIGHT / len(quotes)
    return weights


# --- suggesting ---------------------------------------------------------------------------


def suggest(report: Report, top: int = 10) -> Suggestions:
    """Evidence proposals for every recommendation of the report (module docstring). At most
    five queries, whatever the chapter's size or its number of earlier years."""
    text = report.source_text
    chapter = Chapter(text, report.sections.all())
    recommendations = list(report.recommendations.order_by("number"))
    chains = predecessors(report, recommendations)
    quotes = earlier_quotes(report, {pk for chain in chains.values() for pk in chain})
    # Carried from: the nearest predecessor with quotes.
    sources = {
        r.pk: next((pk for pk in chains[r.pk] if quotes.get(pk)), None) for r in recommendations
    }
    earlier_reports = {q.report_id for pk in sources.values() if pk for q in quotes[pk]}
    texts: dict[int, str] = {}
    if earlier_reports:
        texts = dict(Report.objects.filter(pk__in=earlier_reports).values_list("pk", "source_text"))

    result = Suggestions()
    for r in recommendations:
        carried: list[Proposal] = []
        vanished: list[Vanished] = []
        source = sources[r.pk]
        for quote in quotes[source] if source else []:
            proposal = carry(chapter, r, quote, texts[quote.report_id])
            if proposal is None:
                vanished.append(
                    Vanished(r.pk, r.number, quote.evidence_id, quote.quote, quote.stance)
                )
            elif all((p.start, p.end) != (proposal.start, proposal.end) for p in carried):
                carried.append(proposal)
        carried.sort(key=lambda p: (-p.score, p.start))
        seen: dict[int, EarlierQuote] = {}
        for pk in chains[r.pk]:
            for quote in quotes.get(pk, []):
                seen.setdefault(quote.evidence_id, quote)
        weights = query(r, list(seen.values()))
        ranked = [
            Proposal(
                r.pk,
                r.number,
                passage.start,
                passage.end,
                score,
                RANKED,
                matched=matched_words(text[passage.start : passage.end], weights),
            )
            for passage, score in chapter.rank(weights, PILLAR_SECTIONS.get(r.pillar), top, carried)
        ]
        result.carried[r.number] = carried
        result.vanished[r.number] = vanished
        result.ranked[r.number] = ranked
    return result


def carry(
    chapter: Chapter, recommendation: Recommendation, quote: EarlierQuote, earlier_text: str
) -> Proposal | None:
    """The earlier quote in the new chapter: word for word, or changed but similar enough, or
    None (vanished)."""
    found = chapter.find(quote.quote, quote.kind)
    if found is not None:
        return Proposal(
            recommendation.pk,
            recommendation.number,
            *found,
            1.0,
            CARRIED,
            stance=quote.stance,
            from_evidence=quote.evidence_id,
        )
    # Compared as whole sentences on both sides: a quote of part of a sentence is compared, and
    # its changes shown, as the sentence it was taken from.
    start, end = snap(earlier_text, quote.start, quote.end, *quote.section)
    passage = earlier_text[start:end]
    similar = chapter.most_similar(
        passage, len(sentence_spans(earlier_text, start, end)), quote.kind
    )
    if similar is None:
        return None
    run, score = similar
    return Proposal(
        recommendation.pk,
        recommendation.number,
        run.start,
        run.end,
        score / 100,
        CARRIED,
        stance=quote.stance,
        from_evidence=quote.evidence_id,
        changed=True,
        diff=tuple(word_diff(passage, chapter.text[run.start : run.end])),
    )


def matched_words(passage: str, weights: dict[str, float]) -> tuple[str, ...]:
    """The words of the passage that are terms of the query, as written there, each once
    (whatever its case), in order."""
    found: dict[str, str] = {}
    for word, term in words(passage):
        if weights.get(term, 0.0) > 0:
            found.setdefault(word.casefold(), word)
    return tuple(found.values())
