"""The evidence workspace of a report: per recommendation, its coverage (links by stance) and
the proposals still open (docs/design.md, "Curating evidence").

The proposals come from recommendations.suggestions, which never reads the report's own
evidence; here they are set against it: a proposal already linked to its recommendation (a
linked quote covering half of it or more, or an item carried from the same earlier quote), or
declined, is not shown again."""

import re
from dataclasses import dataclass, field

from .models import DeclinedCarry, EvidenceItem, Recommendation, Report
from .suggestions import Proposal, Vanished, suggest


@dataclass(frozen=True)
class Shown:
    """A proposal with its text, cut into pieces of which `matched` ones are query words."""

    proposal: Proposal
    pieces: list[tuple[str, bool]]

    @property
    def text(self) -> str:
        return "".join(piece for piece, _ in self.pieces)


@dataclass
class RecommendationWork:
    recommendation: Recommendation  # annotated by with_coverage()
    carried: list[Shown] = field(default_factory=list)
    vanished: list[Vanished] = field(default_factory=list)
    ranked: list[Shown] = field(default_factory=list)

    @property
    def verbatim(self) -> list[Shown]:
        return [shown for shown in self.carried if not shown.proposal.changed]

    @property
    def changed(self) -> list[Shown]:
        return [shown for shown in self.carried if shown.proposal.changed]


@dataclass
class Workspace:
    report: Report
    rows: list[RecommendationWork]

    def verbatim(self) -> list[tuple[Recommendation, Proposal]]:
        """Every open proposal that carries an earlier quote forward word for word."""
        return [(row.recommendation, shown.proposal) for row in self.rows for shown in row.verbatim]

    @property
    def needing_evidence(self) -> int:
        return sum(1 for row in self.rows if row.recommendation.needs_evidence)


def pieces(text: str, words: tuple[str, ...]) -> list[tuple[str, bool]]:
    """`text` cut where the given words occur (whole words, any case), each piece marked
    whether it is one of them."""
    if not words:
        return [(text, False)]
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)) + r")\b",
        re.IGNORECASE,
    )
    cut: list[tuple[str, bool]] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            cut.append((text[at : match.start()], False))
        cut.append((match.group(), True))
        at = match.end()
    if at < len(text):
        cut.append((text[at:], False))
    return cut


def covers(item: EvidenceItem, proposal: Proposal) -> bool:
    """Whether a linked item already quotes half of the proposal or more."""
    overlap = min(item.end_offset, proposal.end) - max(item.start_offset, proposal.start)
    return overlap * 2 >= proposal.end - proposal.start


def is_open(
    proposal: Proposal,
    recommendation: Recommendation,
    linked: list[EvidenceItem],
    declined: set[tuple[int, int]],
) -> bool:
    """Whether a proposal for the recommendation still waits for a decision: not declined,
    not carried already, and not covered by a quote linked to it."""
    if (recommendation.pk, proposal.from_evidence) in declined:
        return False
    if proposal.from_evidence is not None and any(
        item.carried_from_id == proposal.from_evidence for item in linked
    ):
        return False
    return not any(covers(item, proposal) for item in linked)


def workspace(report: Report, top: int = 10) -> Workspace:
    suggestions = suggest(report, top=top)
    recommendations = list(report.recommendations.with_coverage().order_by("number"))
    linked: dict[int, list[EvidenceItem]] = {r.pk: [] for r in recommendations}
    for item in EvidenceItem.objects.filter(report=report).prefetch_related("links"):
        for link in item.links.all():
            linked[link.recommendation_id].append(item)
    declined = set(
        DeclinedCarry.objects.filter(recommendation__report=report).values_list(
            "recommendation_id", "evidence_id"
        )
    )
    text = report.source_text
    rows = []
    for recommendation in recommendations:
        items = linked[recommendation.pk]

        def shown(proposal: Proposal) -> Shown:
            return Shown(proposal, pieces(text[proposal.start : proposal.end], proposal.matched))

        number = recommendation.number
        carried = [
            p
            for p in suggestions.carried.get(number, [])
            if is_open(p, recommendation, items, declined)
        ]
        # The ranking already passed over what a carried proposal covers; accepted carries
        # are hidden below, so they take no place from the suggestions.
        ranked = suggestions.ranked.get(number, [])[:top]
        rows.append(
            RecommendationWork(
                recommendation,
                carried=[shown(p) for p in carried],
                vanished=[
                    v
                    for v in suggestions.vanished.get(number, [])
                    if (recommendation.pk, v.from_evidence) not in declined
                ],
                ranked=[shown(p) for p in ranked if is_open(p, recommendation, items, declined)],
            )
        )
    return Workspace(report, rows)
