"""Lineage between years: how each recommendation of a report relates to the previous year's
report of its country (docs/design.md, "Lineage between years"), and what changed between two
years of a country.

`propose_lineage()` proposes the matches after an import; coordinators confirm or change them
in admin.
Carrying a position forward to the next year is a write: `rules.writing.carry_forward()`.
"""

import difflib
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from rapidfuzz import fuzz

from .models import (
    Assessment,
    EvidenceItem,
    Lineage,
    LineageChange,
    Membership,
    Recommendation,
    Report,
    SectionKind,
    Tier,
)
from .sentences import sentence_spans
from .status import Label, Status

# fuzz.ratio (normalised Indel similarity, 0–100) of the two texts as `comparable()` makes them.
# On TIP wording, unrelated recommendations of one chapter score about 35–55 against each other
# (they share "trafficking", "victims", "and the"); rewordings that keep the recommendation
# (a clause added, a list extended) score 70 and more. 65 sits between the two; below it the
# proposal is NEW and a coordinator links a heavier rewording by hand.
REVISED_THRESHOLD = 65.0


def comparable(text: str) -> str:
    """Casefolded words separated by single spaces: punctuation and spacing do not count."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def repeat_key(text: str) -> str:
    """Equal for two texts that are the same up to case, whitespace and punctuation."""
    return comparable(text).replace(" ", "")


def similarity(old: str, new: str) -> float:
    return fuzz.ratio(comparable(old), comparable(new))


def previous_report(report: Report) -> Report | None:
    """The country's report of the greatest year before this one."""
    return (
        Report.objects.filter(country=report.country, year__lt=report.year)
        .order_by("-year")
        .first()
    )


@dataclass(frozen=True)
class Match:
    previous: Recommendation | None
    change: str
    similarity: float | None


def match(
    new: list[Recommendation], old: list[Recommendation], threshold: float = REVISED_THRESHOLD
) -> dict[int, Match]:
    """Each new recommendation's match among the old ones, one to one: repeats first, then the
    best-scoring pairs at or above the threshold (ties in report order); the rest are NEW."""
    matches: dict[int, Match] = {}
    used: set[int] = set()
    keys = {r.pk: repeat_key(r.text) for r in old}
    for r in new:
        key = repeat_key(r.text)
        repeated = next((o for o in old if o.pk not in used and keys[o.pk] == key), None)
        if repeated is not None:
            matches[r.pk] = Match(repeated, LineageChange.REPEATED, 100.0)
            used.add(repeated.pk)
    pairs = sorted(
        (
            (similarity(o.text, r.text), r.number, o.number, r, o)
            for r in new
            if r.pk not in matches
            for o in old
            if o.pk not in used
        ),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )
    for score, _, _, r, o in pairs:
        if score < threshold:
            break
        if r.pk in matches or o.pk in used:
            continue
        matches[r.pk] = Match(o, LineageChange.REVISED, round(score, 1))
        used.add(o.pk)
    for r in new:
        matches.setdefault(r.pk, Match(None, LineageChange.NEW, None))
    return matches


def propose_lineage(report: Report) -> list[Lineage]:
    """Propose each recommendation's lineage to the previous year's report of its country
    (none when there is no earlier year). Confirmed rows are kept as they are, and so are the
    earlier recommendations they use; unconfirmed rows are replaced when the proposal differs.
    Running it again changes nothing. Returns the report's lineage rows in report order."""
    earlier_report = previous_report(report)
    if earlier_report is None:
        return []
    recommendations = list(report.recommendations.order_by("number"))
    existing = {
        lineage.recommendation_id: lineage
        for lineage in Lineage.objects.filter(recommendation__report=report)
    }
    confirmed = {pk for pk, lineage in existing.items() if lineage.confirmed}
    taken = {existing[pk].previous_id for pk in confirmed}
    earlier = [r for r in earlier_report.recommendations.order_by("number") if r.pk not in taken]
    proposals = match([r for r in recommendations if r.pk not in confirmed], earlier)
    stale = [
        lineage
        for pk, lineage in existing.items()
        if pk in proposals
        and (lineage.previous_id, lineage.change)
        != (getattr(proposals[pk].previous, "pk", None), proposals[pk].change)
    ]
    with transaction.atomic():
        # Deleted first: a replaced row may hold the earlier recommendation another one takes.
        for lineage in stale:
            del existing[lineage.recommendation_id]
            lineage.delete()
        for r in recommendations:
            if r.pk not in existing:
                proposal = proposals[r.pk]
                existing[r.pk] = Lineage.objects.create(
                    recommendation=r,
                    previous=proposal.previous,
                    change=proposal.change,
                    similarity=proposal.similarity,
                )
    return [existing[r.pk] for r in recommendations]


def dropped(report: Report, earlier: Report | None = None) -> list[Recommendation]:
    """The earlier report's recommendations (by default the previous year's) that no
    recommendation of this report carries on, directly or through the years between."""
    earlier = earlier or previous_report(report)
    if earlier is None:
        return []
    carried = {a.pk for a in ancestors_in(report, earlier).values()}
    return [r for r in earlier.recommendations.order_by("number") if r.pk not in carried]


# --- chains --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    report_id: int
    year: int
    change: str
    previous_id: int | None
    previous_year: int | None
    previous_slug: str | None
    previous_number: int | None

    @property
    def previous_label(self) -> str | None:
        """The previous recommendation as the document names it: "<report slug>/<number>"."""
        return f"{self.previous_slug}/{self.previous_number}" if self.previous_id else None


def country_links(country: str) -> dict[int, Link]:
    """Every lineage row of the country's reports, by recommendation id, in one query."""
    rows = Lineage.objects.filter(recommendation__report__country=country).values_list(
        "recommendation_id",
        "recommendation__report_id",
        "recommendation__report__year",
        "change",
        "previous_id",
        "previous__report__year",
        "previous__report__slug",
        "previous__number",
    )
    return {
        pk: Link(report_id, year, change, previous_id, previous_year, slug, number)
        for pk, report_id, year, change, previous_id, previous_year, slug, number in rows
    }


@dataclass(frozen=True)
class Since:
    """Recommended since `first_year`, in `years` reports up to this one; `change` to the
    previous year's report; `revised_in`: the years whose report revised it (this one's
    included), oldest first."""

    first_year: int
    years: int
    change: str
    revised_in: tuple[int, ...] = ()


def backward(pk: int, links: dict[int, Link]) -> list[Link]:
    """The links from this recommendation back to its earliest ancestor."""
    steps: list[Link] = []
    seen = {pk}
    while pk in links and (previous := links[pk].previous_id) is not None:
        if previous in seen:
            break
        steps.append(links[pk])
        seen.add(previous)
        pk = previous
    return steps


def recommended_since(report: Report) -> dict[int, Since]:
    """Since when each recommendation of the report that has a lineage row has been
    recommended, by recommendation id, in one query."""
    links = country_links(report.country)
    result = {}
    for pk, link in links.items():
        if link.report_id == report.pk:
            steps = backward(pk, links)
            first_year = steps[-1].previous_year if steps else link.year
            revised = tuple(sorted(step.year for step in steps if step.change == "REVISED"))
            result[pk] = Since(first_year or link.year, len(steps) + 1, link.change, revised)
    return result


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "added" or "removed"
    text: str


def word_diff(old: str, new: str) -> list[Segment]:
    """The words kept, removed and added from `old` to `new`, in order."""
    a, b = old.split(), new.split()
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("added", " ".join(b[j1:j2])))
    return segments


@dataclass
class Step:
    """One year of a chain; `change` and `diff` relate it to the step before."""

    recommendation: Recommendation
    change: str | None = None
    diff: list[Segment] = field(default_factory=list)

    @property
    def revised(self) -> bool:
        return self.change == LineageChange.REVISED


def chain(recommendation: Recommendation) -> list[Step]:
    """The recommendation's chain across the years, earliest first, through its predecessors
    and successors; just itself when it has no lineage. Two queries."""
    links = country_links(recommendation.report.country)
    before = backward(recommendation.pk, links)
    successor_of = {
        link.previous_id: pk for pk, link in links.items() if link.previous_id is not None
    }
    after: list[int] = []
    pk = recommendation.pk
    while pk in successor_of and successor_of[pk] not in after:
        pk = successor_of[pk]
        after.append(pk)
    ids = [link.previous_id for link in reversed(before) if link.previous_id is not None]
    ids += [recommendation.pk, *after]
    if len(ids) == 1:
        return [Step(recommendation)]
    found = Recommendation.objects.select_related("report").in_bulk(ids)
    found[recommendation.pk] = recommendation
    steps: list[Step] = []
    for pk in ids:
        step = Step(found[pk])
        if steps and pk in links:
            step.change = links[pk].change
            if step.revised:
                step.diff = word_diff(steps[-1].recommendation.text, found[pk].text)
        steps.append(step)
    return steps


# --- the recommendation page -------------------------------------------------------------


@dataclass
class LineagePanel:
    steps: list[Step]
    current: Step
    first_year: int
    years: int
    predecessor: Recommendation | None
    predecessor_positions: list[Assessment]
    carry: Assessment | None  # the writer's organization's position to carry forward

    @property
    def has_lineage(self) -> bool:
        return len(self.steps) > 1

    @property
    def statuses(self) -> list[tuple[str, Label]]:
        return list(Status.choices)


def lineage_panel(
    recommendation: Recommendation,
    positions: list[Assessment],
    writer: Membership | None = None,
) -> LineagePanel:
    """What the recommendation page shows of the lineage. `positions` are the current ones on
    this recommendation; `writer` the membership of a user who may write on it."""
    steps = chain(recommendation)
    index = next(i for i, s in enumerate(steps) if s.recommendation.pk == recommendation.pk)
    current = steps[index]
    predecessor = steps[index - 1].recommendation if index else None
    predecessor_positions = predecessor.positions() if predecessor else []
    carry = None
    if writer is not None and not any(
        p.organization_id == writer.organization_id for p in positions
    ):
        carry = next(
            (p for p in predecessor_positions if p.organization_id == writer.organization_id),
            None,
        )
    return LineagePanel(
        steps=steps,
        current=current,
        first_year=steps[0].recommendation.report.year,
        years=index + 1,
        predecessor=predecessor,
        predecessor_positions=predecessor_positions,
        carry=carry,
    )


# --- what changed between two years ------------------------------------------------------

TIER_ORDER: list[str] = [Tier.TIER_1, Tier.TIER_2, Tier.TIER_2_WATCH_LIST, Tier.TIER_3]
NARRATIVE_KINDS = [
    SectionKind.SUMMARY,
    SectionKind.PROSECUTION,
    SectionKind.PROTECTION,
    SectionKind.PREVENTION,
    SectionKind.TRAFFICKING_PROFILE,
]


def sentences(text: str) -> list[str]:
    """The text's sentences, as the whole project splits them (`sentences.sentence_spans`)."""
    return [text[start:end] for start, end in sentence_spans(text)]


def ancestors_in(report: Report, earlier: Report) -> dict[int, Recommendation]:
    """For each recommendation of `report` that carries on one of `earlier` (through the years
    between), that earlier recommendation."""
    links = country_links(report.country)
    earlier_recommendations = earlier.recommendations.in_bulk()
    found = {}
    for pk in report.recommendations.values_list("pk", flat=True):
        for link in backward(pk, links):
            if link.previous_id in earlier_recommendations:
                found[pk] = earlier_recommendations[link.previous_id]
                break
    return found


@dataclass
class Carried:
    earlier: Recommendation
    later: Recommendation
    diff: list[Segment]


@dataclass
class SectionChanges:
    kind: str
    label: str
    added: list[str]
    removed: list[str]


@dataclass
class Quote:
    evidence: EvidenceItem
    still_in_report: bool


@dataclass
class Comparison:
    earlier: Report
    later: Report
    tier_change: str  # "up" (a better tier), "down", "same" or "" (not comparable)
    added: list[Recommendation]
    dropped: list[Recommendation]
    revised: list[Carried]
    repeated: list[Carried]
    sections: list[SectionChanges]
    quotes: list[Quote]

    @property
    def quotes_still_in_report(self) -> list[Quote]:
        return [q for q in self.quotes if q.still_in_report]


def tier_change(earlier: str, later: str) -> str:
    if earlier == later:
        return "same"
    if earlier not in TIER_ORDER or later not in TIER_ORDER:
        return ""
    return "up" if TIER_ORDER.index(later) < TIER_ORDER.index(earlier) else "down"


def section_texts(report: Report) -> dict[str, str]:
    return {
        section.kind: report.source_text[section.start_offset : section.end_offset]
        for section in report.sections.all()
    }


def section_changes(earlier: Report, later: Report) -> list[SectionChanges]:
    """Per narrative section, the sentences only in the later year and those only in the
    earlier one (compared up to case, spacing and punctuation), each in order of appearance."""
    before, after = section_texts(earlier), section_texts(later)
    changes = []
    for kind in NARRATIVE_KINDS:
        old, new = sentences(before.get(kind, "")), sentences(after.get(kind, ""))
        old_keys, new_keys = {repeat_key(s) for s in old}, {repeat_key(s) for s in new}
        changes.append(
            SectionChanges(
                kind=kind,
                label=str(SectionKind(kind).label),
                added=[s for s in new if repeat_key(s) not in old_keys],
                removed=[s for s in old if repeat_key(s) not in new_keys],
            )
        )
    return changes


def compare(earlier: Report, later: Report) -> Comparison:
    """What changed from an earlier report of a country to a later one."""
    carried = ancestors_in(later, earlier)
    links = country_links(later.country)
    added, revised, repeated = [], [], []
    for r in later.recommendations.order_by("number"):
        if r.pk not in carried:
            added.append(r)
            continue
        old = carried[r.pk]
        steps = []
        for link in backward(r.pk, links):
            steps.append(link.change)
            if link.previous_id == old.pk:
                break
        if all(change == LineageChange.REPEATED for change in steps):
            repeated.append(Carried(old, r, []))
        else:
            revised.append(Carried(old, r, word_diff(old.text, r.text)))
    kept = {old.pk for old in carried.values()}
    text = later.source_text
    return Comparison(
        earlier=earlier,
        later=later,
        tier_change=tier_change(earlier.tier, later.tier),
        added=added,
        dropped=[r for r in earlier.recommendations.order_by("number") if r.pk not in kept],
        revised=revised,
        repeated=repeated,
        sections=section_changes(earlier, later),
        quotes=[
            Quote(item, item.quote in text)
            for item in earlier.evidence_items.select_related("section").order_by("start_offset")
        ],
    )


def earlier_reports(report: Report) -> QuerySet[Report]:
    return Report.objects.filter(country=report.country, year__lt=report.year).order_by("-year")
