import threading
from typing import Any

from django.template.loader import render_to_string

from ..models import OrganizationKind, evidence_label
from ..presentation import SIDE_LABELS, status_summary
from ..status import stylesheet
from .tables import about_lines, group_text

PDF_HISTORY_LENGTH = 5

# A tagged PDF (structure tree, MarkInfo, DisplayDocTitle, XMP metadata) in WeasyPrint's PDF/UA-1
# variant; the title, author and language come from the HTML's <title>, <meta> and lang.
PDF_VARIANT = "pdf/ua-1"


def refuse_url(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"The status report fetches nothing from outside ({url}).")


_fonts = threading.local()


def font_configuration() -> Any:
    """Fonts found once per thread, not once per PDF (each PDF would spend ~0.3 s on it)."""
    from weasyprint.text.fonts import FontConfiguration

    if not hasattr(_fonts, "configuration"):
        _fonts.configuration = FontConfiguration()
    return _fonts.configuration


def render_pdf(document: dict) -> bytes:
    """A cover with the report and how the document was made, an overview table, then each
    recommendation with its positions, cited evidence and recent history."""
    from weasyprint import HTML

    html = status_report_html(document)
    return HTML(string=html, url_fetcher=refuse_url).write_pdf(
        font_config=font_configuration(), pdf_variant=PDF_VARIANT
    )


def status_report_html(document: dict) -> str:
    """The HTML that render_pdf() lays out."""
    context = {
        "document": document,
        "report": document["report"],
        "about": about_lines(document),
        "sections": recommendation_sections(document),
        "summary": status_summaries(document),
        "status_css": stylesheet(svg_fills=False),
    }
    return render_to_string("exports/status_report.html", context)


def recommendation_sections(document: dict) -> list[dict]:
    """Each recommendation with its positions by side, the evidence they cite and its recent
    history: the PDF's pages and the public snapshot page's sections."""
    evidence = {item["id"]: item for item in document["evidence"]}
    sections = []
    for r in document["recommendations"]:
        cited_ids = sorted({pk for p in r["positions"] for pk in p["cited_evidence"]})
        history = [a for a in document["assessments"] if a["recommendation"] == r["number"]]
        sections.append(
            {
                **r,
                "sides": [
                    (
                        str(SIDE_LABELS[kind]),
                        group_text(r["groups"].get(kind)),
                        [p for p in r["positions"] if p["organization_kind"] == kind],
                    )
                    for kind in SIDE_LABELS
                    if kind in r["groups"]
                ],
                "cited": [
                    {**evidence[pk], "label": evidence_label(pk)}  # snapshots before labels too
                    for pk in cited_ids
                    if pk in evidence
                ],
                "recent_history": list(reversed(history))[:PDF_HISTORY_LENGTH],
                "history_total": len(history),
            }
        )
    return sections


def status_summaries(document: dict) -> list[tuple[str, list]]:
    """Where the government's and the NGOs' positions stand across all recommendations."""
    kinds = {o["name"]: o["kind"] for o in document["organizations"]}
    summary = []
    for kind in (OrganizationKind.GOVERNMENT, OrganizationKind.NGO):
        names = [name for name, of_kind in kinds.items() if of_kind == kind]
        if not names:
            continue
        statuses = []
        for r in document["recommendations"]:
            held = {p["organization"]: p["status"] for p in r["positions"]}
            statuses += [held.get(name) for name in names]
        summary.append((str(SIDE_LABELS[kind]), status_summary(statuses)))
    return summary
