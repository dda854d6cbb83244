from datetime import datetime

from django import template

from recommendations.models import Status

register = template.Library()


@register.filter
def status_label(value: str | None) -> str:
    return Status(value).label if value in Status.values else "Not assessed"


@register.inclusion_tag("recommendations/_status.html")
def status_badge(value: str | None) -> dict:
    return {
        "value": value if value in Status.values else "NOT_ASSESSED",
        "label": status_label(value),
    }


@register.filter
def iso_datetime(value: str | None) -> datetime | str:
    """A document's ISO 8601 timestamp as a datetime, for the `date` filter."""
    if not value:
        return ""
    return datetime.fromisoformat(value)
