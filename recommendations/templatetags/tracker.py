"""Small tags for markup that repeats many times per page; written as Python (format_html)
rather than included templates, which cost a template render each time."""

import hashlib
from datetime import datetime

from django import template
from django.forms import BoundField
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from recommendations.models import Assessment, Stance
from recommendations.status import NOT_ASSESSED, NOT_ASSESSED_LABEL, STATUS_LABELS, stylesheet
from recommendations.status import status_label as label_of_status

register = template.Library()


@register.filter
def status_label(value: str | None) -> str:
    return label_of_status(value)


@register.filter
def stance_label(value: str) -> str:
    return Stance(value).label


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
    RecommendationQuerySet.with_positions); the dashboard and the snapshot page share it."""
    if divergence:
        plural = "" if divergence == 1 else "s"
        return format_html('<span class="divergence">⚠ {} step{} apart</span>', divergence, plural)
    if divergence == 0:
        return mark_safe('<span class="agree">Agree</span>')  # a constant
    if government_assessed:
        text = "Only government has assessed"
    elif ngo_assessed:
        text = "Only NGOs have assessed"
    else:
        text = "Neither has assessed"
    return format_html('<span class="muted">{}</span>', text)


@register.simple_tag
def position_cell(position: Assessment | None) -> SafeString:
    """A dashboard cell: the position's status, organization, author and date."""
    if position is None:
        return status_badge(None)
    author = position.author.get_full_name() or position.author.get_username()
    local = timezone.localtime(position.created_at)  # the date filter is slow for a table cell
    return format_html(
        '{}<span class="by">{} · {} · <time datetime="{}">{} {}</time></span>',
        status_badge(position.status),
        position.organization.display_name,
        author,
        local.isoformat(),
        local.day,
        local.strftime("%b %Y"),
    )


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
