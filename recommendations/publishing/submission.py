"""The yearly submission draft: what one organization tells the TIP Office about a reporting
period, from its own assessments (docs/design.md, "The submission draft").

`submission_content` builds it once, as the JSON document (`tip-tracker/submission`);
`submission_docx` writes the same content as a Word document with the built-in styles (Title,
Heading 1 per pillar, Heading 2 per recommendation, Quote, List Bullet, a table style with a
repeated header row), so that Word's navigation pane, table of contents and accessibility
checker work on it. Only the organization's own assessments are ever in it. The interface's
words are in the active language; the report's text and its quotes stay in English, marked as
quotes and as English.
"""

import io
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext, pgettext

from ..models import Assessment, EvidenceItem, Organization, Pillar, Recommendation, Report
from ..periods import ReportingPeriod
from ..status import status_label
from .document import local_iso, person_name

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SUBMISSION_FORMAT = "tip-tracker/submission"
SUBMISSION_VERSION = 1
# TIP order: the TVPA minimum standards, then what spans them.
PILLAR_ORDER = [Pillar.PROSECUTION, Pillar.PROTECTION, Pillar.PREVENTION, Pillar.CROSS_CUTTING]
# Characters an XML document (a .docx) cannot hold: C0 controls but tab and line breaks.
PROPERTY_LIMIT = 255
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def submission_content(
    report: Report,
    organization: Organization,
    period: ReportingPeriod,
    generated_by: "User",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The draft's content: the organization's assessments made within `period`, oldest first,
    under each recommendation of `report` by pillar, and its position on each at the end of the
    period (or now, for the current period)."""
    now = now or timezone.now()
    cited = Prefetch(
        "cited_evidence",
        queryset=EvidenceItem.objects.select_related("section").order_by("pk"),
    )
    # The position at the period's end: the newest assessment before it, one index lookup per
    # recommendation however long the history behind it.
    held = Assessment.objects.filter(
        recommendation=OuterRef("pk"),
        organization=organization,
        created_at__lt=period.until(now),
    ).order_by("-created_at", "-pk")
    recommendations = list(
        report.recommendations.order_by("number")
        .annotate(
            held_status=Subquery(held.values("status")[:1]),
            held_since=Subquery(held.values("created_at")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "assessments",
                queryset=Assessment.objects.filter(organization=organization)
                .made_during(period, now)
                .select_related("author")
                .prefetch_related(cited)
                .order_by("created_at", "pk"),
                to_attr="in_period",
            )
        )
    )
    pillars = []
    for pillar in PILLAR_ORDER:
        members = [r for r in recommendations if r.pillar == pillar]
        if members:
            pillars.append(
                {
                    "pillar": pillar.value,
                    "name": str(pillar.label),
                    "recommendations": [recommendation_entry(r) for r in members],
                }
            )
    return {
        "format": SUBMISSION_FORMAT,
        "version": SUBMISSION_VERSION,
        "language": get_language(),
        "generated_at": local_iso(now),
        "generated_by": person_name(generated_by),
        "organization": {
            "id": organization.pk,
            "name": organization.name,
            "kind": organization.kind,
            "country": organization.country,
        },
        "period": {
            "report_year": period.report_year,
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
            "current": period.is_current,
        },
        "report": {
            "slug": report.slug,
            "title": report.title,
            "country": report.country,
            "year": report.year,
            "tier": report.tier,
            "source": report.source_name,
        },
        "pillars": pillars,
        "positions": [
            {
                "number": r.number,
                "short_title": r.short_title,
                "status": r.held_status,
                "status_label": str(status_label(r.held_status)) if r.held_status else None,
                "assessed_at": local_iso(r.held_since) if r.held_since else None,
            }
            for r in recommendations
        ],
    }


def recommendation_entry(recommendation: Recommendation) -> dict[str, Any]:
    return {
        "number": recommendation.number,
        "short_title": recommendation.short_title,
        "text": recommendation.text,
        "assessments": [
            {
                "id": assessment.pk,
                "created_at": local_iso(assessment.created_at),
                "author": person_name(assessment.author),
                "status": assessment.status,
                "status_label": str(status_label(assessment.status)),
                "rationale": assessment.rationale,
                "evidence": [
                    {
                        "label": item.label,
                        "section": str(item.section.get_kind_display()),
                        "quote": item.quote,
                    }
                    for item in assessment.cited_evidence.all()
                ],
            }
            for assessment in recommendation.in_period  # type: ignore[attr-defined]
        ],
    }


# --- the Word document -----------------------------------------------------------------------


def xml_text(text: str) -> str:
    """Text a .docx can hold: characters XML forbids are left out."""
    return NOT_XML.sub("", text)


def long_date(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), pgettext("long date format", "j F Y"))


def submission_docx(content: dict[str, Any]) -> bytes:
    """The content as an editable Word document."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = Document()
    language = "nb-NO" if content["language"].startswith("nb") else "en-GB"
    set_language(document.styles["Normal"].element, language)
    organization, period, report = content["organization"], content["period"], content["report"]
    generated = datetime.fromisoformat(content["generated_at"])
    title = xml_text(
        gettext("Submission draft: %(organization)s") % {"organization": organization["name"]}
    )
    properties = document.core_properties
    properties.title = title[:PROPERTY_LIMIT]  # Word's limit for a document property
    properties.author = xml_text(content["generated_by"])[:PROPERTY_LIMIT]
    properties.language = language

    # Cover
    document.add_paragraph(title, style="Title")
    reporting_period = ReportingPeriod(period["report_year"])
    cover = [
        (gettext("Organization"), organization["name"]),
        (gettext("Country"), report["country"]),
        (gettext("Reporting period"), reporting_period.label()),
        (gettext("Generated"), long_date(generated)),
    ]
    for label, value in cover:
        paragraph = document.add_paragraph()
        paragraph.add_run(xml_text(f"{label}: "), style="Strong")
        paragraph.add_run(xml_text(value))
    source = document.add_paragraph()
    source.add_run(xml_text(gettext("Source") + ": "), style="Strong")
    before, after = (
        gettext(
            "The U.S. Department of State's %(title)s (the %(country)s chapter), rated %(tier)s"
        )
        % {
            "title": "\x00",
            "country": report["country"],
            "tier": dict(Report.Tier.choices)[report["tier"]],
        }
    ).split("\x00")
    source.add_run(xml_text(before))
    set_language(source.add_run(xml_text(report["title"]))._r, "en-US")  # the report's title
    source.add_run(xml_text(after))
    document.add_paragraph(
        gettext(
            "A draft for the Request for Information for the %(year)s Trafficking in Persons "
            "Report, made from %(organization)s's assessments in the tracker. The report's "
            "text and its quotes are in English, as the report has them."
        )
        % {"year": period["report_year"], "organization": xml_text(organization["name"])}
    )

    for pillar in content["pillars"]:
        document.add_heading(xml_text(pillar["name"]), level=1)
        for entry in pillar["recommendations"]:
            heading = document.add_heading(
                xml_text(gettext("Recommendation %(number)s:") % {"number": entry["number"]}) + " ",
                level=2,
            )
            set_language(heading.add_run(xml_text(entry["short_title"]))._r, "en-US")
            english_quote(document, entry["text"], gettext("The report's recommendation"))
            if not entry["assessments"]:
                document.add_paragraph(
                    gettext("No assessment by %(organization)s in this period.")
                    % {"organization": xml_text(organization["name"])}
                )
            for assessment in entry["assessments"]:
                item = document.add_paragraph(style="List Bullet")
                item.add_run(
                    xml_text(
                        f"{assessment['status_label']} · "
                        f"{long_date(datetime.fromisoformat(assessment['created_at']))} · "
                        f"{assessment['author']}"
                    ),
                    style="Strong",
                )
                for line in xml_text(assessment["rationale"]).splitlines() or [""]:
                    document.add_paragraph(line, style="List Continue")
                for evidence in assessment["evidence"]:
                    english_quote(
                        document,
                        evidence["quote"],
                        f"{evidence['label']} ({evidence['section']})",
                    )

    document.add_heading(gettext("Position on every recommendation"), level=1)
    headers = [gettext("Recommendation"), gettext("Position"), gettext("Since")]
    table = document.add_table(rows=1, cols=len(headers))
    table.style = document.styles["Light List Accent 1"]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    header_row = table.rows[0]
    for cell, header in zip(header_row.cells, headers, strict=True):
        cell.text = header
    # The first row is the header row, repeated on every page (and read as one).
    row_properties = header_row._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    row_properties.append(repeat)
    for position in content["positions"]:
        cells = table.add_row().cells
        cells[0].text = f"{position['number']}. "
        set_language(cells[0].paragraphs[0].add_run(xml_text(position["short_title"]))._r, "en-US")
        cells[1].text = position["status_label"] or gettext("Not assessed")
        cells[2].text = (
            long_date(datetime.fromisoformat(position["assessed_at"]))
            if position["assessed_at"]
            else "–"
        )
    caption = document.add_paragraph(
        gettext("Positions of %(organization)s at the end of the period.")
        % {"organization": xml_text(organization["name"])}
        if not period["current"]
        else gettext("Positions of %(organization)s today.")
        % {"organization": xml_text(organization["name"])},
        style="Caption",
    )
    caption.paragraph_format.keep_with_next = False

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def english_quote(document: Any, text: str, label: str) -> None:
    """A quote from the report: its label in the reader's language, then the text in the
    Quote style, marked as English."""
    document.add_paragraph(xml_text(label) + ":").paragraph_format.keep_with_next = True
    quote = document.add_paragraph(style="Quote")
    run = quote.add_run(xml_text(f"“{' '.join(text.split())}”"))
    set_language(run._r, "en-US")


def set_language(element: Any, language: str) -> None:
    """Mark a run (or a style) as written in `language`, for spelling and screen readers."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = element.get_or_add_rPr()
    existing = properties.find(qn("w:lang"))
    if existing is None:
        existing = OxmlElement("w:lang")
        properties.append(existing)
    existing.set(qn("w:val"), language)
