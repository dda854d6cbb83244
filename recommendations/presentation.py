"""Helpers that shape stored data for the templates.

Most are pure: they take what the caller read and run no query (`quote_in_context`,
`segments`, `status_summary`, `side_summary`, `matrix_row`, the dataclasses). Three read what
they shape themselves, each in a fixed number of queries: `evidence_groups` (a recommendation's
evidence, and with `carried_chains` one more query per year a quote was carried back),
`source_sections` (a report's text and quotes) and `matrix_groups` (the organizations of the
dashboard's matrix).
"""

import unicodedata
from dataclasses import dataclass, field
from itertools import groupby, pairwise

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import (
    Assessment,
    EvidenceItem,
    EvidenceLink,
    Membership,
    Organization,
    OrganizationKind,
    Paragraph,
    Recommendation,
    Report,
)
from .status import NOT_ASSESSED, NOT_ASSESSED_LABEL, Label, Status, status_style

CONTEXT_CHARACTERS = 160


@dataclass
class QuoteInContext:
    before: str
    quote: str
    after: str
    clipped_before: bool
    clipped_after: bool


def quote_in_context(
    text: str,
    item: EvidenceItem,
    paragraph: Paragraph | None,
    around: int | None = CONTEXT_CHARACTERS,
) -> QuoteInContext:
    """The quote with some of its paragraph (`item.paragraph()`) on either side: at most
    `around` characters, cut at word boundaries; the whole paragraph when `around` is None."""
    start = paragraph.start_offset if paragraph else item.start_offset
    end = paragraph.end_offset if paragraph else item.end_offset
    reach = len(text) if around is None else around
    window_start = max(start, item.start_offset - reach)
    window_end = min(end, item.end_offset + reach)
    if window_start > start:
        window_start = text.find(" ", window_start, item.start_offset) + 1 or window_start
    if window_end < end:
        cut = text.rfind(" ", item.end_offset, window_end)
        window_end = cut if cut > 0 else window_end
    return QuoteInContext(
        before=text[window_start : item.start_offset],
        quote=text[item.start_offset : item.end_offset],
        after=text[item.end_offset : window_end],
        clipped_before=window_start > start,
        clipped_after=window_end < end,
    )


@dataclass
class Segment:
    text: str
    evidence: list[EvidenceItem] = field(default_factory=list)
    starts: list[EvidenceItem] = field(default_factory=list)
    ends: list[EvidenceItem] = field(default_factory=list)


def segments(text: str, start: int, end: int, items: list[EvidenceItem]) -> list[Segment]:
    """Split text[start:end] where quotes begin and end; each piece knows what covers it."""
    inside = [i for i in items if i.start_offset < end and i.end_offset > start]
    cuts = sorted({start, end} | {i.start_offset for i in inside} | {i.end_offset for i in inside})
    cuts = [c for c in cuts if start <= c <= end]
    pieces = []
    for left, right in pairwise(cuts):
        covering = [i for i in inside if i.start_offset <= left and right <= i.end_offset]
        pieces.append(
            Segment(
                text=text[left:right],
                evidence=covering,
                starts=[i for i in covering if i.start_offset == left],
                ends=[i for i in covering if i.end_offset == right],
            )
        )
    return pieces


@dataclass
class StatusCount:
    status: str
    label: str
    count: int
    x: float = 0.0
    width: float = 0.0

    @property
    def colour(self) -> str:
        return status_style(self.status).colour


def status_summary(statuses: list[str | None]) -> list[StatusCount]:
    """How many recommendations stand at each status (None: not assessed), with bar geometry
    in percent for a server-rendered SVG."""
    total = len(statuses) or 1
    rows = [
        StatusCount(value, str(label), sum(1 for s in statuses if s == value))
        for value, label in Status.choices
    ]
    rows.append(
        StatusCount(NOT_ASSESSED, str(NOT_ASSESSED_LABEL), sum(1 for s in statuses if not s))
    )
    x = 0.0
    for row in rows:
        row.x = x
        row.width = 100 * row.count / total
        x += row.width
    return rows


def evidence_groups(recommendation: Recommendation) -> list[dict]:
    """The recommendation's evidence by section (report order), then stance, each quote with
    some of its paragraph around it."""
    report = recommendation.report
    paragraphs = list(report.paragraphs.all())
    links = list(
        EvidenceLink.objects.filter(recommendation=recommendation)
        .select_related("evidence__section")
        .order_by("evidence__section__position", "stance", "evidence__start_offset")
    )
    earlier = carried_chains([link.evidence for link in links])
    groups = []
    for section, section_links in groupby(links, key=lambda link: link.evidence.section):
        stances = []
        for stance, stance_links in groupby(section_links, key=lambda link: link.stance):
            items = []
            for link in stance_links:
                paragraph = link.evidence.paragraph(paragraphs)
                items.append(
                    {
                        "item": link.evidence,
                        "context": quote_in_context(report.source_text, link.evidence, paragraph),
                        "earlier": earlier[link.evidence.pk],
                    }
                )
            stances.append({"stance": stance, "label": link.get_stance_display(), "items": items})
        groups.append({"section": section, "stances": stances})
    return groups


def carried_chains(items: list[EvidenceItem]) -> dict[int, list[EvidenceItem]]:
    """For each item, the earlier years' quotes it was carried forward from, newest first
    (with their reports): one query per year back, none when nothing was carried."""
    chains: dict[int, list[EvidenceItem]] = {item.pk: [] for item in items}
    wanted = {item.pk: item.carried_from_id for item in items if item.carried_from_id}
    while wanted:
        found = EvidenceItem.objects.select_related("report").in_bulk(set(wanted.values()))
        further = {}
        for pk, earlier_pk in wanted.items():
            earlier = found.get(earlier_pk)
            if earlier is None or earlier in chains[pk]:
                continue
            chains[pk].append(earlier)
            if earlier.carried_from_id:
                further[pk] = earlier.carried_from_id
        wanted = further
    return chains


def source_sections(report: Report) -> tuple[list[dict], int]:
    """The report's sections and paragraphs, each paragraph cut into segments where evidence
    quotes start and end; and how many evidence items there are."""
    items = list(
        report.evidence_items.prefetch_related("links__recommendation").order_by("start_offset")
    )
    paragraphs = list(report.paragraphs.all())
    sections = [
        {
            "section": section,
            "paragraphs": [
                {
                    "paragraph": paragraph,
                    "segments": segments(
                        report.source_text, paragraph.start_offset, paragraph.end_offset, items
                    ),
                }
                for paragraph in paragraphs
                if paragraph.section_id == section.pk
            ],
            "quoted": any(
                section.start_offset <= item.start_offset < section.end_offset for item in items
            ),
        }
        for section in report.sections.all()
    ]
    return sections, len(items)


# --- every organization's position (the dashboard's matrix) ------------------------------------

SIDE_LABELS: dict[str, Label] = {
    OrganizationKind.GOVERNMENT: _("Government"),
    OrganizationKind.NGO: _("NGOs"),
    OrganizationKind.OTHER: _("Other organizations"),
}


@dataclass
class SideSummary:
    """Where one group of organizations (government, NGOs, others) stands on a recommendation:
    how many have a position, and how many hold each status, worst first."""

    kind: str
    label: str
    assessed: int
    organizations: int
    counts: list[StatusCount]

    @property
    def lowest(self) -> str | None:
        return self.counts[0].status if self.counts else None

    @property
    def highest(self) -> str | None:
        return self.counts[-1].status if self.counts else None

    @property
    def agreed(self) -> bool:
        return self.lowest == self.highest


def side_summary(kind: str, statuses: list[str], organizations: int) -> SideSummary:
    counts = [
        StatusCount(value, str(label), statuses.count(value))
        for value, label in Status.choices
        if value in statuses
    ]
    return SideSummary(kind, str(SIDE_LABELS[kind]), len(statuses), organizations, counts)


@dataclass
class MatrixGroup:
    kind: str
    label: str
    organizations: list[Organization]


@dataclass
class MatrixCell:
    organization: Organization
    position: Assessment | None
    then: Assessment | None  # the position at the start of the cycle

    @property
    def change(self) -> int:
        """Steps moved on the scale since the cycle began (0 if it did not move or is new)."""
        if self.position is None or self.then is None:
            return 0
        return Status.rank(self.position.status) - Status.rank(self.then.status)

    @property
    def is_new(self) -> bool:
        return self.position is not None and self.then is None


# Norwegian alphabetical order, whatever the database's collation: a–z, then æ, ø, å (ä and ö
# with æ and ø); other accented letters with their base letter. '{', '|' and '}' follow 'z'.
_AFTER_Z = str.maketrans({"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}"})


def norwegian_sort_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_AFTER_Z))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def matrix_groups(report: Report, rows: list[Recommendation]) -> list[MatrixGroup]:
    """The matrix's columns: every organization that has reviewers for the report's country, a
    position on one of the rows or a responsibility in the report, grouped government / NGOs /
    others, by name in Norwegian alphabetical order (æ, ø, å after z)."""
    shown = {org_id for r in rows for org_id in r.standing}
    organizations = (
        Organization.objects.filter(
            Q(pk__in=shown)
            | Q(memberships__role=Membership.Role.REVIEWER, country=report.country)
            | Q(leads__recommendation__report=report)
            | Q(supports__recommendation__report=report)
        )
        .distinct()
        .order_by("name")
    )
    groups = {kind: MatrixGroup(kind, str(label), []) for kind, label in SIDE_LABELS.items()}
    for organization in sorted(organizations, key=lambda o: norwegian_sort_key(o.name)):
        groups[organization.kind].organizations.append(organization)
    return [group for group in groups.values() if group.organizations]


@dataclass
class MatrixRow:
    cells: list[list[MatrixCell]]  # per group
    sides: list[SideSummary]  # per group
    moved_up: int
    moved_down: int
    newly_assessed: int
    lead: Organization | None

    @property
    def columns(self) -> list[tuple[SideSummary, list[MatrixCell]]]:
        return list(zip(self.sides, self.cells, strict=True))


def matrix_row(recommendation: Recommendation, groups: list[MatrixGroup]) -> MatrixRow:
    """A recommendation's row of the matrix (needs attach_positions())."""
    cells = [
        [
            MatrixCell(
                organization,
                recommendation.standing.get(organization.pk),
                recommendation.standing_then.get(organization.pk),
            )
            for organization in group.organizations
        ]
        for group in groups
    ]
    sides = [
        side_summary(
            group.kind,
            [cell.position.status for cell in group_cells if cell.position is not None],
            len(group.organizations),
        )
        for group, group_cells in zip(groups, cells, strict=True)
    ]
    every = [cell for group_cells in cells for cell in group_cells]
    return MatrixRow(
        cells=cells,
        sides=sides,
        moved_up=sum(1 for cell in every if cell.change > 0),
        moved_down=sum(1 for cell in every if cell.change < 0),
        newly_assessed=sum(1 for cell in every if cell.is_new),
        lead=next(
            (
                cell.organization
                for cell in every
                if cell.organization.pk == recommendation.lead_organization_id
            ),
            None,
        ),
    )
