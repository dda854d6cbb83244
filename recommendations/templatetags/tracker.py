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
