from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..forms import CompareSnapshotsForm, MakePublicForm, PublishSnapshotForm
from ..models import Report, Snapshot
from ..publishing.document import upgraded
from ..publishing.public import current_copy, make_public, withdraw
from ..publishing.snapshots import (
    SnapshotProblems,
    compare_documents,
    publish_snapshot,
    verified_document,
)
from ..publishing.tables import describe_filters
from ..rules.access import PUBLISHING_PUBLICLY_ONLY, may_publish, may_publish_publicly
from ._shared import HtmxHttpRequest, bad_request


def refused(request: HtmxHttpRequest, tampered: SnapshotProblems, refused: str) -> HttpResponse:
    """409: the snapshot's stored content is not what was published; never served as if it
    were."""
    snapshot = tampered.snapshot
    return render(
        request,
        "recommendations/snapshot_refused.html",
        {
            "report": snapshot.report,
            "snapshot": snapshot,
            "problems": tampered.problems,
            "refused": refused,
        },
        status=409,
    )


def snapshot_or_404(slug: str, pk: int) -> Snapshot:
    return get_object_or_404(
        Snapshot.objects.select_related("report", "published_by"), report__slug=slug, pk=pk
    )


@require_http_methods(["GET", "POST"])
def snapshots(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The report's published snapshots; coordinators with the publish permission publish a
    new one here (POST)."""
    report = get_object_or_404(Report, slug=slug)
    form = PublishSnapshotForm(request.POST or None)
    if request.method == "POST":
        if not may_publish(request.user):
            raise PermissionDenied(_("Publishing a status report needs the publish permission."))
        if form.is_valid():
            snapshot = publish_snapshot(
                report, published_by=request.user, title=form.cleaned_data["title"]
            )
            messages.success(request, _("Published “%(title)s”.") % {"title": snapshot.title})
            return redirect(snapshot)
    published = list(report.snapshots.listing())
    return render(
        request,
        "recommendations/snapshots.html",
        {
            "report": report,
            "snapshots": published,
            "form": form,
            "may_publish": may_publish(request.user),
        },
        status=422 if form.errors else 200,
    )


@require_GET
def snapshot_detail(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """The snapshot as published; if it was changed since, the problems instead of its
    content."""
    snapshot = snapshot_or_404(slug, pk)
    problems = snapshot.problems()
    document = None if problems else upgraded(snapshot.document)
    choices = list(snapshot.report.snapshots.choices())
    # The compare form goes forward in time: from the snapshot just before this one to this
    # one; the first snapshot compares itself with the one just after it.
    earlier = [s for s in choices if (s.published_at, s.pk) < (snapshot.published_at, snapshot.pk)]
    later = [s for s in choices if (s.published_at, s.pk) > (snapshot.published_at, snapshot.pk)]
    older, newer = (earlier[0], snapshot) if earlier else (snapshot, later[-1] if later else None)
    return render(
        request,
        "recommendations/snapshot.html",
        {
            "report": snapshot.report,
            "snapshot": snapshot,
            "problems": problems,
            "metadata_caveat": snapshot.metadata_caveat(),
            "document": document,
            "filters": describe_filters(document["filters"]) if document else "",
            "choices": choices,
            "compare_older": older,
            "compare_newer": newer,
            "public_copy": current_copy(snapshot),
            "may_publish_publicly": may_publish_publicly(request.user),
        },
    )


@require_POST
def snapshot_public(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Make the snapshot readable by anyone at its public address (public=1, with or without
    the reviewers' names), or withdraw it (public=0): its public pages then answer 410."""
    snapshot = snapshot_or_404(slug, pk)
    if not may_publish_publicly(request.user):
        raise PermissionDenied(PUBLISHING_PUBLICLY_ONLY)
    form = MakePublicForm(request.POST)
    if not form.is_valid():
        return bad_request(
            request, _("Send public=1 to make the snapshot public, public=0 to withdraw it.")
        )
    if form.cleaned_data["public"]:
        try:
            copy = make_public(
                snapshot, by=request.user, show_names=form.cleaned_data["show_names"]
            )
        except SnapshotProblems as tampered:
            return refused(request, tampered, "serve")
        messages.success(
            request,
            _("Snapshot %(number)s is public at %(address)s.")
            % {
                "number": snapshot.number_label,
                "address": copy.public_url,
            },
        )
    elif withdraw(snapshot, by=request.user):
        messages.success(
            request,
            _("Snapshot %(number)s is withdrawn: its public pages now answer “gone”.")
            % {"number": snapshot.number_label},
        )
    else:
        messages.info(
            request, _("Snapshot %(number)s was not public.") % {"number": snapshot.number_label}
        )
    return redirect(snapshot)


@require_GET
def snapshot_compare(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    form = CompareSnapshotsForm(request.GET, report=report)
    context = {"report": report, "form": form, "choices": form.published}
    if not form.is_valid():
        return render(request, "recommendations/snapshot_compare.html", context, status=400)
    older, newer = form.cleaned_data["older"], form.cleaned_data["newer"]
    try:
        changes = compare_documents(verified_document(older), verified_document(newer))
    except SnapshotProblems as tampered:
        return refused(request, tampered, "compare")
    context |= {"older": older, "newer": newer, "changes": changes}
    return render(request, "recommendations/snapshot_compare.html", context)
