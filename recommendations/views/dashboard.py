from dataclasses import dataclass

from django.db import transaction
from django.forms import Form
from django.http import QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from .. import caching
from ..caching import CachedPage, CachedPartial
from ..filters import DEFAULT_SORT, NOT_FILTERS, SIDES, SORT_COLUMNS, RecommendationFilter
from ..lineage import recommended_since
from ..models import Organization, Report, attach_positions
from ..periods import ReportingPeriod
from ..presentation import matrix_groups, matrix_row, status_summary
from ..rules.access import drafts_for_any_organization, may_curate, may_write
from ._shared import HtmxHttpRequest, wants_partial

TEMPLATE = "recommendations/dashboard.html"

# The columns whose first click sorts the largest first.
DESCENDING_FIRST = {"divergence", "evidence", "comments"}


@dataclass(frozen=True)
class SortHeader:
    """A sortable column's header: a link to the table sorted by it (the other filters kept)."""

    column: str
    label: str  # the column's name (the number column's heading shows "#")
    query: str  # the query string of the link
    aria_sort: str  # "ascending", "descending" or "" (not sorted by this column)
    message: str  # what the live region says once the link's order is shown


def without_empty(params: QueryDict) -> QueryDict:
    """The parameters that have a value: an empty form field adds nothing to the address."""
    clean = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [value for value in values if value != ""]
        if kept:
            clean.setlist(key, kept)
    return clean


def filters_to_keep(params: QueryDict, form: Form) -> QueryDict:
    """The parameters that are the form's fields (the order among them) and have no error;
    none of the filters when they are refused together (e.g. an as-of day and a cycle)."""
    errors = form.errors
    kept = QueryDict(mutable=True)
    for key, values in params.lists():
        if key in form.fields and key not in errors and ("__all__" not in errors or key == "sort"):
            kept.setlist(key, values)
    return kept


def sort_headers(params: QueryDict, sort: str) -> list[SortHeader]:
    headers = []
    current = sort.removeprefix("-")
    for column, lazy_name in SORT_COLUMNS.items():
        name = str(lazy_name)
        if column == current:
            aria_sort = "descending" if sort.startswith("-") else "ascending"
            descending = aria_sort == "ascending"
        else:
            aria_sort = ""
            descending = column in DESCENDING_FIRST
        query = params.copy()
        query.pop("sort", None)
        wanted = f"-{column}" if descending else column
        if wanted != DEFAULT_SORT:
            query["sort"] = wanted
        if descending:
            message = _("Sorted by %(name)s, descending.") % {"name": name}
        else:
            message = _("Sorted by %(name)s, ascending.") % {"name": name}
        headers.append(SortHeader(column, name, query.urlencode(), aria_sort, message))
    return headers


# Reads only: no transaction of its own (two round trips fewer; on PostgreSQL each statement
# sees what was committed before it either way). See recommendations/caching.py.
@transaction.non_atomic_requests
@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HtmxHttpRequest, slug: str) -> HttpResponseBase:
    params = without_empty(request.GET)
    partial = wants_partial(request)
    address = f"{request.path}?{params.urlencode()}" if params else request.path
    if not partial and params.urlencode() != request.GET.urlencode():
        return redirect(address)  # a plain GET form submits its empty fields too
    return caching.serve(
        request,
        page="dashboard",
        report_slug=slug,
        parts=("results" if partial else "page", params.urlencode()),
        build=lambda: _render(request, slug, params, partial, address),
    )


def _render(
    request: HtmxHttpRequest, slug: str, params: QueryDict, partial: bool, address: str
) -> CachedPage | CachedPartial:
    report = get_object_or_404(Report, slug=slug)
    curating = may_curate(request.user)
    recommendations = report.recommendations.with_counts()
    if curating:
        recommendations = recommendations.with_coverage()
    filterset = RecommendationFilter(params or None, queryset=recommendations, request=request)
    other_years = list(
        Report.objects.filter(country=report.country).exclude(pk=report.pk).order_by("-year")
    )
    valid = filterset.is_valid() if filterset.is_bound else True
    cycle = filterset.current_cycle()
    rows = filterset.rows() if valid else []
    groups = matrix_groups(report, rows)
    for row in rows:
        row.matrix = matrix_row(row, groups)
    # The page's links (sorting, downloads) carry the filters, and only those that are valid:
    # a refused value is shown once, in its field, not copied into a dozen links.
    links = filters_to_keep(params, filterset.form)
    filters = links.copy()
    for how in NOT_FILTERS:
        filters.pop(how, None)
    sort = filterset.sorting()
    context = {
        "report": report,
        "curating": curating,
        "other_years": other_years,
        "previous_year": next((o.year for o in other_years if o.year < report.year), None),
        "filterset": filterset,
        "since": recommended_since(report),
        "rows": rows,
        "groups": groups,
        "by_organization": filterset.by_organization(),
        "organization_count": sum(len(group.organizations) for group in groups),
        # Number, title and pillar; each group (its summary, and with a column per organization
        # theirs); divergence, change, evidence and comments: what "nothing matches" spans.
        "columns": 3
        + sum(1 + filterset.by_organization() * len(group.organizations) for group in groups)
        + 4,
        "day": filterset.day(),
        "cycle": cycle,
        "filtered": bool(filterset.applied_filters()),
        "query": filters.urlencode(),  # the exports take the filters, not the order
        "sort": sort if sort != DEFAULT_SORT else "",
        "sort_headers": {header.column: header for header in sort_headers(links, sort)},
        "valid": valid,
        "period": ReportingPeriod.current(),
        **submission_offer(request, report),
    }
    status = 200 if valid else 400
    if partial:
        return CachedPartial(
            content=caching.render_piece(request, f"{TEMPLATE}#results", context),
            status=status,
            # hx-push-url would push the request's address, empty fields included.
            headers={"HX-Push-Url": address},
        )
    # The chart counts the whole report unless the filters (valid ones) already select it all.
    if valid and not context["filtered"]:
        everything = rows
    else:
        everything = attach_positions(
            list(report.recommendations.select_related("responsibility")), filterset.moment()
        )
        groups = matrix_groups(report, everything)
    context["summary"] = [
        (
            group.label,
            status_summary(
                [
                    getattr(r.standing.get(organization.pk), "status", None)
                    for r in everything
                    for organization in group.organizations
                ]
            ),
        )
        for group in groups
        if group.kind in SIDES
    ]
    return CachedPage(
        title=caching.render_piece(request, f"{TEMPLATE}#title", context),
        content=caching.render_piece(request, f"{TEMPLATE}#content", context),
        status=status,
    )


def submission_offer(request: HtmxHttpRequest, report: Report) -> dict[str, object]:
    """The submission draft the viewer may download beside the other downloads: their own
    organization's (a reviewer of the report's country), or any organization's of the country
    (a coordinator, who chooses it), for the current reporting period or one of two before."""
    current = ReportingPeriod.current()
    periods = [ReportingPeriod(current.report_year - back) for back in range(3)]
    if drafts_for_any_organization(request.user):
        organizations = Organization.objects.filter(country=report.country).order_by("name")
        return {"drafts": "any", "draft_organizations": organizations, "draft_periods": periods}
    if may_write(request.user, report):
        return {"drafts": "own", "draft_periods": periods}
    return {"drafts": None}
