"""The document as tables (summary, history, evidence, about), shared by CSV, XLSX and PDF."""

import re
from collections.abc import Callable, Iterator
from datetime import datetime

from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from ..models import Organization, Pillar, Stance, evidence_label
from ..status import Label, status_label

TARGET_DATE = _("Target date")
SUMMARY_COLUMNS = [
    _("Number"),
    _("Short title"),
    _("Pillar"),
    _("Recommendation"),
    _("Lead"),
    _("Supporting"),
    TARGET_DATE,
    _("Overdue"),
    _("Government positions"),
    _("NGO positions"),
    _("Other positions"),
    _("Divergence (steps)"),
    _("Change since the cycle began"),
    _("Evidence items"),
    _("Comments"),
]
# Then one column per organization (its status), in the document's order.
FIRST_ORGANIZATION_COLUMN = len(SUMMARY_COLUMNS)


def summary_columns(document: dict) -> list[str]:
    """The summary's headings in the active language, then the organizations' names."""
    return [str(column) for column in SUMMARY_COLUMNS] + [
        organization["name"] for organization in document["organizations"]
    ]


def history_columns() -> list[str]:
    return [str(column) for column in HISTORY_COLUMNS]


def evidence_columns() -> list[str]:
    return [str(column) for column in EVIDENCE_COLUMNS]


HISTORY_COLUMNS = [
    _("Assessment ID"),
    _("Recommendation"),
    _("Short title"),
    _("Organization"),
    _("Organization kind"),
    _("Author"),
    _("Cycle"),
    _("Status"),
    _("Assessed at"),
    _("Rationale"),
    _("Cited evidence"),
    _("Based on assessment ID"),
]

EVIDENCE_COLUMNS = [
    _("Evidence"),
    _("Section"),
    _("Quote"),
    _("Start offset"),
    _("End offset"),
    _("Note"),
    _("Recommendations (stance)"),
]


def group_text(group: dict | None) -> str:
    """A group's positions in words: "No progress – In progress (2 of 3 assessed)"."""
    if not group or not group["assessed"]:
        return status_label(None)
    statuses = status_label(group["lowest"])
    if group["highest"] != group["lowest"]:
        statuses += f" – {status_label(group['highest'])}"
    assessed = gettext("%(assessed)s of %(organizations)s assessed") % {
        "assessed": group["assessed"],
        "organizations": group["organizations"],
    }
    return f"{statuses} ({assessed})"


def change_text(change: dict | None) -> str:
    if change is None:
        return ""
    parts = [
        gettext("%(count)s up") % {"count": change["up"]} if change["up"] else "",
        gettext("%(count)s down") % {"count": change["down"]} if change["down"] else "",
    ]
    parts.append(gettext("%(count)s new") % {"count": change["new"]} if change["new"] else "")
    return ", ".join(part for part in parts if part) or gettext("no change")


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
            gettext("yes") if r["overdue"] else gettext("no"),
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
        str(Organization.Kind(record["organization_kind"]).label),
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
    return str(Stance(value).label) if value in Stance.values else value


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
        (gettext("Report"), report["title"]),
        (gettext("Country"), report["country"]),
        (gettext("Year"), str(report["year"])),
        (gettext("Tier"), report["tier_label"]),
        (gettext("Positions as of"), document["as_of"] or gettext("when generated")),
        (gettext("Review cycle"), cycle["name"] if cycle else "—"),
        (gettext("Generated at"), readable_moment(document["generated_at"])),
        (gettext("Generated by"), document["generated_by"]),
        (
            gettext("Filters"),
            describe_filters(document["filters"]) or gettext("none (all recommendations)"),
        ),
        (gettext("Source"), source_document(report)),  # in words, never a file's path
        (gettext("Source SHA-256"), report["source_sha256"]),
    ]


def yes_or_no(value: str) -> str:
    return gettext("yes") if value == "true" else gettext("no")


FILTER_LABELS: dict[str, tuple[Label, Callable[[str], str]]] = {
    "q": (_("Search"), str),
    "status": (_("Status"), status_label),
    "kind": (_("Assessed by"), lambda value: str(Organization.Kind(value).label)),
    "pillar": (_("Pillar"), lambda value: str(Pillar(value).label)),
    "divergent": (_("Divergent only"), yes_or_no),
    "overdue": (_("Overdue only"), yes_or_no),
    "mine": (_("The requester's organization's"), yes_or_no),
}


def readable_moment(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    offset = moment.strftime("%z")
    # strftime would name the month in English whatever the reader's language.
    day = date_format(moment, pgettext("long date format", "j F Y"))
    return f"{day}, {moment:%H:%M} (UTC{offset[:3]}:{offset[3:]})"


def describe_filters(filters: dict[str, str]) -> str:
    """The dashboard filters a document was made with, as a reader would say them."""
    described = []
    for key, value in filters.items():
        label, describe = FILTER_LABELS.get(key, (key, str))
        described.append(f"{label}: {describe(value)}")
    return ", ".join(described)
