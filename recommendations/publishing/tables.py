"""The document as tables (summary, history, evidence, about), shared by CSV, XLSX and PDF."""

import re
from collections.abc import Callable, Iterator
from datetime import datetime

from ..models import Organization, Pillar, Stance, evidence_label
from ..status import status_label

SUMMARY_COLUMNS = [
    "Number",
    "Short title",
    "Pillar",
    "Recommendation",
    "Lead",
    "Supporting",
    "Target date",
    "Overdue",
    "Government positions",
    "NGO positions",
    "Other positions",
    "Divergence (steps)",
    "Change since the cycle began",
    "Evidence items",
    "Comments",
]
# Then one column per organization (its status), in the document's order.
FIRST_ORGANIZATION_COLUMN = len(SUMMARY_COLUMNS)


def summary_columns(document: dict) -> list[str]:
    return SUMMARY_COLUMNS + [organization["name"] for organization in document["organizations"]]


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
    "Cited evidence",
    "Based on assessment ID",
]

EVIDENCE_COLUMNS = [
    "Evidence",
    "Section",
    "Quote",
    "Start offset",
    "End offset",
    "Note",
    "Recommendations (stance)",
]


def group_text(group: dict | None) -> str:
    """A group's positions in words: "No progress – In progress (2 of 3 assessed)"."""
    if not group or not group["assessed"]:
        return status_label(None)
    statuses = status_label(group["lowest"])
    if group["highest"] != group["lowest"]:
        statuses += f" – {status_label(group['highest'])}"
    return f"{statuses} ({group['assessed']} of {group['organizations']} assessed)"


def change_text(change: dict | None) -> str:
    if change is None:
        return ""
    parts = [
        f"{change['up']} up" if change["up"] else "",
        f"{change['down']} down" if change["down"] else "",
    ]
    parts.append(f"{change['new']} new" if change["new"] else "")
    return ", ".join(part for part in parts if part) or "no change"


def summary_rows(document: dict) -> Iterator[list]:
    organizations = [organization["name"] for organization in document["organizations"]]
    for r in document["recommendations"]:
        statuses = {p["organization"]: p["status_label"] for p in r["positions"]}
        responsible = r["responsible"]
        yield [
            r["number"],
            r["short_title"],
            r["pillar_label"],
            r["text"],
            responsible["lead"] or "",
            "; ".join(responsible["supporting"]),
            r["target_date"] or "",
            "yes" if r["overdue"] else "no",
            group_text(r["groups"].get(Organization.Kind.GOVERNMENT)),
            group_text(r["groups"].get(Organization.Kind.NGO)),
            group_text(r["groups"].get(Organization.Kind.OTHER)),
            "" if r["divergence"] is None else r["divergence"],
            change_text(r["change_since_cycle_start"]),
            r["evidence_count"],
            r["comment_count"],
            *(statuses.get(name, status_label(None)) for name in organizations),
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
        " ".join(evidence_label(pk) for pk in record["cited_evidence"]),
        record["based_on"] or "",
    ]


def history_rows(document: dict) -> Iterator[list]:
    short_titles = {r["number"]: r["short_title"] for r in document["recommendations"]}
    for record in document["assessments"]:
        yield history_row(record, short_titles)


def stance_label(value: str) -> str:
    """A stance as a reader says it ("Gap"), or the stored value if it is no longer a choice."""
    return Stance(value).label if value in Stance.values else value


def evidence_rows(document: dict) -> Iterator[list]:
    for item in document["evidence"]:
        yield [
            evidence_label(item["id"]),
            item["section_label"],
            item["quote"],
            item["start_offset"],
            item["end_offset"],
            item["note"],
            "; ".join(
                f"{link['recommendation']} ({stance_label(link['stance'])})"
                for link in item["links"]
            ),
        ]


# A stored source name that names a file rather than a document: a slash or backslash, or a
# file name with a document's extension ("tip-2024-norway.txt"). The cover never prints one.
PATH_LIKE = re.compile(
    r"[/\\]|[\w-]\.(?:txt|text|pdf|html?|xml|json|docx?|odt|rtf|md|csv)\b", re.IGNORECASE
)


def source_document(report: dict) -> str:
    """The report's source named in words, for a reader: the State Department's report of that
    year for that country, and the stored source name only when it is not a file path."""
    name = f"U.S. Department of State, {report['year']} Trafficking in Persons Report: "
    name += report["country"]
    recorded = report["source_name"].strip()
    if recorded and recorded != name and not PATH_LIKE.search(recorded):
        name += f" ({recorded})"
    return name


def about_lines(document: dict) -> list[tuple[str, str]]:
    report, cycle = document["report"], document["cycle"]
    return [
        ("Report", report["title"]),
        ("Country", report["country"]),
        ("Year", str(report["year"])),
        ("Tier", report["tier_label"]),
        ("Positions as of", document["as_of"] or "when generated"),
        ("Review cycle", cycle["name"] if cycle else "—"),
        ("Generated at", readable_moment(document["generated_at"])),
        ("Generated by", document["generated_by"]),
        ("Filters", describe_filters(document["filters"]) or "none (all recommendations)"),
        ("Source", report["source_name"]),
        ("Source SHA-256", report["source_sha256"]),
    ]


FILTER_LABELS: dict[str, tuple[str, Callable[[str], str]]] = {
    "q": ("Search", str),
    "status": ("Status", status_label),
    "kind": ("Assessed by", lambda value: Organization.Kind(value).label),
    "pillar": ("Pillar", lambda value: Pillar(value).label),
    "divergent": ("Divergent only", lambda value: "yes" if value == "true" else "no"),
    "overdue": ("Overdue only", lambda value: "yes" if value == "true" else "no"),
    "mine": ("The requester's organization's", lambda value: "yes" if value == "true" else "no"),
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
