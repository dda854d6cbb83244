"""The dashboard's lineage badge: NEW / REVISED / REPEATED, since when, and the years it was
revised in between."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import get_text_list
from django.utils.translation import gettext, pgettext

from ..lineage import Since

register = template.Library()


def change_label(change: str) -> str:
    return {
        "NEW": pgettext("lineage", "New"),
        "REVISED": pgettext("lineage", "Revised"),
        "REPEATED": pgettext("lineage", "Repeated"),
    }[change]


def since_text(found: Since) -> str:
    """ "since 2023" when every year repeated it; else the years that revised it too."""
    if not found.revised_in:
        return gettext("since %(year)s") % {"year": found.first_year}
    return gettext("since %(year)s, revised %(years)s") % {
        "year": found.first_year,
        "years": get_text_list([str(year) for year in found.revised_in], gettext("and")),
    }


@register.simple_tag
def lineage_badge(since: dict[int, Since], recommendation_id: int) -> SafeString | str:
    found = since.get(recommendation_id)
    if found is None:
        return ""
    badge = format_html(
        '<span class="lineage-badge lineage-{}">{}</span>', found.change, change_label(found.change)
    )
    if found.years == 1:
        return badge
    return format_html('{} <span class="since">{}</span>', badge, since_text(found))
