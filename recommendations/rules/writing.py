"""Writing a position: recording an assessment, adding a comment, carrying an organization's
position on last year's recommendation forward (docs/design.md, "Rules")."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

from ..models import (
    UNCITABLE,
    Assessment,
    Comment,
    EvidenceItem,
    Lineage,
    Recommendation,
    ReviewCycle,
    standing_assessments,
)
from ..status import Status
from .access import writer_membership

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class StaleAssessment(ValidationError):
    """Someone in the same organization recorded a newer assessment meanwhile."""

    def __init__(self, newer: Assessment) -> None:
        self.newer = newer
        super().__init__(
            gettext(
                "%(author)s recorded a newer assessment for %(organization)s meanwhile "
                "(%(status)s). Read it, then submit again if you still disagree."
            )
            % {
                "author": newer.author.get_full_name() or newer.author.get_username(),
                "organization": newer.organization,
                "status": newer.get_status_display(),
            }
        )


def assess(
    recommendation: Recommendation,
    *,
    author: "User",
    status: str,
    rationale: str,
    evidence: Iterable[EvidenceItem] = (),
    based_on: Assessment | None = None,
    based_on_id: int | None = None,
    cycle: ReviewCycle | None = None,
) -> Assessment:
    """Record the author's organization's new position (docs/design.md, "Rules").

    Refused (ValidationError) when the author may not write, the rationale is blank,
    IMPLEMENTED cites no evidence, cited evidence is not linked to this recommendation, no
    review cycle contains today, or the organization recorded a newer assessment than
    `based_on` (or the assessment of id `based_on_id`) meanwhile (StaleAssessment).
    """
    membership = writer_membership(author, recommendation.report)
    evidence = list(evidence)
    errors: dict[str, list[str]] = {}
    rationale = rationale.strip()
    if status not in Status.values:
        errors.setdefault("status", []).append(
            gettext("Unknown status %(status)r.") % {"status": status}
        )
    if not rationale:
        errors.setdefault("rationale", []).append(gettext("Give the reasons for this status."))
    if status == Status.IMPLEMENTED and not evidence:
        errors.setdefault("evidence", []).append(
            gettext("“Implemented” needs at least one cited evidence item.")
        )
    if recommendation.uncitable(evidence):
        errors.setdefault("evidence", []).append(str(UNCITABLE))
    if errors:
        raise ValidationError(errors)
    cycle = cycle or ReviewCycle.current()
    if based_on is not None:
        based_on_id = based_on.pk
    newer = None
    # Without a savepoint of its own (two statements fewer a write): nothing is raised
    # inside, so the caller's transaction stays usable when the assessment is stale.
    with transaction.atomic(savepoint=False):
        # Serialises writers on this recommendation so the staleness check below holds.
        # NO KEY: other transactions' foreign-key checks on it (a comment's, at COMMIT)
        # must not wait, or they deadlock with the data-version row this one waits for.
        Recommendation.objects.select_for_update(no_key=True).filter(pk=recommendation.pk).first()
        # Every organization's position, in a statement of its own after the lock (a statement
        # sees the data as it was when it began, so a read in the locking one would miss what
        # the writer it waited for committed). This organization's is the current one; the
        # recommendation keeps them all as they stand after the write (`standing`, which its
        # positions() reads), so that the page drawn next needs no second read.
        positions = standing_assessments([recommendation.pk]).select_related(
            "author", "organization"
        )
        standing = {position.organization_id: position for position in positions}
        current = standing.get(membership.organization_id)
        if current is not None and current.pk != based_on_id:
            newer = current
        else:
            assessment = Assessment.objects.create(
                recommendation=recommendation,
                cycle=cycle,
                organization=membership.organization,
                author=author,
                status=status,
                rationale=rationale,
                based_on=current,
            )
            if evidence:  # a new assessment cites nothing yet: one INSERT, no read first
                Citation = Assessment.cited_evidence.through
                Citation.objects.bulk_create(
                    Citation(assessment=assessment, evidenceitem=item) for item in evidence
                )
            standing[membership.organization_id] = assessment
    recommendation.standing = standing
    if newer is not None:
        raise StaleAssessment(newer)
    return assessment


def add_comment(
    recommendation: Recommendation,
    *,
    author: "User",
    body: str,
    evidence: EvidenceItem | None = None,
) -> Comment:
    membership = writer_membership(author, recommendation.report)
    body = body.strip()
    if not body:
        raise ValidationError({"body": [gettext("Write something first.")]})
    if evidence is not None and recommendation.uncitable([evidence]):
        raise ValidationError({"evidence": [UNCITABLE]})
    return Comment.objects.create(
        recommendation=recommendation,
        organization=membership.organization,
        author=author,
        body=body,
        evidence=evidence,
    )


NOTHING_TO_CARRY = gettext_lazy(
    "Your organization has no position on the previous year's recommendation."
)
ALREADY_ASSESSED = gettext_lazy("Your organization has already assessed this recommendation.")


def carry_forward(
    recommendation: Recommendation, *, author: "User", status: str, rationale: str
) -> Assessment:
    """A new assessment of `recommendation` for the author's organization, carrying its position
    on the predecessor forward. Evidence is never carried: what it cites must come from the new
    report, so the assessment cites none (assess() checks the rest)."""
    organization_id = writer_membership(author, recommendation.report).organization_id
    lineage = Lineage.objects.filter(recommendation=recommendation).first()
    predecessor = lineage.previous if lineage else None
    if (
        predecessor is None
        or not predecessor.assessments.filter(organization_id=organization_id).exists()
    ):
        raise ValidationError(NOTHING_TO_CARRY)
    if recommendation.assessments.filter(organization_id=organization_id).exists():
        raise ValidationError(ALREADY_ASSESSED)
    return assess(recommendation, author=author, status=status, rationale=rationale)
