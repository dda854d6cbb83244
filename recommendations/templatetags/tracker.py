"""Small tags for markup that repeats many times per page; written as Python (format_html)
rather than included templates, which cost a template render each time."""

import hashlib
from datetime import date, datetime
from functools import lru_cache

from django import template
from django.forms import BoundField
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _

from recommendations.models import Stance
from recommendations.presentation import MatrixCell, MatrixRow, SideSummary
from recommendations.publishing.tables import group_text as describe_group
from recommendations.status import NOT_ASSESSED, NOT_ASSESSED_LABEL, STATUS_LABELS, stylesheet
from recommendations.status import status_label as label_of_status
from recommendations.timeline import TimelineSeries

register = template.Library()


@register.filter
def status_label(value: str | None) -> str:
    return label_of_status(value)


@register.filter
def stance_label(value: str) -> str:
    return str(Stance(value).label)


@register.simple_tag
def status_badge(value: str | None) -> SafeString:
    if value in STATUS_LABELS:
        css, label = value, STATUS_LABELS[value]
    else:
        css, label = NOT_ASSESSED, NOT_ASSESSED_LABEL
    return format_html('<span class="status status-{}">{}</span>', css, label)


@register.simple_tag
def divergence_cell(
    divergence: int | None, government_assessed: object, ngo_assessed: object
) -> SafeString:
    """How far apart the government and NGO positions are, in words (the divergence rule is
    models.attach_positions): the one wording of it, which the dashboard, the snapshot page
    and the PDF share."""
    if divergence:
        apart = ngettext("%(count)d step apart", "%(count)d steps apart", divergence) % {
            "count": divergence
        }
        return format_html('<span class="divergence">⚠ {}</span>', apart)
    if divergence == 0:
        return format_html('<span class="agree">{}</span>', _("Agree"))
    if government_assessed:
        text = _("Only government has assessed")
    elif ngo_assessed:
        text = _("Only NGOs have assessed")
    else:
        text = _("Neither has assessed")
    return format_html('<span class="muted">{}</span>', text)


@register.filter
def group_text(group: dict | None) -> str:
    """A document's group of positions in words (see publishing.tables.group_text)."""
    return describe_group(group)


@register.simple_tag
def side_cell(side: SideSummary, counts: bool = True) -> SafeString:
    """A group's summary on one recommendation: its range of statuses, how many have assessed
    it and (`counts`) how many hold each status."""
    if not side.assessed:
        return format_html('<span class="muted">{}</span>', NOT_ASSESSED_LABEL)
    assessed = _("%(assessed)s of %(organizations)s assessed") % {
        "assessed": side.assessed,
        "organizations": side.organizations,
    }
    if side.agreed:
        statuses = status_badge(side.lowest)
    else:
        statuses = format_html(
            '{}<span class="range-dash"> – </span>{}',
            status_badge(side.lowest),
            status_badge(side.highest),
        )
    if not counts:
        return format_html(
            '<span class="side-range">{}</span><span class="by">{}</span>', statuses, assessed
        )
    held = format_html_join(" · ", "{} {}", ((c.count, c.label) for c in side.counts))
    return format_html(
        '<span class="side-range">{}</span><span class="by">{}: {}</span>', statuses, assessed, held
    )


@register.simple_tag
def matrix_cell(cell: MatrixCell) -> SafeString:
    """One organization's position in the matrix, with its move since the cycle began."""
    if cell.position is None:
        return _matrix_cell(get_language(), None, 0, False, None)
    day = timezone.localdate(cell.position.created_at)
    return _matrix_cell(get_language(), cell.position.status, cell.change, cell.is_new, day)


# A dashboard draws hundreds of cells, most of them alike: each distinct one is put together
# once (per worker), not once per cell and per render (issue 24).
@lru_cache(maxsize=4096)
def _matrix_cell(
    language: str | None, status: str | None, change: int, is_new: bool, day: date | None
) -> SafeString:
    if status is None or day is None:
        return format_html(
            '<span class="muted" aria-hidden="true">—</span>'
            '<span class="visually-hidden">{}</span>',
            NOT_ASSESSED_LABEL,
        )
    return format_html(
        '{}{}<span class="by"><time datetime="{}">{}</time></span>',
        status_badge(status),
        change_mark(change, is_new),
        day.isoformat(),
        short_day(day),
    )


@register.simple_tag
def org_chip(cell: MatrixCell) -> SafeString:
    """One organization's position inside its side's column: its initials on its status's
    colour, its name, status and day in words for screen readers and on hover."""
    organization, position = cell.organization, cell.position
    if position is None:
        return _org_chip(
            get_language(), organization.initials, organization.name, None, 0, False, None
        )
    day = timezone.localdate(position.created_at)
    return _org_chip(
        get_language(),
        organization.initials,
        organization.name,
        position.status,
        cell.change,
        cell.is_new,
        day,
    )


@lru_cache(maxsize=4096)
def _org_chip(
    language: str | None,
    initials: str,
    name: str,
    status: str | None,
    change: int,
    is_new: bool,
    day: date | None,
) -> SafeString:
    if status is None or day is None:
        said = f"{name}: {NOT_ASSESSED_LABEL}"
        return format_html(
            '<li class="chip status-{}" title="{}"><span aria-hidden="true">{}</span>'
            '<span class="visually-hidden">{}</span></li>',
            NOT_ASSESSED,
            said,
            initials,
            said,
        )
    said = f"{name}: {label_of_status(status)}, {short_day(day)}"
    return format_html(
        '<li class="chip status-{}" title="{}"><span aria-hidden="true">{}</span>'
        '<span class="visually-hidden">{}</span>{}</li>',
        status,
        said,
        initials,
        said,
        change_mark(change, is_new, compact=True),
    )


def change_mark(change: int, is_new: bool, compact: bool = False) -> SafeString:
    """▲ / ▼ for a move since the cycle began; "new" (compact: "+") for a first position."""
    if change > 0:
        return format_html(
            ' <span class="moved up" title="{}">▲<span class="visually-hidden"> {}</span></span>',
            _("Up %(count)s since the cycle began") % {"count": change},
            _("up %(count)s since the cycle began") % {"count": change},
        )
    if change < 0:
        return format_html(
            ' <span class="moved down" title="{}">▼<span class="visually-hidden"> {}</span></span>',
            _("Down %(count)s since the cycle began") % {"count": -change},
            _("down %(count)s since the cycle began") % {"count": -change},
        )
    if is_new:
        return format_html(
            ' <span class="moved new" title="{}">{}'
            '<span class="visually-hidden">: {}</span></span>',
            _("First assessed this cycle"),
            "+" if compact else _("new"),
            _("first assessed this cycle"),
        )
    return mark_safe("")


@register.simple_tag
def timeline_points(line: TimelineSeries) -> SafeString:
    """A timeline series' points: one SVG path each, filled in its status's colour."""
    return format_html_join(
        "",
        '<path class="timeline-point fill-{}" d="{}" stroke="{}"><title>{}</title></path>',
        ((point.status, point.marker, line.colour, point.title) for point in line.points),
    )


@register.simple_tag
def timeline_rows(line: TimelineSeries, start: datetime) -> SafeString:
    """A timeline series' rows in the chart's table: the status it entered with (when the
    chart begins after it), then each point."""
    rows = []
    heading = format_html('<th scope="rowgroup" rowspan="{}">{}</th>', line.rows, line.name)
    if line.entry is not None:
        before = _("before %(start)s") % {"start": day_time(timezone.localtime(start))}
        rows.append(
            format_html(
                '<tr>{}<td class="timeline-date">{}</td><td>{}</td></tr>',
                heading,
                before,
                status_badge(line.entry.status),
            )
        )
    for point in line.points:
        local = timezone.localtime(point.at)
        rows.append(
            format_html(
                '<tr>{}<td class="timeline-date"><time datetime="{}"><span>{}</span> {}</time>'
                "</td><td>{}</td></tr>",
                heading if not rows else "",
                machine_time(local),
                formats.date_format(local, pgettext("day and month format", "j M")),
                local.year,
                status_badge(point.status),
            )
        )
    return mark_safe("\n".join(rows))


@register.simple_tag
def change_cell(matrix: MatrixRow) -> SafeString:
    """How many organizations moved up or down the scale since the cycle began."""
    parts = []
    if matrix.moved_up:
        up = _("%(count)s up") % {"count": matrix.moved_up}
        parts.append(format_html('<span class="moved up">▲ {}</span>', up))
    if matrix.moved_down:
        down = _("%(count)s down") % {"count": matrix.moved_down}
        parts.append(format_html('<span class="moved down">▼ {}</span>', down))
    if matrix.newly_assessed:
        new = _("%(count)s new") % {"count": matrix.newly_assessed}
        parts.append(format_html('<span class="moved new">{}</span>', new))
    if not parts:
        return format_html('<span class="muted">{}</span>', _("No change"))
    return format_html_join(" ", "{}", ((part,) for part in parts))


@register.filter
def chosen(field: BoundField) -> set[str]:
    """The field's current value(s) as strings, to mark options selected or checked."""
    value = field.value()
    values = value if isinstance(value, list | tuple) else [value]
    return {str(v) for v in values if v not in (None, "")}


@register.simple_tag
def options(field: BoundField) -> SafeString:
    """The <option>s of a choice field, with the current value selected."""
    selected = chosen(field)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, " selected" if str(value) in selected else "", label)
            for value, label in getattr(field.field, "choices", ())
        ),
    )


@register.filter(expects_localtime=True)
def long_day(value: date | datetime | None) -> str:
    """ "25 October 2026" / "25. oktober 2026": the day in the language's own order."""
    return formats.date_format(value, pgettext("long date format", "j F Y")) if value else ""


@register.filter(expects_localtime=True)
def short_day(value: date | datetime | None) -> str:
    """ "25 Oct 2026" / "25. okt. 2026"."""
    return formats.date_format(value, pgettext("short date format", "j M Y")) if value else ""


@register.filter(expects_localtime=True)
def machine_time(value: datetime | None) -> str:
    """A moment for a <time datetime="…"> attribute: ISO 8601 to the second (HTML allows at
    most three digits of a fraction of a second, and the page shows none)."""
    return value.isoformat(timespec="seconds") if value else ""


@register.filter(expects_localtime=True)
def day_time(value: datetime | None) -> str:
    """ "25 Oct 2026, 14:30" / "25. okt. 2026 kl. 14.30"."""
    if not value:
        return ""
    return formats.date_format(value, pgettext("date and time format", "j M Y, H:i"))


@register.filter
def iso_datetime(value: str | None) -> datetime | str:
    """A document's ISO 8601 timestamp as a datetime, for the `date` filter."""
    if not value:
        return ""
    return datetime.fromisoformat(value)


@register.simple_tag
def status_stylesheet_version() -> str:
    """Changes whenever the status colours change, so browsers fetch the new stylesheet."""
    return _stylesheet_version


_stylesheet_version = hashlib.sha256(stylesheet().encode()).hexdigest()[:12]
