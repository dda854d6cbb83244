"""Status reports.

One *document* (plain JSON data) is built from the database, or read back from a published
snapshot; each format has one function that renders a document. The views, the snapshot pages and
the admin actions all go through these functions.
"""

import csv
import io
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header

from .models import (
    NOT_ASSESSED,
    STATUS_LABELS,
    Assessment,
    EvidenceItem,
    EvidenceLink,
    Organization,
    Pillar,
    Recommendation,
    Report,
    ReviewCycle,
    Snapshot,
    Status,
    sha256_hex,
    status_label,
)
from .presentation import status_summary

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

DOCUMENT_FORMAT = "tip-tracker/status-report"
DOCUMENT_VERSION = 1
PDF_HISTORY_LENGTH = 5

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "json": "application/json",
}

SUMMARY_COLUMNS = [
    "Number",
    "Short title",
    "Pillar",
    "Recommendation",
    "Government status",
    "Government assessed at",
    "Government organization",
    "Government rationale",
    "NGO status",
    "NGO assessed at",
    "NGO organization",
    "NGO rationale",
    "NGO statuses by organization",
    "Divergence (steps)",
    "Evidence items",
    "Comments",
]

HISTORY_COLUMNS = [
    "Assessment ID",
    "Recommendation",
    "Short title",
    "Organization",
    "Organization kind",
    "Author",
    "Cycle",
    "Status",
    "Assessed at",
    "Rationale",
    "Cited evidence IDs",
    "Based on assessment ID",
]

EVIDENCE_COLUMNS = [
    "Evidence ID",
    "Section",
    "Quote",
    "Start offset",
    "End offset",
    "Note",
    "Recommendations (stance)",
]

# The app's status colours (static/css/app.css), for XLSX fills and the PDF.
STATUS_COLOURS = {
    Status.REGRESSED: "B91C1C",
    Status.NO_PROGRESS: "C2410C",
    Status.IN_PROGRESS: "A16207",
    Status.PARTIALLY_IMPLEMENTED: "1D4ED8",
    Status.IMPLEMENTED: "15803D",
}


# --- building the document -----------------------------------------------------------------


def local_iso(moment: datetime, zone: tzinfo | None = None) -> str:
    return moment.astimezone(zone or timezone.get_current_timezone()).isoformat(timespec="seconds")


def person_name(user: "AbstractBaseUser") -> str:
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
    """One row of assessments_for_export() as document data (times in `zone`, by default the
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


def assessments_for_export(recommendations: QuerySet[Recommendation]) -> QuerySet:
    """Every assessment of these recommendations, oldest first, as plain rows (no model
    instances: thousands of them would cost more than the query), in one query."""
    return (
        Assessment.objects.filter(recommendation__in=recommendations.values("pk"))
        .values(*ASSESSMENT_COLUMNS)
        .with_cited_ids()
        .order_by("created_at", "pk")
        .values_list(*ASSESSMENT_COLUMNS, "cited_ids")
    )


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
    generated_by: "AbstractBaseUser",
    filters: dict[str, str] | None = None,
) -> dict:
    """The status report of these recommendations (already filtered) of `report`.

    A fixed number of queries however many assessments there are.
    """
    selected = Recommendation.objects.filter(pk__in=recommendations.values("pk"))
    rows = list(selected.with_positions().with_counts().order_by("number"))
    zone = timezone.get_current_timezone()
    assessments = [assessment_record(a, zone) for a in assessments_for_export(recommendations)]
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


def publish_snapshot(report: Report, *, published_by: "AbstractBaseUser", title: str) -> Snapshot:
    """Freeze the whole report's current status report as a snapshot."""
    document = build_document(
        report, report.recommendations.all(), generated_by=published_by, filters={}
    )
    content = render_json(document).decode("utf-8")
    return Snapshot.objects.create(
        report=report,
        title=title.strip(),
        content=content,
        content_sha256=sha256_hex(content),
        published_by=published_by,
    )


@dataclass
class StatusChange:
    """One organization's position on one recommendation, before and after."""

    number: int
    short_title: str
    organization: str
    organization_kind: str
    before: dict | None
    after: dict | None

    @property
    def steps(self) -> int | None:
        """Signed steps on the status scale; positive is progress."""
        if not self.before or not self.after:
            return None
        return Status.rank(self.after["status"]) - Status.rank(self.before["status"])


def compare_documents(older: dict, newer: dict) -> list[StatusChange]:
    """Every organization whose position on a recommendation changed status between two
    status reports (a first assessment counts as a change from not assessed)."""

    def positions(document: dict) -> dict[tuple[int, str], dict]:
        return {
            (r["number"], p["organization"]): p
            for r in document["recommendations"]
            for p in r["positions"]
        }

    titles = {r["number"]: r["short_title"] for r in older["recommendations"]}
    titles.update({r["number"]: r["short_title"] for r in newer["recommendations"]})
    before, after = positions(older), positions(newer)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if (old or {}).get("status") == (new or {}).get("status"):
            continue
        number, organization = key
        changes.append(
            StatusChange(
                number=number,
                short_title=titles[number],
                organization=organization,
                organization_kind=(new or old)["organization_kind"],
                before=old,
                after=new,
            )
        )
    return changes


# --- one renderer per format ---------------------------------------------------------------


def render_json(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def neutralise_formula(value: object) -> object:
    """Spreadsheets run a cell that starts with = + - @ as a formula; text must stay text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def positions_by_organization(recommendation: dict, kind: str) -> str:
    return "; ".join(
        f"{p['organization']}: {p['status_label']}"
        for p in recommendation["positions"]
        if p["organization_kind"] == kind
    )


def summary_rows(document: dict) -> Iterator[list]:
    for r in document["recommendations"]:
        government, ngo = r["government"] or {}, r["ngo"] or {}
        yield [
            r["number"],
            r["short_title"],
            r["pillar_label"],
            r["text"],
            status_label(government.get("status")),
            government.get("assessed_at", ""),
            government.get("organization", ""),
            government.get("rationale", ""),
            status_label(ngo.get("status")),
            ngo.get("assessed_at", ""),
            ngo.get("organization", ""),
            ngo.get("rationale", ""),
            positions_by_organization(r, Organization.Kind.NGO),
            "" if r["divergence"] is None else r["divergence"],
            r["evidence_count"],
            r["comment_count"],
        ]


def history_row(record: dict, short_titles: dict[int, str]) -> list:
    return [
        record["id"],
        record["recommendation"],
        short_titles.get(record["recommendation"], ""),
        record["organization"],
        Organization.Kind(record["organization_kind"]).label,
        record["author"],
        record["cycle"],
        record["status_label"],
        record["assessed_at"],
        record["rationale"],
        " ".join(str(pk) for pk in record["cited_evidence"]),
        record["based_on"] or "",
    ]


def history_rows(document: dict) -> Iterator[list]:
    short_titles = {r["number"]: r["short_title"] for r in document["recommendations"]}
    for record in document["assessments"]:
        yield history_row(record, short_titles)


def evidence_rows(document: dict) -> Iterator[list]:
    for item in document["evidence"]:
        yield [
            item["id"],
            item["section_label"],
            item["quote"],
            item["start_offset"],
            item["end_offset"],
            item["note"],
            "; ".join(f"{link['recommendation']} ({link['stance']})" for link in item["links"]),
        ]


class _Line:
    """A file-like object whose write() hands back the line, for csv.writer in a stream."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text line by line, starting with a byte-order mark so Excel reads UTF-8."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([neutralise_formula(value) for value in row])


def render_csv(document: dict) -> bytes:
    return "".join(csv_lines(SUMMARY_COLUMNS, summary_rows(document))).encode("utf-8")


def render_history_csv(document: dict) -> bytes:
    return "".join(csv_lines(HISTORY_COLUMNS, history_rows(document))).encode("utf-8")


def stream_history_csv(recommendations: QuerySet[Recommendation]) -> Iterator[bytes]:
    """The full assessment history straight from the database, one row at a time: memory does
    not grow with the history (a server-side cursor on PostgreSQL)."""
    short_titles = dict(recommendations.values_list("number", "short_title"))
    zone = timezone.get_current_timezone()  # looked up once, not per row
    rows = (
        history_row(assessment_record(a, zone), short_titles)
        for a in assessments_for_export(recommendations).iterator(chunk_size=2000)
    )
    for line in csv_lines(HISTORY_COLUMNS, rows):
        yield line.encode("utf-8")


def spreadsheet_date(value: object) -> object:
    """A document timestamp as a real spreadsheet date (local time; Excel has no zones)."""
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    return value


def spreadsheet_cell(value: object, is_date: bool) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if is_date:
        return spreadsheet_date(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)  # XML cannot hold most control codes
    return value


def render_xlsx(document: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="334E68")
    wrap = Alignment(wrap_text=True, vertical="top")
    status_fills = {
        label: PatternFill("solid", fgColor=STATUS_COLOURS[value])
        for value, label in Status.choices
    }

    def add_sheet(
        title: str,
        header: list[str],
        rows: Iterable[list],
        widths: list[int],
        status_cols: tuple[int, ...] = (),
        date_cols: tuple[int, ...] = (),
    ) -> None:
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font, cell.fill, cell.alignment = header_font, header_fill, wrap
        for row in rows:
            sheet.append([spreadsheet_cell(v, i in date_cols) for i, v in enumerate(row)])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                    cell.alignment = wrap
                elif isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                    cell.alignment = wrap
                else:
                    cell.alignment = Alignment(vertical="top")
            for index in status_cols:
                cell = row[index]
                if cell.value in status_fills:
                    cell.fill = status_fills[cell.value]
                    cell.font = Font(bold=True, color="FFFFFF")
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions

    workbook = Workbook()
    workbook.remove(workbook.active)
    add_sheet(
        "Summary",
        SUMMARY_COLUMNS,
        summary_rows(document),
        [8, 28, 14, 60, 18, 17, 24, 50, 18, 17, 24, 50, 36, 11, 10, 10],
        status_cols=(4, 8),
        date_cols=(5, 9),
    )
    add_sheet(
        "History",
        HISTORY_COLUMNS,
        history_rows(document),
        [11, 9, 28, 28, 12, 20, 10, 18, 17, 60, 14, 12],
        status_cols=(7,),
        date_cols=(8,),
    )
    add_sheet("Evidence", EVIDENCE_COLUMNS, evidence_rows(document), [10, 22, 80, 9, 9, 40, 30])
    about = workbook.create_sheet("About")
    for label, value in about_lines(document):
        about.append([label, value])
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 80
    for cell in about["A"]:
        cell.font = Font(bold=True)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def about_lines(document: dict) -> list[tuple[str, str]]:
    report, cycle = document["report"], document["cycle"]
    return [
        ("Report", report["title"]),
        ("Country", report["country"]),
        ("Year", str(report["year"])),
        ("Tier", report["tier_label"]),
        ("Review cycle", cycle["name"] if cycle else "—"),
        ("Generated at", readable_moment(document["generated_at"])),
        ("Generated by", document["generated_by"]),
        ("Filters", describe_filters(document["filters"]) or "none (all recommendations)"),
        ("Source", report["source_name"]),
        ("Source SHA-256", report["source_sha256"]),
    ]


FILTER_LABELS = {
    "q": ("Search", str),
    "status": ("Status", status_label),
    "kind": ("Assessed by", lambda value: Organization.Kind(value).label),
    "pillar": ("Pillar", lambda value: Pillar(value).label),
    "divergent": ("Divergent only", lambda value: "yes" if value == "true" else "no"),
}


def readable_moment(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    offset = moment.strftime("%z")
    return f"{moment.day} {moment:%B %Y, %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def describe_filters(filters: dict[str, str]) -> str:
    """The dashboard filters a document was made with, as a reader would say them."""
    described = []
    for key, value in filters.items():
        label, describe = FILTER_LABELS.get(key, (key, str))
        described.append(f"{label}: {describe(value)}")
    return ", ".join(described)


def refuse_url(url: str, *args, **kwargs) -> dict:
    raise ValueError(f"The status report fetches nothing from outside ({url}).")


_fonts = threading.local()


def font_configuration():
    """Fonts found once per thread, not once per PDF (each PDF would spend ~0.3 s on it)."""
    from weasyprint.text.fonts import FontConfiguration

    if not hasattr(_fonts, "configuration"):
        _fonts.configuration = FontConfiguration()
    return _fonts.configuration


def render_pdf(document: dict) -> bytes:
    from weasyprint import HTML

    colours = {**STATUS_COLOURS, NOT_ASSESSED: "CBD2D9"}
    evidence = {item["id"]: item for item in document["evidence"]}
    sections = []
    for r in document["recommendations"]:
        cited_ids = sorted({pk for p in r["positions"] for pk in p["cited_evidence"]})
        history = [a for a in document["assessments"] if a["recommendation"] == r["number"]]
        shown = {(side or {}).get("id") for side in (r["government"], r["ngo"])}
        sections.append(
            {
                **r,
                "sides": [("Government", r["government"]), ("NGO", r["ngo"])],
                "other_positions": [p for p in r["positions"] if p["id"] not in shown],
                "cited": [evidence[pk] for pk in cited_ids if pk in evidence],
                "recent_history": list(reversed(history))[:PDF_HISTORY_LENGTH],
                "history_total": len(history),
            }
        )
    summary = []
    for side in ("government", "ngo"):
        counts = status_summary(
            [(r[side] or {}).get("status") for r in document["recommendations"]]
        )
        for count in counts:
            count.colour = colours[count.status]
        summary.append(("Government" if side == "government" else "NGO", counts))
    context = {
        "document": document,
        "report": document["report"],
        "about": about_lines(document),
        "sections": sections,
        "summary": summary,
        "colours": colours,
    }
    html = render_to_string("exports/status_report.html", context)
    return HTML(string=html, url_fetcher=refuse_url).write_pdf(font_config=font_configuration())


RENDERERS = {"csv": render_csv, "xlsx": render_xlsx, "pdf": render_pdf, "json": render_json}


def file_name(report_slug: str, kind: str, day: date, extension: str, suffix: str = "") -> str:
    """e.g. tip-norway-2024-status-2026-11-28.xlsx"""
    return f"tip-{report_slug}-{kind}-{day.isoformat()}{suffix}.{extension}"


# --- downloads: shared by the views and the admin actions ----------------------------------


def attachment(
    body: bytes | Iterator[bytes], extension: str, name: str
) -> HttpResponse | StreamingHttpResponse:
    response_class = HttpResponse if isinstance(body, bytes) else StreamingHttpResponse
    response = response_class(body, content_type=CONTENT_TYPES[extension])
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response


def report_download(
    report: Report,
    recommendations: QuerySet[Recommendation],
    extension: str,
    *,
    user: "AbstractBaseUser",
    filters: dict[str, str] | None = None,
    table: str = "summary",
) -> HttpResponse | StreamingHttpResponse:
    """The live status report of these recommendations; `table="history"` streams the CSV
    of every assessment instead."""
    today = timezone.localdate()
    if table == "history":
        name = file_name(report.slug, "history", today, "csv")
        return attachment(stream_history_csv(recommendations), "csv", name)
    document = build_document(report, recommendations, generated_by=user, filters=filters)
    return attachment(
        RENDERERS[extension](document),
        extension,
        file_name(report.slug, "status", today, extension),
    )


def snapshot_download(snapshot: Snapshot, extension: str, table: str = "summary") -> HttpResponse:
    day = timezone.localdate(snapshot.published_at)
    kind = "history" if table == "history" else "status"
    name = file_name(snapshot.report.slug, kind, day, extension, f"-snapshot-{snapshot.pk}")
    if extension == "json":  # byte for byte what was published, so its SHA-256 can be checked
        return attachment(snapshot.content.encode("utf-8"), "json", name)
    document = snapshot.document
    if table == "history":
        return attachment(render_history_csv(document), "csv", name)
    return attachment(RENDERERS[extension](document), extension, name)
