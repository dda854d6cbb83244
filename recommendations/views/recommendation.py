"""A recommendation's page, and the two things reviewers write on it: assessments and comments.
The POSTs answer HTMX requests with partials and plain form posts with a redirect."""

from collections.abc import Sequence
from functools import cache

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from .. import caching
from ..caching import CachedPage, CachedPartial
from ..forms import AssessmentForm, CommentForm, ascii_integer
from ..lineage import lineage_panel
from ..models import EvidenceItem, Recommendation, attach_positions
from ..presentation import evidence_groups
from ..rules import writing
from ..rules.access import may_write, membership_of, writer_membership
from ..rules.following import automatic_reason
from ..rules.writing import StaleAssessment
from ..timeline import status_timeline
from ._shared import HtmxHttpRequest, bad_request, wants_partial
from .following import described_follow_state, follow_button, follow_state, own_choice

TEMPLATE = "recommendations/recommendation.html"
TIMELINE_TEMPLATE = "recommendations/_timeline.html"


def _recommendation(slug: str, number: int, *, positions: bool = True) -> Recommendation:
    """The recommendation; with every organization's position (attach_positions(): the same
    set-based query as the dashboard's) and what follows from them (overdue) that the whole
    page shows, unless `positions` is False (a POST reads them after its write)."""
    recommendations = Recommendation.objects.select_related("report", "responsibility__lead")
    recommendation = get_object_or_404(recommendations, report__slug=slug, number=number)
    return attach_positions([recommendation], authors=True)[0] if positions else recommendation


def _history_page_number(request: HtmxHttpRequest) -> int | None:
    """`?history_page=N` in ASCII digits, 1 when absent; None when it is not a page number."""
    number = ascii_integer(request.GET.get("history_page", "1"), maximum=99_999)
    return number or None


def _history_context(
    request: HtmxHttpRequest, recommendation: Recommendation, citable: Sequence[EvidenceItem] = ()
) -> dict:
    """The page of the history the request asks for (`?history_page=N`), newest first."""
    page = _history_page_number(request) or 1
    history, history_total = recommendation.history_entries(page, citable)
    page_size = recommendation.HISTORY_PAGE_SIZE
    return {
        "history": history,
        "history_total": history_total,
        "history_page": page,
        "history_next": page + 1 if page * page_size < history_total else None,
        "history_previous": page - 1 if page > 1 else None,
    }


def _context(
    request: HtmxHttpRequest,
    recommendation: Recommendation,
    assess_form: AssessmentForm | None = None,
    comment_form: CommentForm | None = None,
) -> dict:
    membership = membership_of(request.user)
    can_write = may_write(request.user, recommendation.report)
    positions = recommendation.positions()
    own_position = None
    if membership is not None:
        own_position = next(
            (a for a in positions if a.organization_id == membership.organization_id), None
        )
    if assess_form is None and can_write:
        assess_form = AssessmentForm(
            recommendation=recommendation,
            initial={
                "based_on": own_position.pk if own_position else None,
                "status": own_position and own_position.status,
            },
        )
    if comment_form is None and can_write:
        comment_form = CommentForm(recommendation=recommendation)
    # Read once: the assessment form's choices, and what the history's entries cite.
    citable = list(recommendation.citable_evidence())
    return _history_context(request, recommendation, citable) | {
        "citable": citable,
        "report": recommendation.report,
        "recommendation": recommendation,
        "membership": membership,
        "can_write": can_write,
        "positions": positions,
        "own_position": own_position,
        "assess_form": assess_form,
        "comment_form": comment_form,
        "comments": recommendation.comments.select_related(
            "author", "organization", "evidence"
        ).order_by("created_at", "pk"),
    }


def _page_context(
    request: HtmxHttpRequest,
    recommendation: Recommendation,
    assess_form: AssessmentForm | None = None,
    comment_form: CommentForm | None = None,
) -> dict:
    context = _context(request, recommendation, assess_form, comment_form)
    context["evidence_groups"] = evidence_groups(recommendation)
    context["timeline"] = status_timeline(recommendation, positions=context["positions"])
    writer = context["membership"] if context["can_write"] else None
    context["lineage"] = lineage_panel(recommendation, context["positions"], writer)
    return context


def _full_page(
    request: HtmxHttpRequest,
    recommendation: Recommendation,
    status: int = 200,
    assess_form: AssessmentForm | None = None,
    comment_form: CommentForm | None = None,
) -> HttpResponse:
    """The page with a form's errors (not cached: what the user typed is theirs)."""
    context = _page_context(request, recommendation, assess_form, comment_form)
    follow = follow_state(request.user, recommendation)
    context["follow_button"] = follow_button(
        request, recommendation.report.slug, recommendation.number, follow
    )
    return render(request, TEMPLATE, context, status=status)


def _positions_changed(response: HttpResponse) -> HttpResponse:
    """The timeline changes with the positions: an HTMX answer that re-renders them tells the
    page, and the timeline asks for itself again (`?part=timeline`, cached like the page)."""
    trigger_client_event(response, "positions-changed")
    return response


# Reads only: no transaction of its own (two round trips fewer; on PostgreSQL each statement
# sees what was committed before it either way). See recommendations/caching.py.
@transaction.non_atomic_requests
@require_GET
@vary_on_headers("HX-Request")
def recommendation_detail(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponseBase:
    history_page = _history_page_number(request)
    if history_page is None:
        return bad_request(request, "history_page must be a page number (1, 2, …).")
    part = request.GET.get("part", "history")
    if part not in PARTS:
        return bad_request(request, "part must be history or timeline.")
    if wants_partial(request):
        # Another page of the history, asked for by its pager's links; or the timeline, which
        # asks for itself when an assessment has changed the positions (HTMX).
        return caching.serve(
            request,
            page="recommendation",
            report_slug=slug,
            parts=(str(number), str(history_page), part),
            build=lambda: PARTS[part](request, slug, number),
        )

    @cache
    def chosen() -> bool | None:
        # Whether this user follows it is theirs, outside the key: in the ETag, so that a page
        # revalidated after following shows the new button. Read after the key, which reads
        # the membership.
        return own_choice(request.user, slug, number)

    def with_follow_button(page: CachedPage) -> dict[str, str]:
        membership = membership_of(request.user)
        follow = None
        if membership is not None:
            follow = described_follow_state(membership, page.values["automatic"], chosen())
        return {"follow": follow_button(request, slug, number, follow)}

    return caching.serve(
        request,
        page="recommendation",
        report_slug=slug,
        parts=(str(number), str(history_page)),
        build=lambda: _render(request, slug, number),
        viewers_own=lambda: (f"following={chosen()}",),
        personalise=with_follow_button,
    )


def _render(request: HtmxHttpRequest, slug: str, number: int) -> CachedPage:
    recommendation = _recommendation(slug, number)
    # The follow button is the viewer's: filled in for each request (with_follow_button).
    context = _page_context(request, recommendation) | {"follow_button": caching.slot("follow")}
    membership = context["membership"]
    return CachedPage(
        title=caching.render_piece(request, f"{TEMPLATE}#title", context),
        content=caching.render_piece(request, f"{TEMPLATE}#content", context),
        values={
            # Why the viewer's organization follows it, if it does: the same for all of it.
            "automatic": automatic_reason(membership.organization_id, recommendation)
            if membership
            else "",
        },
    )


def _render_history(request: HtmxHttpRequest, slug: str, number: int) -> CachedPartial:
    recommendation = _recommendation(slug, number, positions=False)
    context = {"report": recommendation.report, "recommendation": recommendation}
    context |= _history_context(request, recommendation)
    return CachedPartial(content=caching.render_piece(request, f"{TEMPLATE}#history", context))


def _render_timeline(request: HtmxHttpRequest, slug: str, number: int) -> CachedPartial:
    # The chart reads the positions itself, and only when it leaves older changes off.
    recommendation = _recommendation(slug, number, positions=False)
    context = {
        "report": recommendation.report,
        "recommendation": recommendation,
        "timeline": status_timeline(recommendation),
    }
    return CachedPartial(content=caching.render_piece(request, TIMELINE_TEMPLATE, context))


# The pieces of the page an HTMX request can ask for alone (`?part=`).
PARTS = {"history": _render_history, "timeline": _render_timeline}


def _stale_form(
    request: HtmxHttpRequest, recommendation: Recommendation, stale: StaleAssessment
) -> AssessmentForm:
    """Keep what the user typed, now based on the newer assessment, with the conflict shown."""
    data = request.POST.copy()
    data["based_on"] = str(stale.newer.pk)
    form = AssessmentForm(data, recommendation=recommendation)
    form.is_valid()
    form.add_error(None, stale.messages[0])
    form.newer_assessment = stale.newer
    return form


@require_POST
@vary_on_headers("HX-Request")
def assess(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponse:
    recommendation = _recommendation(slug, number, positions=False)
    writer_membership(request.user, recommendation.report)
    form = AssessmentForm(request.POST, recommendation=recommendation)
    if form.is_valid():
        try:
            # Filed under ReviewCycle.current(): the cycle ReviewCycle.containing() today.
            writing.assess(
                recommendation,
                author=request.user,
                status=form.cleaned_data["status"],
                rationale=form.cleaned_data["rationale"],
                evidence=form.cleaned_data["evidence"],
                based_on_id=form.cleaned_data["based_on"],
            )
        except StaleAssessment as stale:
            form = _stale_form(request, recommendation, stale)
            if wants_partial(request):
                # The page is out of date: positions and history change with the form.
                context = _context(request, recommendation, assess_form=form)
                response = render(request, f"{TEMPLATE}#activity", context, status=422)
                return _positions_changed(response)
        except ValidationError as error:
            form.add_error(None, error)
    if form.is_valid() and not form.errors:
        done = _("Assessment recorded.")
        if wants_partial(request):
            context = _context(request, recommendation) | {"done": done}
            return _positions_changed(render(request, f"{TEMPLATE}#activity", context))
        messages.success(request, done)
        return redirect(recommendation)
    if wants_partial(request):
        context = _context(request, recommendation, assess_form=form)
        response = render(request, f"{TEMPLATE}#assess-form", context, status=422)
        return reswap(retarget(response, "#assess-form"), "outerHTML")
    return _full_page(request, _recommendation(slug, number), status=422, assess_form=form)


@require_POST
@vary_on_headers("HX-Request")
def add_comment(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponse:
    recommendation = _recommendation(slug, number, positions=False)
    writer_membership(request.user, recommendation.report)
    form = CommentForm(request.POST, recommendation=recommendation)
    if form.is_valid():
        try:
            writing.add_comment(
                recommendation,
                author=request.user,
                body=form.cleaned_data["body"],
                evidence=form.cleaned_data["evidence"],
            )
        except ValidationError as error:
            form.add_error(None, error)
    if form.is_valid() and not form.errors:
        done = _("Comment added.")
        if wants_partial(request):
            context = _context(request, recommendation) | {"done": done}
            return render(request, f"{TEMPLATE}#comments", context)
        messages.success(request, done)
        return redirect(recommendation.get_absolute_url() + "#comments")
    if wants_partial(request):
        context = _context(request, recommendation, comment_form=form)
        return render(request, f"{TEMPLATE}#comments", context, status=422)
    return _full_page(request, _recommendation(slug, number), status=422, comment_form=form)
