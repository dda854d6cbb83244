"""The status-report document, built from the database (format described in docs/design.md)."""

from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from ..filters import end_of_day, start_of_day
from ..lineage import Link, backward, country_links, previous_report
from ..models import (
    Assessment,
    EvidenceItem,
    EvidenceLink,
    Recommendation,
    Report,
    Responsibility,
    ReviewCycle,
    attach_positions,
)
from ..presentation import SideSummary, matrix_groups, matrix_row, side_summary
from ..status import Status, status_label

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DOCUMENT_FORMAT = "tip-tracker/status-report"
DOCUMENT_VERSION = 2


def local_iso(moment: datetime, zone: tzinfo | None = None) -> str:
    return moment.astimezone(zone or timezone.get_current_timezone()).isoformat(timespec="seconds")


def person_name(user: "User") -> str:
    return user.get_full_name() or user.get_username()


def made_by(user: "User | None") -> str:
    """Who a document says generated it: the person, or for a copy made once and served to
    everyone who asks (recommendations/prepared.py), the tracker."""
    return person_name(user) if user is not None else gettext("TIP recommendation tracker")


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
        "status_label": status_label(status),
        "assessed_at": local_iso(created_at, zone),
        "rationale": rationale,
        "cited_evidence": sorted(int(pk) for pk in (cited_ids or "").split(",") if pk),
        "based_on": based_on,
    }


def assessment_rows(
    recommendations: QuerySet[Recommendation], at: datetime | None = None
) -> QuerySet:
    """Every assessment of these recommendations (made before `at`, when given), oldest first,
    as plain rows (no model instances: thousands of them would cost more than the query), in
    one query."""
    assessments = Assessment.objects.filter(recommendation__in=recommendations.values("pk"))
    if at is not None:
        assessments = assessments.filter(created_at__lt=at)
    return (
        assessments.values(*ASSESSMENT_COLUMNS)
        .with_cited_ids()
        .order_by("created_at", "pk")
        .values_list(*ASSESSMENT_COLUMNS, "cited_ids")
    )


def stream_assessment_records(
    recommendations: QuerySet[Recommendation], at: datetime | None = None
) -> Iterator[dict]:
    """assessment records one at a time from a server-side cursor (PostgreSQL): memory does
    not grow with the history."""
    zone = timezone.get_current_timezone()  # looked up once, not per row
    for row in assessment_rows(recommendations, at).iterator(chunk_size=2000):
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


def group_record(side: SideSummary) -> dict:
    return {
        "assessed": side.assessed,
        "organizations": side.organizations,
        "lowest": side.lowest,
        "highest": side.highest,
        "counts": {count.status: count.count for count in side.counts},
    }


def responsible_record(responsibility: Responsibility | None) -> dict:
    if responsibility is None:
        return {"lead": None, "supporting": []}
    return {
        "lead": responsibility.lead.name if responsibility.lead else None,
        "supporting": sorted(o.name for o in responsibility.supporting.all()),
    }


def lineage_record(pk: int, year: int, links: dict[int, Link]) -> dict:
    """How recommendation `pk` (of a report of `year`) relates to the previous year's report of
    its country; NEW when it has no lineage row."""
    link = links.get(pk)
    if link is None:
        return {"previous": None, "change": "NEW", "first_year": year, "years_recommended": 1}
    steps = backward(pk, links)
    return {
        "previous": link.previous_label,
        "change": link.change,
        "first_year": steps[-1].previous_year if steps else link.year,
        "years_recommended": len(steps) + 1,
    }


def dropped_records(report: Report, links: dict[int, Link]) -> list[dict]:
    """The previous year's recommendations that no recommendation of this report carries on."""
    carried = {link.previous_id for link in links.values() if link.report_id == report.pk}
    earlier = previous_report(report)
    if earlier is None:
        return []
    return [
        {
            "id": f"{earlier.slug}/{r.number}",
            "number": r.number,
            "year": earlier.year,
            "short_title": r.short_title,
            "text": r.text,
        }
        for r in earlier.recommendations.order_by("number")
        if r.pk not in carried
    ]


def build_document(
    report: Report,
    recommendations: QuerySet[Recommendation],
    *,
    generated_by: "User | None",
    filters: dict[str, str] | None = None,
    day: date | None = None,
) -> dict:
    """The status report of these recommendations (already filtered) of `report`, with the
    positions as they stood at the end of `day` (now when None).

    A fixed number of queries however many assessments there are.
    """
    at = end_of_day(day) if day else None
    cycle = ReviewCycle.containing(day or timezone.localdate())
    since = start_of_day(cycle.starts_on) if cycle else None
    selected = Recommendation.objects.filter(pk__in=recommendations.values("pk"))
    rows = attach_positions(
        list(selected.with_counts().select_related("responsibility").order_by("number")),
        at,
        since=since,
    )
    groups = matrix_groups(report, rows)
    zone = timezone.get_current_timezone()
    assessments = [assessment_record(a, zone) for a in assessment_rows(recommendations, at)]
    by_id = {a["id"]: a for a in assessments}
    responsibilities = {
        responsibility.recommendation_id: responsibility
        for responsibility in Responsibility.objects.filter(
            recommendation__in=recommendations.values("pk")
        )
        .select_related("lead")
        .prefetch_related("supporting")
    }

    links = list(
        EvidenceLink.objects.filter(recommendation__in=recommendations.values("pk"))
        .select_related("recommendation")
        .order_by("recommendation__number", "evidence__start_offset", "pk")
    )
    evidence_ids = {link.evidence_id for link in links} | {
        pk for record in assessments for pk in record["cited_evidence"]
    }
    evidence = EvidenceItem.objects.filter(pk__in=evidence_ids).select_related("section")

    lineage_links = country_links(report.country)
    recommendation_records = []
    for r in rows:
        matrix = matrix_row(r, groups)
        positions = sorted(
            (by_id[a.pk] for a in r.standing.values()),
            key=lambda a: (a["organization_kind"], a["organization"]),
        )
        recommendation_records.append(
            {
                "id": f"{report.slug}/{r.number}",
                "number": r.number,
                "short_title": r.short_title,
                "pillar": r.pillar,
                "pillar_label": r.get_pillar_display(),
                "text": r.text,
                "positions": positions,
                "groups": {side.kind: group_record(side) for side in matrix.sides},
                "divergence": r.divergence,
                "change_since_cycle_start": {
                    "up": matrix.moved_up,
                    "down": matrix.moved_down,
                    "new": matrix.newly_assessed,
                },
                "responsible": responsible_record(responsibilities.get(r.pk)),
                "target_date": r.target_date.isoformat() if r.target_date else None,
                "overdue": r.overdue,
                "evidence": [
                    {"id": link.evidence_id, "stance": link.stance}
                    for link in links
                    if link.recommendation_id == r.pk
                ],
                "evidence_count": r.evidence_total,
                "comment_count": r.comment_total,
                "lineage": lineage_record(r.pk, report.year, lineage_links),
            }
        )

    return {
        "format": DOCUMENT_FORMAT,
        "version": DOCUMENT_VERSION,
        "generated_at": local_iso(timezone.now()),
        "generated_by": made_by(generated_by),
        "report": report_record(report),
        "as_of": day.isoformat() if day else None,
        "cycle": cycle_record(cycle),
        "organizations": [
            {"name": organization.name, "kind": organization.kind}
            for group in groups
            for organization in group.organizations
        ],
        "filters": {key: value for key, value in (filters or {}).items() if value},
        "statuses": [{"value": value, "label": str(label)} for value, label in Status.choices],
        "recommendations": recommendation_records,
        "dropped": dropped_records(report, lineage_links),
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


def upgraded(document: dict) -> dict:
    """A document of any version in the shape of the current one, for the renderers (CSV,
    XLSX, PDF, the snapshot page). Snapshots published as version 1 had no responsibilities,
    dates or groups; their stored divergence (then: between the latest government and the
    latest NGO assessment) is kept as published. The stored JSON itself is never changed."""
    if document.get("version", 1) >= 2:
        return document
    document = {**document, "as_of": None}
    kinds = {
        p["organization"]: p["organization_kind"]
        for r in document["recommendations"]
        for p in r["positions"]
    }
    document["organizations"] = [
        {"name": name, "kind": kind}
        for name, kind in sorted(kinds.items(), key=lambda item: (item[1], item[0]))
    ]
    totals = {kind: list(kinds.values()).count(kind) for kind in set(kinds.values())}
    recommendations = []
    for r in document["recommendations"]:
        statuses: dict[str, list[str]] = {}
        for p in r["positions"]:
            statuses.setdefault(p["organization_kind"], []).append(p["status"])
        recommendations.append(
            {
                **r,
                "groups": {
                    kind: group_record(side_summary(kind, statuses.get(kind, []), total))
                    for kind, total in sorted(totals.items())
                },
                "change_since_cycle_start": None,
                "responsible": {"lead": None, "supporting": []},
                "target_date": None,
                "overdue": False,
            }
        )
    document["recommendations"] = recommendations
    return document
