"""The public pages: published snapshots a coordinator made public, readable without a log-in
(docs/design.md, "Public pages").

Everything here is served the same to everyone, so shared caches may keep it: no cookie is
read or set (tracker.middleware.PublicPagesMiddleware), the language comes from `?lang=`, not
from a cookie or Accept-Language, and absolute addresses from TRACKER_BASE_URL, not from the
request's Host. A hash-addressed page or download never changes and is cached for a year; the
index and a report's latest page for a few minutes, revalidated by an ETag of their content.
"""

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from hashlib import sha256

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import content_disposition_header, quote_etag
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from .. import publishing
from ..caching import build_once, fetch
from ..models import PublicCopy, Report, sha256_hex
from ..presentation import norwegian_sort_key
from ..publishing.document import upgraded
from ..publishing.pdf import recommendation_sections, status_summaries
from ..publishing.public import in_current_language

logger = logging.getLogger(__name__)

# What `?lang=` may ask for, and the language each means; none: English.
LANGUAGES = {"en": "en-gb", "nb": "nb"}
IMMUTABLE = {"public": True, "max_age": 31536000, "immutable": True}
SHORT = {"public": True, "max_age": 300}
REFUSAL = {"public": True, "max_age": 60}


def language_code(request: HttpRequest) -> str | None:
    """The `?lang=` code (en or nb; English without one), None for any other value."""
    return LANGUAGES.get(request.GET.get("lang", "en"))


def public_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """No log-in, GET and HEAD only, in the language `?lang=` names (400 for another)."""

    @login_not_required
    @require_safe
    @transaction.non_atomic_requests  # reading only: no transaction round trips
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        code = language_code(request)
        if code is None:
            with translation.override("en-gb"):
                return refusal(
                    request,
                    400,
                    _("Unknown language"),
                    _("These pages are in English (lang=en) and Norwegian (lang=nb)."),
                )
        with translation.override(code):
            try:
                response = view(request, *args, **kwargs)
            except ChangedCopy:
                return not_served(request)
            response["Content-Language"] = "nb" if code == "nb" else "en"
            return response

    return wrapped


def page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """A public page, rendered without the request: nothing of the visitor can reach it."""
    code = translation.get_language()
    path = request.path
    context = {
        **context,
        "lang": "nb" if code == "nb" else "en",
        "canonical": absolute(path + ("?lang=nb" if code == "nb" else "")),
        "english_url": path,
        "norwegian_url": path + "?lang=nb",
        "english_absolute": absolute(path),
        "norwegian_absolute": absolute(path + "?lang=nb"),
        "query": "?lang=nb" if code == "nb" else "",
    }
    return HttpResponse(render_to_string(template, context), status=status)


def absolute(path: str) -> str:
    return settings.TRACKER_BASE_URL + path


def refusal(request: HttpRequest, status: int, heading: str, message: str) -> HttpResponse:
    response = page(
        request, "public/refusal.html", {"heading": heading, "message": message}, status
    )
    patch_cache_control(response, **REFUSAL)
    return response


def conditional(request: HttpRequest, response: HttpResponse, etag: str) -> HttpResponseBase:
    """`response` with its ETag, or 304 Not Modified when the client holds it already."""
    response["ETag"] = quote_etag(etag)
    return get_conditional_response(request, etag=response["ETag"], response=response) or response


def by_content(request: HttpRequest, response: HttpResponse) -> HttpResponseBase:
    """A short-lived page, revalidated by an ETag of what it says."""
    patch_cache_control(response, **SHORT)
    return conditional(request, response, sha256(response.content).hexdigest()[:32])


def copy_or_refusal(request: HttpRequest, sha: str) -> PublicCopy | HttpResponse:
    """The public copy at this address, or why there is none: 404 (never public), 410
    (withdrawn), 409 (no longer what was made public, which is never served)."""
    copies = list(
        PublicCopy.objects.filter(sha256=sha)
        .select_related("snapshot__report")
        .defer("content", "snapshot__content", "snapshot__report__source_text")
        # A current copy first; of two snapshots whose public copies are the same bytes, the
        # one made public first, so that what the address shows does not change.
        .order_by(F("withdrawn_at").asc(nulls_first=True), "pk")
    )
    if not copies:
        return refusal(
            request,
            404,
            _("No public snapshot here"),
            _("No snapshot with this SHA-256 was ever made public."),
        )
    copy = copies[0]
    if copy.withdrawn_at is not None:
        return refusal(
            request,
            410,
            _("Withdrawn"),
            _("This snapshot was made public and later withdrawn by the tracker's coordinators."),
        )
    if not copy.is_signed():
        return not_served(request)
    return copy


class ChangedCopy(Exception):
    """A public copy's content no longer has the SHA-256 it was made public with."""


def verified_content(copy: PublicCopy) -> str:
    """The copy's JSON, read now (ChangedCopy if it is not what was made public)."""
    if sha256_hex(copy.content) != copy.sha256:
        raise ChangedCopy
    return copy.content


def full_document(copy: PublicCopy) -> dict:
    """The copy's document, checked, with its labels in the current language."""
    return in_current_language(upgraded(json.loads(verified_content(copy))))


# Each process keeps the last few documents it read for the pages, by SHA-256 and language: a
# copy never changes, so one read and checked once is good for as long as the process lives.
# Kept without the assessment history (the pages show the positions, not the history), so each
# holds little, and a page of a snapshot with a long history reads neither the history nor its
# JSON again.
PAGE_DOCUMENTS: OrderedDict[tuple[str, str], dict] = OrderedDict()
PAGE_DOCUMENTS_KEPT = 16


def page_document(copy: PublicCopy) -> dict:
    key = (copy.sha256, translation.get_language())
    try:
        PAGE_DOCUMENTS.move_to_end(key)
        return PAGE_DOCUMENTS[key]
    except KeyError:  # not kept, or dropped by another thread just now
        pass
    document = {**full_document(copy), "assessments": []}
    PAGE_DOCUMENTS[key] = document
    while len(PAGE_DOCUMENTS) > PAGE_DOCUMENTS_KEPT:
        try:
            PAGE_DOCUMENTS.popitem(last=False)
        except KeyError:
            break
    return document


def not_served(request: HttpRequest) -> HttpResponse:
    """409: a public copy that is no longer what was made public is never served."""
    logger.error("Public copy not served: changed after it was made public (%s)", request.path)
    response = refusal(
        request,
        409,
        _("Not served"),
        _(
            "This public snapshot was changed after it was made public, so it is not served. "
            "The tracker's operators find the error in its log."
        ),
    )
    response["Cache-Control"] = "no-store"
    return response


def snapshot_context(copy: PublicCopy) -> dict:
    """What a snapshot's public page shows: all from the copy (the report as it was published
    too), so that what a hash address shows never changes."""
    document = page_document(copy)
    report = document["report"]
    return {
        "copy": copy,
        "snapshot": copy.snapshot,
        "report": report,
        "report_path": report_path(report["country"], report["year"]),
        "document": document,
        "sections": recommendation_sections(document),
        "summary": status_summaries(document),
        "download_base": absolute(reverse("public_snapshot", args=[copy.sha256])),
    }


@public_view
def index(request: HttpRequest) -> HttpResponseBase:
    """Every report with a public snapshot: country, year, the latest and how many."""
    reports: dict[int, dict] = {}
    for copy in PublicCopy.objects.current().listing():
        report = copy.snapshot.report
        entry = reports.setdefault(
            report.pk,
            {
                "report": report,
                "path": report_path(report.country, report.year),
                "latest": copy,
                "count": 0,
            },
        )
        entry["count"] += 1
    listed = sorted(
        reports.values(),
        key=lambda e: (norwegian_sort_key(e["report"].country), -e["report"].year),
    )
    response = page(request, "public/index.html", {"reports": listed})
    return by_content(request, response)


def report_not_public(request: HttpRequest) -> HttpResponse:
    return refusal(
        request, 404, _("No public snapshot here"), _("No snapshot of this report is public.")
    )


def country_slug(country: str) -> str:
    """How a country is named in a public address: its name slugified (letters of any script
    kept); "-" for a name with no letter or digit."""
    return slugify(country, allow_unicode=True) or "-"


def report_path(country: str, year: int) -> str:
    return reverse("public_report", args=[country_slug(country), year])


def report_or_none(country: str, year: int) -> Report | None:
    """The report of this country (as in its address) and year."""
    for report in Report.objects.filter(year=year):
        if country_slug(report.country) == country:
            return report
    return None


@public_view
def report(request: HttpRequest, country: str, year: int) -> HttpResponseBase:
    """The report's latest public snapshot in full, and the earlier ones listed."""
    copies = [
        copy
        for copy in PublicCopy.objects.current().filter(snapshot__report__year=year).listing()
        if country_slug(copy.snapshot.report.country) == country
    ]
    if not copies:
        return report_not_public(request)
    latest, *earlier = copies
    if not latest.is_signed():
        return not_served(request)
    context = snapshot_context(latest) | {"earlier": earlier, "is_latest_page": True}
    response = page(request, "public/snapshot.html", context)
    return by_content(request, response)


@public_view
def snapshot(request: HttpRequest, sha: str) -> HttpResponseBase:
    copy = copy_or_refusal(request, sha)
    if isinstance(copy, HttpResponse):
        return copy
    response = page(request, "public/snapshot.html", snapshot_context(copy))
    patch_cache_control(response, **IMMUTABLE)
    return conditional(request, response, f"{copy.sha256}.html.{translation.get_language()}")


@public_view
def snapshot_export(request: HttpRequest, sha: str, extension: str) -> HttpResponseBase:
    """JSON: the public copy byte for byte. CSV and PDF: made from it, in the page's language."""
    copy = copy_or_refusal(request, sha)
    if isinstance(copy, HttpResponse):
        return copy
    snapshot = copy.snapshot
    if extension == "json":
        body = verified_content(copy).encode("utf-8")
    else:
        body = rendered(copy, extension)
    name = publishing.file_name(
        snapshot.report.slug,
        "status",
        snapshot.published_at.date(),
        extension,
        f"-public-{copy.sha256[:12]}",
    )
    response = HttpResponse(body, content_type=publishing.MEDIA_TYPES[extension])
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    patch_cache_control(response, **IMMUTABLE)
    what = extension if extension == "json" else f"{extension}.{translation.get_language()}"
    return conditional(request, response, f"{copy.sha256}.{what}")


def rendered(copy: PublicCopy, extension: str) -> bytes:
    """The copy as CSV or PDF in the current language. A copy never changes, so each is made
    once and kept in the cache: anyone may ask for a PDF, which costs seconds to make, and
    asking again and again must not cost that again (nor may many asks at once: build_once)."""
    key = f"public-download:{copy.sha256}:{extension}:{translation.get_language()}"
    if (body := fetch(key)) is not None:
        return body

    def make() -> bytes:
        return publishing.render(full_document(copy), extension)

    body, _ = build_once(key, make)
    return body


@login_not_required
@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    """Search engines may read the public pages and nothing else."""
    response = HttpResponse(
        # The public pages' stylesheets and icon too, so that they are seen as people see them.
        "User-agent: *\nAllow: /public/\nAllow: /static/\nAllow: /status.css\nDisallow: /\n",
        content_type="text/plain; charset=utf-8",
    )
    patch_cache_control(response, public=True, max_age=86400)
    return response


class PublicSnapshotsFeed(Feed):
    """Newly public snapshots, newest first: of the whole site, or of one report (the view
    finds it), with links in the language the feed is read in."""

    feed_type = Atom1Feed
    ITEMS = 50

    def get_object(self, request: HttpRequest, report: Report | None = None) -> Report | None:
        return report

    @staticmethod
    def in_language(path: str) -> str:
        return absolute(path) + ("?lang=nb" if translation.get_language() == "nb" else "")

    def title(self, report: Report | None) -> str:
        if report is None:
            return _("Public status reports: TIP recommendations")
        return _("Public status reports: %(report)s") % {"report": report.name}

    def subtitle(self, report: Report | None) -> str:
        return _(
            "Snapshots of where the government and NGOs say the prioritized recommendations "
            "of the U.S. Trafficking in Persons Report stand, as they are made public."
        )

    def link(self, report: Report | None) -> str:
        if report is None:
            return self.in_language(reverse("public_index"))
        return self.in_language(report_path(report.country, report.year))

    def feed_url(self, report: Report | None) -> str:
        if report is None:
            return self.in_language(reverse("public_feed"))
        return self.in_language(report_path(report.country, report.year) + "feed/")

    def items(self, report: Report | None) -> list[PublicCopy]:
        copies = PublicCopy.objects.current().listing()
        if report is not None:
            copies = copies.filter(snapshot__report=report)
        return list(copies.order_by("-made_public_at", "-pk")[: self.ITEMS])

    def item_title(self, copy: PublicCopy) -> str:
        return f"{copy.snapshot.report.name}: {copy.snapshot.title}"

    def item_description(self, copy: PublicCopy) -> str:
        return _("Published %(published)s. SHA-256 of its JSON: %(sha256)s.") % {
            "published": copy.snapshot.published_at.date().isoformat(),
            "sha256": copy.sha256,
        }

    def item_link(self, copy: PublicCopy) -> str:
        return self.in_language(copy.get_absolute_url())

    def item_pubdate(self, copy: PublicCopy):  # type: ignore[no-untyped-def]
        return copy.made_public_at

    def item_updateddate(self, copy: PublicCopy):  # type: ignore[no-untyped-def]
        return copy.made_public_at


@public_view
def feed(request: HttpRequest, country: str = "", year: int = 0) -> HttpResponseBase:
    """The site's feed, or a report's while one of its snapshots is public (else 404)."""
    report = None
    if country:
        report = report_or_none(country, year)
        if report is None or not PublicCopy.objects.current().filter(snapshot__report=report):
            return report_not_public(request)
    response = PublicSnapshotsFeed()(request, report=report)  # in the language `?lang=` chose
    return by_content(request, response)
