"""Curating a report's evidence outside admin: quoting a passage, linking it to recommendations
with a stance, carrying an earlier year's quote forward, declining to (docs/design.md,
"Curating evidence"). The same rules as admin's evidence form: the quote is verbatim, found by
`locate_quote`, inside one section, and every change is in the audit history."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from ..models import (
    DeclinedCarry,
    EvidenceItem,
    EvidenceLink,
    Recommendation,
    Report,
    Section,
    SectionKind,
    Stance,
)
from ..quotes import QuoteLocation, locate_quote
from .access import may_curate

if TYPE_CHECKING:
    from ..suggestions import Proposal

# A recommendation's stance in a curation form; NOT_LINKED takes the link away.
NOT_LINKED = ""


@dataclass(frozen=True)
class Passage:
    """A span of a report's text that may be quoted: inside one section, not the
    recommendations themselves."""

    start: int
    end: int
    section: Section
    text: str


def passage(report: Report, start: int, end: int) -> Passage:
    """The passage at [start, end) of the report; ValidationError naming what is wrong."""
    length = len(report.source_text)
    if end <= start:
        raise ValidationError(gettext("The passage must end after it starts."))
    if not 0 <= start < end <= length:
        raise ValidationError(
            gettext("Characters %(start)s–%(end)s are not in the report (it has %(length)s).")
            % {"start": start, "end": end, "length": length}
        )
    text = report.source_text[start:end]
    if not text.strip():
        raise ValidationError(gettext("The passage holds no words."))
    return _passage(locate_quote(report, text, start), text)


def pasted_passage(report: Report, quote: str, start: int | None = None) -> Passage:
    """Where a pasted quote stands (locate_quote: verbatim, one occurrence or the one at
    `start`, one section), without the spaces and line breaks a copy picks up at its ends;
    ValidationError naming what is wrong."""
    quote = quote.strip()
    if not quote:
        raise ValidationError(gettext("The passage holds no words."))
    return _passage(locate_quote(report, quote, start), quote)


def _passage(location: QuoteLocation, text: str) -> Passage:
    if location.section.kind == SectionKind.RECOMMENDATIONS:
        raise ValidationError(
            gettext(
                "That passage is one of the recommendations; quote the report's findings "
                "about it instead."
            )
        )
    return Passage(location.start, location.end, location.section, text)


def require_curator(user: object) -> None:
    if not may_curate(user):  # type: ignore[arg-type]
        raise PermissionDenied(gettext("Only coordinators who curate evidence may do this."))


def _recommendations_of(report: Report, stances: Mapping[Recommendation, str]) -> None:
    for recommendation in stances:
        if recommendation.report_id != report.pk:
            raise ValidationError(
                gettext("Recommendation %(number)s belongs to %(report)s, not to %(this)s.")
                % {
                    "number": recommendation.number,
                    "report": recommendation.report,
                    "this": report,
                }
            )
    for stance in stances.values():
        if stance != NOT_LINKED and stance not in Stance.values:
            raise ValidationError(gettext("“%(stance)s” is not a stance.") % {"stance": stance})


@transaction.atomic
def quote(
    report: Report,
    found: Passage,
    stances: Mapping[Recommendation, str],
    *,
    note: str = "",
    carried_from: EvidenceItem | None = None,
) -> EvidenceItem:
    """Save the passage as evidence linked to the recommendations with their stances (those
    NOT_LINKED are left out). A passage already quoted is that item: its links are set for the
    recommendations named, and its other links are kept. ValidationError when no
    recommendation is linked."""
    _recommendations_of(report, stances)
    linked = {r: stance for r, stance in stances.items() if stance != NOT_LINKED}
    if not linked:
        raise ValidationError(gettext("Link the quote to at least one recommendation."))
    item = (
        EvidenceItem.objects.select_for_update()
        .filter(report=report, start_offset=found.start, end_offset=found.end)
        .first()
    )
    if item is None:
        item = EvidenceItem(
            report=report,
            section=found.section,
            start_offset=found.start,
            end_offset=found.end,
            quote=found.text,
            note=note,
            carried_from=carried_from,
        )
        item.full_clean()
        try:
            with transaction.atomic():
                item.save()
        except IntegrityError:  # saved meanwhile by another coordinator: link that one
            item = EvidenceItem.objects.get(
                report=report, start_offset=found.start, end_offset=found.end
            )
    else:
        changed = []
        if note and not item.note:
            item.note = note
            changed.append("note")
        if carried_from is not None and item.carried_from_id is None:
            item.carried_from = carried_from
            changed.append("carried_from")
        if changed:
            item.save(update_fields=changed)
    _set_links(item, linked, restance=False)
    return item


@transaction.atomic
def relink(
    item: EvidenceItem, stances: Mapping[Recommendation, str], *, note: str, seen: str
) -> None:
    """Set the item's links to exactly these stances (NOT_LINKED unlinks) and its note.
    ValidationError, changing nothing, when the links or note changed since `seen`
    (links_seen), or when a link to take away is cited by that recommendation's assessments or
    comments (they could no longer cite it)."""
    _recommendations_of(item.report, stances)
    item = EvidenceItem.objects.select_for_update().get(pk=item.pk)
    if links_seen(item) != seen:
        raise ValidationError(
            gettext(
                "Someone changed this quote's links or note meanwhile; they are shown as they "
                "are now. Make your change again."
            ),
            code="stale",
        )
    kept = [r for r, s in stances.items() if s != NOT_LINKED]
    stale = list(EvidenceLink.objects.filter(evidence=item).exclude(recommendation__in=kept))
    for link in stale:
        if citing := _cited_on(item, link.recommendation_id):
            raise ValidationError(
                gettext("%(label)s stays linked to recommendation %(number)s: %(citing)s cite it.")
                % {
                    "label": item.label,
                    "number": link.recommendation.number,
                    "citing": ", ".join(citing),
                }
            )
    if item.note != note:
        item.note = note
        item.full_clean()
        item.save(update_fields=["note"])
    _set_links(item, {r: s for r, s in stances.items() if s != NOT_LINKED}, restance=True)
    for link in stale:
        link.delete()  # one by one, so that each is in the audit history


def _set_links(
    item: EvidenceItem, stances: Mapping[Recommendation, str], *, restance: bool
) -> None:
    """Link the item to each recommendation with its stance. A link that exists keeps its
    stance unless `restance` (the item's own panel, which shows it): accepting a proposal never
    silently changes what another coordinator chose."""
    current = {link.recommendation_id: link for link in item.links.all()}
    for recommendation, stance in stances.items():
        link = current.get(recommendation.pk)
        if link is None:
            link = EvidenceLink(evidence=item, recommendation=recommendation, stance=stance)
            link.full_clean()
            link.save()
        elif link.stance != stance and not restance:
            raise ValidationError(
                gettext(
                    "%(label)s is already linked to recommendation %(number)s as "
                    "%(stance)s; change that in its own panel."
                )
                % {
                    "label": item.label,
                    "number": recommendation.number,
                    "stance": link.get_stance_display(),
                }
            )
        elif link.stance != stance:
            link.stance = stance
            link.save(update_fields=["stance"])


def links_seen(item: EvidenceItem) -> str:
    """The item's links and note as a panel shows them: sent back with a change, so that a
    change made meanwhile by someone else is not undone unseen."""
    links = sorted(item.links.values_list("recommendation_id", "stance"))
    return sha256(repr((links, item.note)).encode()).hexdigest()[:16]


def _cited_on(item: EvidenceItem, recommendation_id: int) -> list[str]:
    assessments = item.citing_assessments.filter(recommendation_id=recommendation_id)
    comments = item.comments.filter(recommendation_id=recommendation_id)
    return [
        *(
            gettext("assessment #%(pk)s") % {"pk": pk}
            for pk in assessments.values_list("pk", flat=True)
        ),
        *(gettext("comment #%(pk)s") % {"pk": pk} for pk in comments.values_list("pk", flat=True)),
    ]


@transaction.atomic
def delete_quote(item: EvidenceItem) -> None:
    """Delete an item nothing cites; ValidationError naming what cites it otherwise."""
    citations = item.citations()
    if citations:
        raise ValidationError(
            [gettext("This quote is cited, so it stays:"), *citations],
        )
    for link in item.links.all():
        link.delete()
    item.delete()


def decline_carry(recommendation: Recommendation, earlier: EvidenceItem) -> None:
    """Do not propose carrying `earlier` forward to this recommendation again."""
    DeclinedCarry.objects.get_or_create(recommendation=recommendation, evidence=earlier)


@transaction.atomic
def accept_verbatim(report: Report, proposals: "Sequence[tuple[Recommendation, Proposal]]") -> int:
    """Carry each earlier quote forward word for word, with its stance: all or none."""
    count = 0
    earlier = EvidenceItem.objects.in_bulk([p.from_evidence for _, p in proposals])
    for recommendation, proposal in proposals:
        if proposal.changed or proposal.stance is None or proposal.from_evidence not in earlier:
            raise ValidationError(gettext("Only unchanged carried quotes are accepted at once."))
        found = passage(report, proposal.start, proposal.end)
        quote(
            report,
            found,
            {recommendation: proposal.stance},
            carried_from=earlier[proposal.from_evidence],
        )
        count += 1
    return count
