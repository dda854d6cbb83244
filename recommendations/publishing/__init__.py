"""Status reports: one *document* (plain JSON data) built from the database or read back from a
published snapshot, and one module per file format that renders a document to bytes.

`document` builds the document; `snapshots` publishes and compares snapshots; `csv`, `xlsx`,
`pdf` and `json` render. Nothing here knows about HTTP: the download responses are in
`recommendations.downloads`. The document format is described in docs/design.md.
"""

from collections.abc import Callable
from datetime import date

from . import csv, json, pdf, xlsx

RENDERERS: dict[str, Callable[[dict], bytes]] = {
    "csv": csv.render_csv,
    "xlsx": xlsx.render_xlsx,
    "pdf": pdf.render_pdf,
    "json": json.render_json,
}
EXTENSIONS = list(RENDERERS)

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "json": "application/json",
}


def render(document: dict, extension: str) -> bytes:
    return RENDERERS[extension](document)


def file_name(report_slug: str, kind: str, day: date, extension: str, suffix: str = "") -> str:
    """e.g. tip-norway-2024-status-2026-11-28.xlsx"""
    return f"tip-{report_slug}-{kind}-{day.isoformat()}{suffix}.{extension}"
