"""How well the evidence suggestions find what coordinators curated: recall@k against a
report's own evidence links, for the engine (`suggestions.suggest`) and for a baseline, plain
BM25 over single sentences with only the recommendation's text as query. bench/evidence_recall.py
prints both; tests/test_suggestions.py holds the engine to a floor.

A curated link counts as found when one of the recommendation's top k proposals overlaps at
least half of its quote's characters. Longer proposals find more, so the mean number of
sentences per proposal is reported beside the recall.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import bm25s  # type: ignore[import-untyped]
import numpy as np

from .models import EvidenceLink, Report, SectionKind
from .sentences import sentence_spans
from .suggestions import suggest

Span = tuple[int, int]


@dataclass(frozen=True)
class Row:
    number: int
    found: int
    curated: int

    @property
    def recall(self) -> float:
        return self.found / self.curated if self.curated else 0.0


@dataclass(frozen=True)
class Recall:
    rows: list[Row]  # by recommendation number
    sentences_per_proposal: float

    @property
    def micro(self) -> float:
        """Found links over all curated links."""
        curated = sum(row.curated for row in self.rows)
        return sum(row.found for row in self.rows) / curated if curated else 0.0

    @property
    def macro(self) -> float:
        """The mean of the recommendations' recall, of those with curated links."""
        rows = [row for row in self.rows if row.curated]
        return sum(row.recall for row in rows) / len(rows) if rows else 0.0


def found(quote: Span, proposals: Sequence[Span]) -> bool:
    start, end = quote
    return any(2 * (min(end, b) - max(start, a)) >= end - start for a, b in proposals)


def recall(report: Report, proposals: Mapping[int, Sequence[Span]]) -> Recall:
    """Recall of `proposals` (recommendation number → spans, already cut to k) against the
    report's curated evidence links."""
    curated: dict[int, list[Span]] = {
        number: [] for number in report.recommendations.values_list("number", flat=True)
    }
    for number, start, end in EvidenceLink.objects.filter(
        recommendation__report=report
    ).values_list("recommendation__number", "evidence__start_offset", "evidence__end_offset"):
        curated[number].append((start, end))
    text = report.source_text
    lengths = [len(sentence_spans(text, a, b)) for spans in proposals.values() for a, b in spans]
    return Recall(
        rows=[
            Row(
                number,
                sum(found(quote, proposals.get(number, [])) for quote in quotes),
                len(quotes),
            )
            for number, quotes in sorted(curated.items())
        ],
        sentences_per_proposal=sum(lengths) / len(lengths) if lengths else 0.0,
    )


def engine(report: Report, top: int = 10) -> dict[int, list[Span]]:
    """The engine's top proposals per recommendation, as the pages show them."""
    suggestions = suggest(report, top)
    return {
        number: [(p.start, p.end) for p in suggestions.for_recommendation(number, top)]
        for number in suggestions.ranked
    }


def baseline(report: Report, top: int = 10) -> dict[int, list[Span]]:
    """Plain BM25 (bm25s's own tokenizer: lower case, its English stopwords, no stemming) over
    the single sentences of every section but the recommendations, the recommendation's text
    as the only query."""
    text = report.source_text
    sentences = [
        span
        for section in report.sections.exclude(kind=SectionKind.RECOMMENDATIONS)
        for span in sentence_spans(text, section.start_offset, section.end_offset)
    ]
    index = bm25s.BM25()
    index.index(
        bm25s.tokenize([text[a:b] for a, b in sentences], stopwords="en", show_progress=False),
        show_progress=False,
    )
    result = {}
    for recommendation in report.recommendations.order_by("number"):
        tokens = bm25s.tokenize(
            recommendation.text, stopwords="en", return_ids=False, show_progress=False
        )[0]
        ids = [index.vocab_dict[token] for token in tokens if token in index.vocab_dict]
        scores = index.get_scores_from_ids(ids) if ids else np.zeros(len(sentences))
        order = np.argsort(-scores, kind="stable")[:top]
        result[recommendation.number] = [sentences[i] for i in order if scores[i] > 0]
    return result
