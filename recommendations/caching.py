"""Pages and exports rendered once per data version, and HTTP revalidation by the same key.

The key (`page_key`) holds everything a cached piece depends on: the page, the tokens the
database keeps for the data it shows (recommendations/versions.py, read in one query), the
viewer's organization and role (what they may write, what "mine" means), the parameters, the
language and the day (what "now" and "overdue" mean). A write anywhere a page looks changes a
token, so the next request misses and renders; nothing is ever invalidated by hand.

Views reach the cache only through `serve`: the key, the ETag, the 304, the cached piece or
what the view's builder makes (then stored), and the response — the whole page, an HTMX
partial, or a download.

What is the viewer's own is never in a shared piece: messages and the follow button are
rendered for each request, the page around the content (the header naming the user) is kept
per user, and CSRF tokens, the title, the content, the address and a view's own slots (the
follow button) are slots filled on the way out (NUL-delimited: no form, import or admin field
lets a NUL into the text).

After a write, the readers who ask for the same page at once do not all render it: the first
takes a short lock in the cache (`build_once`) and renders, the others wait for what it stores
(with a cache shared by several app servers, Redis, that spares them a render each; with the
cache in each process's memory, each process renders its own as before).

The cache is an optimisation, never a dependency: when it fails (Redis stopped, or hanging
past its short timeouts: tracker/settings.py) a page is rendered without it, the failure is
logged once per interval, and the cache is left alone for a few seconds so that a hanging
server does not cost every request its timeout.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache as cache_in_process
from hashlib import sha256
from typing import Any, cast
from uuid import uuid4

import django
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.html import escape
from django.utils.http import quote_etag
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from .rules.access import (
    drafts_for_any_organization,
    may_curate,
    membership_of,
    remember_membership,
)
from .versions import fingerprint_and_membership

CSRF_SLOT = "\x00csrf\x00"
TITLE_SLOT = "\x00title\x00"
CONTENT_SLOT = "\x00content\x00"
PATH_SLOT = "\x00path\x00"

logger = logging.getLogger(__name__)

# A render in progress holds its lock at most so long (a renderer that died frees it), and
# others wait for it at most so long before they render themselves; they look again after
# POLL, then after twice as long each time, up to the longest.
RENDER_LOCK_SECONDS = 60
RENDER_WAIT_SECONDS = 10.0
RENDER_POLL_SECONDS = 0.01
RENDER_POLL_LONGEST_SECONDS = 0.1
# After a cache error this process renders without the cache for this long before trying it
# again: a server that accepts connections but never answers would otherwise cost each request
# a timeout per cache call.
PAUSE_AFTER_ERROR_SECONDS = 5.0
# An outage is logged once per interval per process, not once per request.
LOG_INTERVAL_SECONDS = 60.0


def slot(name: str) -> SafeString:
    """Where a cached piece leaves room for what is filled in for each request (`serve`'s
    `personalise` says with what)."""
    return mark_safe(f"\x00{name}\x00")


@dataclass(frozen=True)
class CachedPage:
    """A rendered page without the page around it (cached_page.html: the header)."""

    title: str
    content: str
    status: int = 200
    values: dict[str, Any] = field(default_factory=dict)  # what the view needs on a hit


@dataclass(frozen=True)
class CachedPartial:
    """An HTMX answer: a piece of a page, sent alone with its headers."""

    content: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CachedFile:
    """A download as it was answered (a successful one: a refusal is rendered each time)."""

    body: bytes
    headers: dict[str, str]

    @classmethod
    def of(cls, response: HttpResponse) -> "CachedFile":
        return cls(response.content, dict(response.items()))

    def response(self, hit: bool, tag: str | None) -> HttpResponse:
        response = HttpResponse(self.body)
        for name, value in self.headers.items():
            response[name] = value
        return _with_etag(response, tag, hit)


type Built = CachedPage | CachedPartial | CachedFile


def serve(
    request: HttpRequest,
    page: str,
    report_slug: str,
    parts: Sequence[str],
    build: Callable[[], Built | HttpResponseBase],
    *,
    viewers_own: Callable[[], Sequence[str]] = tuple,
    personalise: Callable[[CachedPage], dict[str, str]] | None = None,
    stored: bool = True,
) -> HttpResponseBase:
    """The response to a GET of a cached page or export of this report: a 304 when the
    request already holds its ETag, else what the cache holds under its key (`page_key` of
    `page` and `parts`) or what `build` makes (then stored), sent as a whole page, an HTMX
    partial or a download.

    - `build` makes a CachedPage, a CachedPartial or a CachedFile; or a response, which is
      sent as it is and never stored (a refusal, a download streamed as it is read).
    - `viewers_own`: what the response shows that is the viewer's own and outside the key (the
      follow choice), for the ETag; called after the key is read, so it may use the
      membership read with it.
    - `personalise`: what fills a cached page's own slots (`slot`) for this request.
    - `stored=False`: what `build` makes is never kept, so the cache is not asked either; the
      request is only revalidated.
    """
    key = page_key(request, page, report_slug, *parts)
    tag = etag(request, key, *viewers_own()) if key is not None else None
    if (unchanged := _not_modified(request, tag)) is not None:
        return unchanged
    built = fetch(key) if stored else None
    hit = built is not None
    if built is None:
        built, hit = build_once(key, build) if stored else (build(), False)
        if isinstance(built, HttpResponseBase):
            return _with_etag(built, tag, hit=False)
    match built:
        case CachedFile():
            return built.response(hit, tag)
        case CachedPartial():
            return _partial_response(request, built, hit, tag)
        case CachedPage():
            slots = personalise(built) if personalise is not None else {}
            return _page_response(request, built, hit, key, tag, **slots)
    raise TypeError(f"not something the page cache keeps: {built!r}")


def build_once[T](key: str | None, build: Callable[[], T]) -> tuple[T, bool]:
    """What `build` makes, stored under the key (unless it is a response, which is never
    kept), and False; or, when another request is building it, what that one stores, and
    True (it was not built here). Whoever takes the key's lock builds; the others look for the
    result until the lock is gone or RENDER_WAIT_SECONDS have passed, then build it
    themselves. The lock holds a token of its own, so a builder frees only its own lock. A
    cache that fails is left out, as everywhere."""
    if key is None:
        return _build_and_store(key, build), False
    lock, token = f"{key}:building", uuid4().hex
    if _cache_call(lambda: cache.add(lock, token, RENDER_LOCK_SECONDS), default=True):
        try:
            # Another request may have stored it between this one's first look and the lock.
            if (built := fetch(key)) is not None:
                return built, True
            return _build_and_store(key, build), False
        finally:
            if _cache_call(lambda: cache.get(lock), default=None) == token:
                _cache_call(lambda: cache.delete(lock), default=None)
    deadline, pause = time.monotonic() + RENDER_WAIT_SECONDS, RENDER_POLL_SECONDS
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(2 * pause, RENDER_POLL_LONGEST_SECONDS)
        if (built := fetch(key)) is not None:
            return built, True
        if _cache_call(lambda: cache.get(lock), default=None) is None:
            break  # the other request is done (or the cache failed)
    if (built := fetch(key)) is not None:  # stored just before the lock went
        return built, True
    return _build_and_store(key, build), False


def _build_and_store[T](key: str | None, build: Callable[[], T]) -> T:
    built = build()
    if not isinstance(built, HttpResponseBase):
        store(key, built)
    return built


def _cache_call[V](call: Callable[[], V], default: V) -> V:
    """A call to the cache, or `default` when the cache is paused or fails (then paused)."""
    if cache_outage.paused():
        return default
    try:
        return call()
    except Exception as error:
        cache_outage.failed(error)
        return default


def versions_and_membership(request: HttpRequest, report_slug: str) -> str | None:
    """The fingerprint of the report's data (versions.fingerprint_and_membership), None when
    there is none; the user's membership, read whole by the same query, is kept where a query
    would keep it (user.membership) and where membership_of finds it."""
    user = cast(User, request.user)  # the cached pages are for signed-in users only
    version, membership = fingerprint_and_membership(report_slug, user.pk)
    if version is None:
        return None
    remember_membership(user, membership)
    return version


@cache_in_process
def code_version() -> str:
    """What renders the pages, as a digest: the templates, the Python code, the translations
    and the static files of this checkout, and Django's version. In every key, so that a
    shared cache never serves what an earlier release rendered."""
    code = sha256(django.get_version().encode())
    for folder in ("templates", "recommendations", "tracker", "locale", "static"):
        for path in sorted((settings.BASE_DIR / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                code.update(str(path.relative_to(settings.BASE_DIR)).encode())
                code.update(path.read_bytes())
    return code.hexdigest()


def viewer(request: HttpRequest) -> str:
    """Who the page is for, as far as it differs: organization, role, and staff (2 for staff
    who curate evidence, who see the evidence flags; and whether they draft submissions for
    any organization)."""
    membership = membership_of(request.user)
    staff = 2 if may_curate(request.user) else int(request.user.is_staff)
    # Coordinators are offered any organization's submission draft.
    staff = staff * 2 + int(drafts_for_any_organization(request.user))
    if membership is None:
        return f"-:-:{staff}"
    return f"{membership.organization_id}:{membership.role}:{staff}"


def page_key(request: HttpRequest, page: str, report_slug: str, *parts: str) -> str | None:
    """The cache key of a page of this report as this viewer asks for it, or None when pages
    are not cached (PAGE_CACHE off, or no data version to key by)."""
    if not settings.PAGE_CACHE:
        return None
    version = versions_and_membership(request, report_slug)
    if version is None:
        return None
    whole = [
        code_version(),
        page,
        report_slug,
        version,
        viewer(request),
        get_language() or "",
        timezone.localdate().isoformat(),
        *parts,
    ]
    return f"{page}:" + sha256("\x1f".join(whole).encode()).hexdigest()


def cached[T](key: str | None, build: Callable[[], T]) -> tuple[T, bool]:
    """What is cached under the key, or what `build` makes (then cached), and whether it was
    a hit. Without a key (caching off) nothing is kept."""
    if (value := fetch(key)) is not None:
        return value, True
    value = build()
    store(key, value)
    return value, False


def fetch(key: str | None) -> Any:
    """What the cache holds under the key; None when it holds nothing, there is no key, or the
    cache cannot be reached."""
    if key is None or cache_outage.paused():
        return None
    try:
        return cache.get(key)
    except Exception as error:  # whatever the backend raises, the page can be rendered
        cache_outage.failed(error)
        return None


def store(key: str | None, value: object) -> None:
    """Keep the value under the key, if the cache can be reached (else it is only not kept)."""
    if key is None or cache_outage.paused():
        return
    try:
        cache.set(key, value, settings.PAGE_CACHE_SECONDS)
    except Exception as error:
        cache_outage.failed(error)


class CacheOutage:
    """This process's view of the cache's health: when to try it again after an error, and
    when the last error was logged. Shared by the threads of a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._paused_until = 0.0
            self._logged_at: float | None = None
            self._unlogged_errors = 0

    def paused(self) -> bool:
        return time.monotonic() < self._paused_until

    def failed(self, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._paused_until = now + PAUSE_AFTER_ERROR_SECONDS
            self._unlogged_errors += 1
            if self._logged_at is not None and now - self._logged_at < LOG_INTERVAL_SECONDS:
                return
            errors, self._unlogged_errors, self._logged_at = self._unlogged_errors, 0, now
        logger.warning(
            "The page cache failed (%d errors since the last report); pages are rendered "
            "without it, and it is tried again in %d s",
            errors,
            PAUSE_AFTER_ERROR_SECONDS,
            exc_info=error,
        )


cache_outage = CacheOutage()


def render_piece(request: HttpRequest, template: str, context: dict[str, Any]) -> str:
    """A template (or one partial of it) rendered for the cache: CSRF tokens left as slots."""
    return render_to_string(template, context | {"csrf_token": CSRF_SLOT}, request)


def fill_slots(request: HttpRequest, html: str, **slots: str) -> str:
    html = html.replace(CSRF_SLOT, get_token(request))
    for name, value in slots.items():
        html = html.replace(f"\x00{name}\x00", value)
    return html


def etag(request: HttpRequest, key: str | None, *viewers_own: str) -> str | None:
    """An ETag for what this key renders for this session: the key itself changes with the
    data; the user and the CSRF secret are added because the page around the cached piece
    shows them (a new log-in rotates the secret, so an old page is not revalidated), and so is
    whatever else the response shows that is the viewer's own and outside the key
    (`viewers_own`: the follow button)."""
    if key is None:
        return None
    get_token(request)  # sets the secret when the session has none yet
    secret = request.META.get("CSRF_COOKIE", "")
    user = getattr(request, "user", None)
    parts = [key, str(user.pk if user is not None else ""), secret, *viewers_own]
    return quote_etag(sha256("\x1f".join(parts).encode()).hexdigest()[:40])


def _not_modified(request: HttpRequest, tag: str | None) -> HttpResponse | None:
    """The 304 for a request that already holds this ETag; None when the page must be sent
    (no tag, a different one, or messages waiting to be shown on it)."""
    if tag is None or request.method != "GET" or messages.get_messages(request):
        return None
    response = get_conditional_response(request, etag=tag)
    if response is not None:
        patch_cache_control(response, private=True, no_cache=True)
    return response


def _with_etag[R: HttpResponseBase](response: R, tag: str | None, hit: bool) -> R:
    # Whether the page came from the cache: the benchmark counts them for its hit rate.
    response["X-Cache"] = "hit" if hit else "miss"
    if tag is not None and response.status_code == 200:
        response["ETag"] = tag
        # The browser keeps it but asks again every time: the answer is a 304 or the new page.
        patch_cache_control(response, private=True, no_cache=True)
    return response


def _page_response(
    request: HttpRequest,
    page: CachedPage,
    hit: bool,
    key: str | None,
    tag: str | None,
    **slots: str,
) -> HttpResponse:
    """The whole page: the cached title and content inside the header of this request."""
    content = fill_slots(request, page.content, **slots)
    shell = _shell(request, key)
    if shell is None:
        context = {"page_title": page.title, "page_content": mark_safe(content)}
        response = render(request, "cached_page.html", context, status=page.status)
    else:
        head, tail = shell
        head = fill_slots(request, head, path=escape(request.get_full_path()))
        head = head.replace(TITLE_SLOT, page.title)
        response = HttpResponse(head + content + fill_slots(request, tail), status=page.status)
    return _with_etag(response, tag, hit)


def _shell(request: HttpRequest, key: str | None) -> tuple[str, str] | None:
    """The page around its content (cached_page.html: the header names the user, their
    organization and role, and holds the language switch), cut where the content goes; kept
    per user under the page's key. None when there is no key, or when messages wait to be
    shown (then the page is rendered whole, and shows them once)."""
    if key is None or messages.get_messages(request):
        return None
    shell_key = "shell:" + sha256(f"{key}\x1f{request.user.pk}".encode()).hexdigest()
    shell, _ = cached(shell_key, lambda: _render_shell(request))
    return shell


def _render_shell(request: HttpRequest) -> tuple[str, str]:
    context = {
        "page_title": mark_safe(TITLE_SLOT),
        "page_content": mark_safe(CONTENT_SLOT),
        "full_path": mark_safe(PATH_SLOT),
    }
    head, tail = render_piece(request, "cached_page.html", context).split(CONTENT_SLOT)
    return head, tail


def _partial_response(
    request: HttpRequest, partial: CachedPartial, hit: bool, tag: str | None
) -> HttpResponse:
    """An HTMX answer: the cached piece alone, with its headers."""
    response = HttpResponse(fill_slots(request, partial.content), status=partial.status)
    for name, value in partial.headers.items():
        response[name] = value
    return _with_etag(response, tag, hit)
