"""The status-report document, built from the database (format described in docs/design.md)."""

from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from ..models import (
    Assessment,
    EvidenceItem,
    EvidenceLink,
    Recommendation,
    Report,
    ReviewCycle,
)
from ..status import STATUS_LABELS, Status

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DOCUMENT_FORMAT = "tip-tracker/status-report"
DOCUMENT_VERSION = 1


def local_iso(moment: datetime, zone: tzinfo | None = None) -> str:
    return moment.astimezone(zone or timezone.get_current_timezone()).isoformat(timespec="seconds")


def person_name(user: "User") -> str:
    return user.get_full_name() or user.get_username()


ASSESSMENT_COLUMNS = (
    "pk",
    "recommendation__number",
    "organization__name",
    "organization__kind",
    "author__first_name",
    "author__last_name",
    "author__username",
    "cycle__name",
    "status",
    "rationale",
    "created_at",
    "based_on_id",
)


def assessment_record(row: tuple, zone: tzinfo | None = None) -> dict:
    """One row of assessment_rows() as document data (times in `zone`, by default the
    current time zone)."""
    (pk, number, organization, kind, first, last, username, cycle, status, rationale,
     created_at, based_on, cited_ids) = row  # fmt: skip
    return {
        "id": pk,
        "recommendation": number,
        "organization": organization,
        "organization_kind": kind,
        "author": f"{first} {last}".strip() or username,  # as User.get_full_name()
        "cycle": cycle,
        "status": status,
        "status_label": STATUS_LABELS[status],
        "assessed_at": local_iso(created_at, zone),
        "rationale": rationale,
        "cited_evidence": sorted(int(pk) for pk in (cited_ids or "").split(",") if pk),
        "based_on": based_on,
    }


def assessment_rows(recommendations: QuerySet[Recommendation]) -> QuerySet:
    """Every assessment of these recommendations, oldest first, as plain rows (no model
    instances: thousands of them would cost more than the query), in one query."""
    return (
        Assessment.objects.filter(recommendation__in=recommendations.values("pk"))
        .values(*ASSESSMENT_COLUMNS)
        .with_cited_ids()
        .order_by("created_at", "pk")
        .values_list(*ASSESSMENT_COLUMNS, "cited_ids")
    )


def stream_assessment_records(recommendations: QuerySet[Recommendation]) -> Iterator[dict]:
    """assessment records one at a time from a server-side cursor (PostgreSQL): memory does
    not grow with the history."""
    zone = timezone.get_current_timezone()  # looked up once, not per row
    for row in assessment_rows(recommendations).iterator(chunk_size=2000):
        yield assessment_record(row, zone)


def report_record(report: Report) -> dict:
    return {
        "id": report.slug,
        "title": report.title,
        "country": report.country,
        "year": report.year,
        "tier": report.tier,
        "tier_label": report.get_tier_display(),
        "source_name": report.source_name,
        "source_sha256": report.source_sha256,
    }


def cycle_record(cycle: ReviewCycle | None) -> dict | None:
    if cycle is None:
        return None
    return {
        "name": cycle.name,
        "starts_on": cycle.starts_on.isoformat(),
        "ends_on": cycle.ends_on.isoformat(),
    }


def build_document(
    report: Report,
    recommendations: QuerySet[Recommendation],
    *,
    generated_by: "User",
    filters: dict[str, str] | None = None,
) -> dict:
    """The status report of these recommendations (already filtered) of `report`.

    A fixed number of queries however many assessments there are.
    """
    selected = Recommendation.objects.filter(pk__in=recommendations.values("pk"))
    rows = list(selected.with_positions().with_counts().order_by("number"))
    zone = timezone.get_current_timezone()
    assessments = [assessment_record(a, zone) for a in assessment_rows(recommendations)]
    by_id = {a["id"]: a for a in assessments}
    history: dict[int, list[dict]] = {r.number: [] for r in rows}
    for record in assessments:
        history[record["recommendation"]].append(record)

    links = list(
        EvidenceLink.objects.filter(recommendation__in=recommendations.values("pk"))
        .select_related("recommendation")
        .order_by("recommendation__number", "evidence__start_offset", "pk")
    )
    evidence_ids = {link.evidence_id for link in links} | {
        pk for record in assessments for pk in record["cited_evidence"]
    }
    evidence = EvidenceItem.objects.filter(pk__in=evidence_ids).select_related("section")

    recommendation_records = []
    for r in rows:
        current: dict[str, dict] = {}
        for record in history[r.number]:  # oldest first: the last seen per organization wins
            current[record["organization"]] = record
        positions = sorted(
            current.values(), key=lambda a: (a["organization_kind"], a["organization"])
        )
        recommendation_records.append(
            {
                "id": f"{report.slug}/{r.number}",
                "number": r.number,
                "short_title": r.short_title,
                "pillar": r.pillar,
                "pillar_label": r.get_pillar_display(),
                "text": r.text,
                "government": by_id.get(r.government_assessment_id),
                "ngo": by_id.get(r.ngo_assessment_id),
                "divergence": r.divergence,
                "positions": positions,
                "evidence": [
                    {"id": link.evidence_id, "stance": link.stance}
                    for link in links
                    if link.recommendation_id == r.pk
                ],
                "evidence_count": r.evidence_total,
                "comment_count": r.comment_total,
            }
        )

    return {
        "format": DOCUMENT_FORMAT,
        "version": DOCUMENT_VERSION,
        "generated_at": local_iso(timezone.now()),
        "generated_by": person_name(generated_by),
        "report": report_record(report),
        "cycle": cycle_record(ReviewCycle.containing()),
        "filters": {key: value for key, value in (filters or {}).items() if value},
        "statuses": [{"value": value, "label": label} for value, label in Status.choices],
        "recommendations": recommendation_records,
        "assessments": assessments,
        "evidence": [
            {
                "id": item.pk,
                "label": item.label,
                "section": item.section.kind,
                "section_label": item.section.get_kind_display(),
                "quote": item.quote,
                "start_offset": item.start_offset,
                "end_offset": item.end_offset,
                "note": item.note,
                "links": [
                    {"recommendation": link.recommendation.number, "stance": link.stance}
                    for link in links
                    if link.evidence_id == item.pk
                ],
            }
            for item in sorted(evidence, key=lambda item: (item.start_offset, item.pk))
        ],
    }
