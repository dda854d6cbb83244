"""The dashboard's lineage badge: NEW / REVISED / REPEATED and since when."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..lineage import Since

register = template.Library()


@register.simple_tag
def lineage_badge(since: dict[int, Since], recommendation_id: int) -> SafeString | str:
    found = since.get(recommendation_id)
    if found is None:
        return ""
    label = {"NEW": "New", "REVISED": "Revised", "REPEATED": "Repeated"}[found.change]
    if found.years == 1:
        return format_html('<span class="lineage-badge lineage-{}">{}</span>', found.change, label)
    return format_html(
        '<span class="lineage-badge lineage-{}">{}</span> <span class="since">since {}</span>',
        found.change,
        label,
        found.first_year,
    )
