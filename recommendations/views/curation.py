"""Curating a report's evidence without admin: the reader's "Quote this" panel (a new quote, or
an existing one's links and stances) and the evidence workspace (coverage, quotes carried
forward from the earlier year, ranked suggestions). Coordinators only (rules.access.may_curate);
every write goes through rules.curation."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..forms import AcceptProposalForm, CurationForm, DeclineCarryForm, PassageForm
from ..models import EvidenceItem, Recommendation, Report, Stance
from ..rules import curation
from ..rules.curation import NOT_LINKED, Passage, require_curator
from ..sentences import resize, snap
from ..workspace import workspace
from ._shared import HtmxHttpRequest, wants_partial

PANEL = "recommendations/curation/panel.html"
WORKSPACE = "recommendations/curation/workspace.html"


def _finish(request: HtmxHttpRequest, address: str) -> HttpResponse:
    """After a write: the page at `address` loaded again (HTMX follows HX-Redirect)."""
    if not request.htmx:
        return redirect(address)
    response = HttpResponse(status=204)
    response["HX-Redirect"] = address
    if urlsplit(request.htmx.current_url or "").path == urlsplit(address).path:
        # Only the anchor differs, so the browser would scroll without loading: HTMX reloads
        # the page once it is at the anchor.
        response["HX-Refresh"] = "true"
    return response


def _reader(report: Report, item: EvidenceItem | None = None) -> str:
    address = reverse("source", args=[report.slug])
    return f"{address}#evidence-{item.pk}" if item else address


def _panel(request: HtmxHttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = f"{PANEL}#panel" if wants_partial(request) else PANEL
    return render(request, template, context, status=status)


def _selected_passage(report: Report, form: PassageForm) -> Passage:
    """The passage a valid PassageForm names: a pasted quote as pasted, a selection snapped to
    whole sentences; then widened or narrowed by whole sentences."""
    data = form.cleaned_data
    text = report.source_text
    if data["quote"] and data["quote"].strip():
        found = curation.pasted_passage(report, data["quote"], data["start"])
        start, end = found.start, found.end
    else:
        start, end = data["start"], data["end"]
        if end > len(text):
            return curation.passage(report, start, end)  # names the report's length
        section = report.section_at(start, start + 1)
        if section is None:
            raise ValidationError(_("That character is not inside any section of the report."))
        start, end = snap(
            text, start, min(end, section.end_offset), section.start_offset, section.end_offset
        )
    before, after = data["before"] or 0, data["after"] or 0
    if before or after:
        section = report.section_at(start, end)
        if section is not None:
            start, end = resize(
                text,
                start,
                end,
                lo=section.start_offset,
                hi=section.end_offset,
                before=before,
                after=after,
            )
    return curation.passage(report, start, end)


@require_http_methods(["GET", "POST"])
def quote_passage(request: HtmxHttpRequest, slug: str) -> HttpResponseBase:
    """GET: the panel for a passage (selected, pasted or given by offsets). POST: save it."""
    report = get_object_or_404(Report, slug=slug)
    require_curator(request.user)
    recommendations = list(report.recommendations.order_by("number"))
    context: dict = {"report": report}
    if request.method == "POST":
        form = CurationForm(request.POST, recommendations=recommendations)
        if form.is_valid():
            try:
                posted = curation.passage(
                    report, form.cleaned_data["start"], form.cleaned_data["end"]
                )
                item = curation.quote(
                    report, posted, form.stances(), note=form.cleaned_data["note"]
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, _("Saved as %(label)s.") % {"label": item.label})
                return _finish(request, _reader(report, item))
        context |= {"form": form, "passage": _posted_passage(report, form)}
        return _panel(request, context, status=422)
    passage_form = PassageForm(request.GET)
    found: Passage | None = None
    if passage_form.is_valid():
        try:
            found = _selected_passage(report, passage_form)
        except ValidationError as error:
            passage_form.add_error(None, error.messages)
    if found is None:
        context["passage_form"] = passage_form
        return _panel(request, context, status=422)
    existing = EvidenceItem.objects.filter(
        report=report, start_offset=found.start, end_offset=found.end
    ).first()
    if existing is not None:
        return redirect(reverse("evidence_panel", args=[report.slug, existing.pk]))
    form = CurationForm(
        initial={"start": found.start, "end": found.end}, recommendations=recommendations
    )
    context |= {"form": form, "passage": found, "resize": _resize_links(report, found)}
    return _panel(request, context)


def _posted_passage(report: Report, form: CurationForm) -> Passage | None:
    try:
        return curation.passage(report, int(form.data["start"]), int(form.data["end"]))
    except (KeyError, ValueError, ValidationError):
        return None


def _resize_links(report: Report, found: Passage) -> list[tuple[str, str]]:
    """The panel's four ways to change the passage by a sentence: (label, address)."""
    base = reverse("quote_passage", args=[report.slug])
    span = f"start={found.start}&end={found.end}"
    return [
        (_("One sentence more before"), f"{base}?{span}&before=1"),
        (_("One sentence fewer at the start"), f"{base}?{span}&before=-1"),
        (_("One sentence fewer at the end"), f"{base}?{span}&after=-1"),
        (_("One sentence more after"), f"{base}?{span}&after=1"),
    ]


@require_http_methods(["GET", "POST"])
def evidence_panel(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponseBase:
    """An existing quote: change its links, stances and note, unlink it, or delete it while
    nothing cites it."""
    item = get_object_or_404(
        EvidenceItem.objects.select_related("report", "section"), pk=pk, report__slug=slug
    )
    report = item.report
    require_curator(request.user)
    recommendations = list(report.recommendations.order_by("number"))
    citations = item.citations()
    found = Passage(item.start_offset, item.end_offset, item.section, item.quote)
    context = {"report": report, "item": item, "passage": found, "citations": citations}
    if request.method == "POST":
        if "delete" in request.POST:
            try:
                curation.delete_quote(item)
            except (ValidationError, ProtectedError):  # cited, perhaps a moment ago
                messages.error(
                    request, _("%(label)s is cited, so it stays.") % {"label": item.label}
                )
                return _finish(request, _reader(report, item))
            messages.success(request, _("%(label)s deleted.") % {"label": item.label})
            return _finish(request, _reader(report))
        form = CurationForm(request.POST, recommendations=recommendations)
        if form.is_valid():
            try:
                curation.relink(
                    item,
                    form.stances(),
                    note=form.cleaned_data["note"],
                    seen=form.cleaned_data["seen"],
                )
            except ValidationError as error:
                if error.code == "stale":  # show what is there now, with why
                    form = CurationForm(
                        _as_stored(item, recommendations), recommendations=recommendations
                    )
                    form.is_valid()
                form.add_error(None, error.messages)
            else:
                messages.success(request, _("%(label)s saved.") % {"label": item.label})
                return _finish(request, _reader(report, item))
        return _panel(request, context | {"form": form}, status=422)
    form = CurationForm(initial=_as_stored(item, recommendations), recommendations=recommendations)
    return _panel(request, context | {"form": form})


def _as_stored(item: EvidenceItem, recommendations: list[Recommendation]) -> dict:
    """The panel's fields for the item as stored: its links' stances, its note."""
    stances = {link.recommendation_id: link.stance for link in item.links.all()}
    data = {
        "start": item.start_offset,
        "end": item.end_offset,
        "note": item.note,
        "seen": curation.links_seen(item),
    }
    for recommendation in recommendations:
        data[CurationForm.stance_field(recommendation)] = stances.get(recommendation.pk, NOT_LINKED)
    return data


@require_GET
def evidence_workspace(request: HtmxHttpRequest, slug: str) -> HttpResponseBase:
    """Coverage and proposals for every recommendation of the report."""
    report = get_object_or_404(Report, slug=slug)
    require_curator(request.user)
    context = {"report": report, "workspace": workspace(report), "stances": Stance.choices}
    return render(request, WORKSPACE, context)


def _workspace_address(report: Report, number: int | None = None) -> str:
    address = reverse("evidence_workspace", args=[report.slug])
    return f"{address}#recommendation-{number}" if number else address


@require_POST
def accept_proposal(request: HtmxHttpRequest, slug: str) -> HttpResponseBase:
    """Accept one proposal with a stance: the passage becomes (or already is) an evidence item
    linked to the recommendation."""
    report = get_object_or_404(Report, slug=slug)
    require_curator(request.user)
    form = AcceptProposalForm(request.POST)
    if not form.is_valid():
        return render(request, "400.html", {"problem": form.errors.as_text()}, status=400)
    data = form.cleaned_data
    recommendation = get_object_or_404(Recommendation, report=report, number=data["number"])
    earlier = None
    if data["from_evidence"] is not None:
        earlier = get_object_or_404(
            EvidenceItem,
            pk=data["from_evidence"],
            report__country=report.country,
            report__year__lt=report.year,
        )
    try:
        found = curation.passage(report, data["start"], data["end"])
        item = curation.quote(report, found, {recommendation: data["stance"]}, carried_from=earlier)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(label)s linked to recommendation %(number)s.")
            % {"label": item.label, "number": recommendation.number},
        )
    return redirect(_workspace_address(report, recommendation.number))


@require_POST
def accept_verbatim(request: HtmxHttpRequest, slug: str) -> HttpResponseBase:
    """Accept every open proposal that carries an earlier quote forward word for word."""
    report = get_object_or_404(Report, slug=slug)
    require_curator(request.user)
    try:
        accepted = curation.accept_verbatim(report, workspace(report).verbatim())
    except ValidationError as error:  # another coordinator linked one of them meanwhile
        messages.error(request, " ".join(error.messages))
        return redirect(_workspace_address(report))
    messages.success(
        request,
        ngettext(
            "%(count)s quote carried forward word for word.",
            "%(count)s quotes carried forward word for word.",
            accepted,
        )
        % {"count": accepted},
    )
    return redirect(_workspace_address(report))


@require_POST
def decline_carry(request: HtmxHttpRequest, slug: str) -> HttpResponseBase:
    report = get_object_or_404(Report, slug=slug)
    require_curator(request.user)
    form = DeclineCarryForm(request.POST)
    if not form.is_valid():
        return render(request, "400.html", {"problem": form.errors.as_text()}, status=400)
    recommendation = get_object_or_404(
        Recommendation, report=report, number=form.cleaned_data["number"]
    )
    earlier = get_object_or_404(
        EvidenceItem,
        pk=form.cleaned_data["from_evidence"],
        report__country=report.country,
        report__year__lt=report.year,
    )
    curation.decline_carry(recommendation, earlier)
    messages.success(
        request,
        _("%(label)s will not be carried to recommendation %(number)s.")
        % {"label": earlier.label, "number": recommendation.number},
    )
    return redirect(_workspace_address(report, recommendation.number))
