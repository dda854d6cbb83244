from itertools import groupby

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from . import exports
from .filters import RecommendationFilter
from .forms import AssessmentForm, CommentForm, CompareSnapshotsForm, PublishSnapshotForm
from .models import (
    Assessment,
    EvidenceLink,
    Membership,
    Recommendation,
    Report,
    Snapshot,
    StaleAssessment,
    attach_positions,
)
from .presentation import (
    paragraph_containing,
    quote_in_context,
    segments,
    status_summary,
)


def wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def current_membership(request: HttpRequest) -> Membership | None:
    """The user's membership, fetched once per request with its organization."""
    if not hasattr(request, "_membership"):
        membership = (
            Membership.objects.select_related("organization").filter(user=request.user).first()
        )
        if membership is not None:
            request.user.membership = membership  # later user.membership reads hit no query
        request._membership = membership
    return request._membership


def require_writer(request: HttpRequest) -> Membership:
    membership = current_membership(request)
    if membership is None or not membership.can_write:
        raise PermissionDenied("Only reviewers write, and only for their own organization.")
    return membership


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    report = Report.objects.order_by("-year", "country").first()
    if report is None:
        return render(request, "recommendations/no_reports.html", status=404)
    return redirect(report)


@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    recommendations = report.recommendations.with_positions().with_counts().order_by("number")
    filterset = RecommendationFilter(request.GET or None, queryset=recommendations)
    valid = filterset.is_valid() if filterset.is_bound else True
    rows = attach_positions(list(filterset.qs if valid else recommendations.none()))
    context = {
        "report": report,
        "filterset": filterset,
        "rows": rows,
        "filtered": filterset.is_bound and any(filterset.form.cleaned_data.values()),
        "query": request.GET.urlencode(),
    }
    status = 200 if valid else 400
    if wants_partial(request):
        return render(request, "recommendations/dashboard.html#results", context, status=status)
    everything = rows if not context["filtered"] else list(recommendations)
    context["summary"] = [
        ("Government", status_summary([r.government_status for r in everything])),
        ("NGO", status_summary([r.ngo_status for r in everything])),
    ]
    return render(request, "recommendations/dashboard.html", context, status=status)


def evidence_groups(recommendation: Recommendation) -> list[dict]:
    """The recommendation's evidence by section (report order), then stance."""
    report = recommendation.report
    paragraphs = list(report.paragraphs.all())
    links = (
        EvidenceLink.objects.filter(recommendation=recommendation)
        .select_related("evidence__section")
        .order_by("evidence__section__position", "stance", "evidence__start_offset")
    )
    groups = []
    for section, section_links in groupby(links, key=lambda link: link.evidence.section):
        stances = []
        for stance, stance_links in groupby(section_links, key=lambda link: link.stance):
            items = []
            for link in stance_links:
                paragraph = paragraph_containing(paragraphs, link.evidence)
                items.append(
                    {
                        "item": link.evidence,
                        "context": quote_in_context(report.source_text, link.evidence, paragraph),
                    }
                )
            stances.append({"stance": stance, "label": link.get_stance_display(), "items": items})
        groups.append({"section": section, "stances": stances})
    return groups


HISTORY_PAGE_SIZE = 20


def history_page(recommendation: Recommendation, page: int) -> list[Assessment]:
    """One page of the history, newest first, each with `previous_status` of its organization."""
    start = (page - 1) * HISTORY_PAGE_SIZE
    return list(
        recommendation.assessments.with_previous_status()
        .select_related("author", "organization", "cycle")
        .prefetch_related("cited_evidence")
        .order_by("-created_at", "-pk")[start : start + HISTORY_PAGE_SIZE]
    )


def current_positions(recommendation: Recommendation) -> list[Assessment]:
    positions = Assessment.objects.current_positions(recommendation).select_related(
        "author", "organization"
    )
    return sorted(positions, key=lambda a: (a.organization.kind, a.organization.name))


def own_position(positions: list[Assessment], membership: Membership | None) -> Assessment | None:
    if membership is None:
        return None
    return next((a for a in positions if a.organization_id == membership.organization_id), None)


def recommendation_context(
    request: HttpRequest,
    recommendation: Recommendation,
    assess_form: AssessmentForm | None = None,
    comment_form: CommentForm | None = None,
) -> dict:
    membership = current_membership(request)
    can_write = membership is not None and membership.can_write
    page = history_page_number(request) or 1
    history_total = recommendation.assessments.count()
    positions = current_positions(recommendation)
    mine = own_position(positions, membership)
    if assess_form is None and can_write:
        assess_form = AssessmentForm(
            recommendation=recommendation,
            initial={"based_on": mine.pk if mine else None, "status": mine and mine.status},
        )
    if comment_form is None and can_write:
        comment_form = CommentForm(recommendation=recommendation)
    return {
        "report": recommendation.report,
        "recommendation": recommendation,
        "membership": membership,
        "can_write": can_write,
        "history": history_page(recommendation, page),
        "history_total": history_total,
        "history_page": page,
        "history_next": page + 1 if page * HISTORY_PAGE_SIZE < history_total else None,
        "history_previous": page - 1 if page > 1 else None,
        "positions": positions,
        "own_position": mine,
        "assess_form": assess_form,
        "comment_form": comment_form,
        "comments": recommendation.comments.select_related(
            "author", "organization", "evidence"
        ).order_by("created_at", "pk"),
    }


def history_page_number(request: HttpRequest) -> int | None:
    """`?history_page=N`, 1 when absent; None when it is not a page number."""
    value = request.GET.get("history_page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else None


def get_recommendation(slug: str, number: int) -> Recommendation:
    return get_object_or_404(
        Recommendation.objects.select_related("report"), report__slug=slug, number=number
    )


def full_page(
    request: HttpRequest, recommendation: Recommendation, status: int = 200, **forms
) -> HttpResponse:
    context = recommendation_context(request, recommendation, **forms)
    context["evidence_groups"] = evidence_groups(recommendation)
    return render(request, "recommendations/recommendation.html", context, status=status)


@require_GET
def recommendation_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    recommendation = get_recommendation(slug, number)
    if history_page_number(request) is None:
        return bad_request(request, "history_page must be a page number (1, 2, …).")
    return full_page(request, recommendation)


@require_POST
@vary_on_headers("HX-Request")
def assess(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    recommendation = get_recommendation(slug, number)
    require_writer(request)
    form = AssessmentForm(request.POST, recommendation=recommendation)
    if form.is_valid():
        based_on = None
        if form.cleaned_data["based_on"]:
            based_on = Assessment.objects.filter(
                pk=form.cleaned_data["based_on"], recommendation=recommendation
            ).first()
        try:
            recommendation.assess(
                author=request.user,
                status=form.cleaned_data["status"],
                rationale=form.cleaned_data["rationale"],
                evidence=form.cleaned_data["evidence"],
                based_on=based_on,
            )
        except StaleAssessment as stale:
            form = stale_form(request, recommendation, stale)
        except ValidationError as error:
            form.add_error(None, error)
    if form.is_valid() and not form.errors:
        if wants_partial(request):
            context = recommendation_context(request, recommendation)
            return render(request, "recommendations/recommendation.html#activity", context)
        messages.success(request, "Assessment recorded.")
        return redirect(recommendation)
    if wants_partial(request):
        context = recommendation_context(request, recommendation, assess_form=form)
        response = render(
            request, "recommendations/recommendation.html#assess-form", context, status=422
        )
        return reswap(retarget(response, "#assess-form"), "outerHTML")
    return full_page(request, recommendation, status=422, assess_form=form)


def stale_form(
    request: HttpRequest, recommendation: Recommendation, stale: StaleAssessment
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
def add_comment(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    recommendation = get_recommendation(slug, number)
    require_writer(request)
    form = CommentForm(request.POST, recommendation=recommendation)
    if form.is_valid():
        try:
            recommendation.add_comment(
                author=request.user,
                body=form.cleaned_data["body"],
                evidence=form.cleaned_data["evidence"],
            )
        except ValidationError as error:
            form.add_error(None, error)
    if form.is_valid() and not form.errors:
        if wants_partial(request):
            context = recommendation_context(request, recommendation)
            return render(request, "recommendations/recommendation.html#comments", context)
        messages.success(request, "Comment added.")
        return redirect(recommendation.get_absolute_url() + "#comments")
    if wants_partial(request):
        context = recommendation_context(request, recommendation, comment_form=form)
        return render(request, "recommendations/recommendation.html#comments", context, status=422)
    return full_page(request, recommendation, status=422, comment_form=form)


@require_GET
def source(request: HttpRequest, slug: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    items = list(
        report.evidence_items.prefetch_related("links__recommendation").order_by("start_offset")
    )
    paragraphs = list(report.paragraphs.all())
    sections = []
    for section in report.sections.all():
        sections.append(
            {
                "section": section,
                "paragraphs": [
                    {
                        "paragraph": paragraph,
                        "segments": segments(
                            report.source_text, paragraph.start_offset, paragraph.end_offset, items
                        ),
                    }
                    for paragraph in paragraphs
                    if paragraph.section_id == section.pk
                ],
            }
        )
    return render(
        request,
        "recommendations/source.html",
        {"report": report, "sections": sections, "evidence_count": len(items)},
    )


# --- exports and published snapshots ---------------------------------------------------------


def bad_request(request: HttpRequest, problem: str) -> HttpResponse:
    return render(request, "400.html", {"problem": problem}, status=400)


def export_table(request: HttpRequest, extension: str) -> str | None:
    """Which table a CSV export holds: `summary` (default) or `history`; None if not valid."""
    table = request.GET.get("table", "summary")
    if table == "summary" or (table == "history" and extension == "csv"):
        return table
    return None


@require_GET
def export(request: HttpRequest, slug: str, extension: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    table = export_table(request, extension)
    if table is None:
        return bad_request(request, "Only the CSV export has a history table (?table=history).")
    recommendations = report.recommendations.with_positions()
    filterset = RecommendationFilter(request.GET or None, queryset=recommendations)
    if filterset.is_bound and not filterset.is_valid():
        problems = "; ".join(f"{field}: {' '.join(e)}" for field, e in filterset.errors.items())
        return bad_request(request, f"Some filters could not be used: {problems}")
    return exports.report_download(
        report,
        filterset.qs,
        extension,
        user=request.user,
        filters=filterset.applied(),
        table=table,
    )


def get_snapshot(slug: str, pk: int) -> Snapshot:
    return get_object_or_404(
        Snapshot.objects.select_related("report", "published_by"), report__slug=slug, pk=pk
    )


@require_GET
def snapshot_export(request: HttpRequest, slug: str, pk: int, extension: str) -> HttpResponse:
    snapshot = get_snapshot(slug, pk)
    table = export_table(request, extension)
    if table is None:
        return bad_request(request, "Only the CSV export has a history table (?table=history).")
    return exports.snapshot_download(snapshot, extension, table)


@require_http_methods(["GET", "POST"])
def snapshots(request: HttpRequest, slug: str) -> HttpResponse:
    """The report's published snapshots; coordinators publish a new one here (POST)."""
    report = get_object_or_404(Report, slug=slug)
    form = PublishSnapshotForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_staff:
            raise PermissionDenied("Only coordinators publish status reports.")
        if form.is_valid():
            snapshot = exports.publish_snapshot(
                report, published_by=request.user, title=form.cleaned_data["title"]
            )
            messages.success(request, f"Published “{snapshot.title}”.")
            return redirect(snapshot)
    published = list(report.snapshots.listing())
    return render(
        request,
        "recommendations/snapshots.html",
        {"report": report, "snapshots": published, "form": form},
        status=422 if form.errors else 200,
    )


@require_GET
def snapshot_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    snapshot = get_snapshot(slug, pk)
    document = snapshot.document
    choices = list(snapshot.report.snapshots.listing())
    earlier = [s for s in choices if (s.published_at, s.pk) < (snapshot.published_at, snapshot.pk)]
    return render(
        request,
        "recommendations/snapshot.html",
        {
            "report": snapshot.report,
            "snapshot": snapshot,
            "document": document,
            "filters": exports.describe_filters(document["filters"]),
            "choices": choices,
            "compare_with": earlier[0]
            if earlier
            else next((s for s in choices if s != snapshot), None),
        },
    )


@require_GET
def snapshot_compare(request: HttpRequest, slug: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    form = CompareSnapshotsForm(request.GET, report=report)
    if not form.is_valid():
        return render(
            request,
            "recommendations/snapshot_compare.html",
            {"report": report, "form": form, "choices": form.fields["older"].queryset},
            status=400,
        )
    older, newer = form.cleaned_data["older"], form.cleaned_data["newer"]
    return render(
        request,
        "recommendations/snapshot_compare.html",
        {
            "report": report,
            "form": form,
            "choices": form.fields["older"].queryset,
            "older": older,
            "newer": newer,
            "changes": exports.compare_documents(older.document, newer.document),
        },
    )


@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """The cheapest logged-in page: the benchmark's floor (same middleware, same session
    check), and a probe that a session is alive."""
    return HttpResponse("ok", content_type="text/plain")
