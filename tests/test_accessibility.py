"""WCAG 2.2 AA: axe-core checks every page of the app, in each state a person meets it, at desktop
and phone width, in Debian's Chromium against the live server.

axe-core comes from npm (package.json, pinned in package-lock.json); `make test` runs `npm ci`.
Like Chromium, it is skipped when missing locally and required under CI (`CI=true`).
"""

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import RequestFactory, override_settings
from django.utils import timezone

from recommendations.invitations import link as invitation_link
from recommendations.invitations import send as send_invitation
from recommendations.mail import Topic, unsubscribe_token
from recommendations.models import (
    EvidenceItem,
    Invitation,
    PublicCopy,
    Recommendation,
    Report,
    Status,
)
from recommendations.publishing.snapshots import publish_snapshot
from recommendations.rules.writing import add_comment
from recommendations.views.errors import server_error, service_unavailable

from .conftest import (
    FIXTURES,
    ROOT,
    make_assessment,
    make_coordinator,
    make_organization,
    make_user,
)
from .test_browser import chromium, give_second_factor, require, watch_csp
from .test_lineage import import_veldoria

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# What the checker may report and the page keeps: htmx's attributes (HTML reserves data-* for a
# page's own; htmx reads both spellings), and on admin pages `autocomplete="off"` on the hidden
# inputs of inline formsets, which Django writes so that Firefox does not restore stale form
# counts when a page comes back from its cache.
HTMX_ATTRIBUTE = re.compile(r"^Attribute “hx-[a-z-]+” not allowed on element")
DJANGO_HIDDEN_COUNTS = re.compile(
    r"^An “input” element with a “type” attribute whose value is “hidden” must not have an "
    r"“autocomplete” attribute"
)
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Beyond WCAG's own tags: all content inside landmarks (axe's "region", a best practice).
EXTRA_RULES = {"region": {"enabled": True}}
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
PASSWORD = "a-long-test-password"

pytestmark = pytest.mark.django_db(transaction=True)


def axe_source() -> str:
    require(str(AXE), "axe-core", "npm ci; make test runs it")
    return Path(AXE).read_text(encoding="utf-8")


# What axe leaves alone but the app promises: every id is unique and every reference to one
# (for, aria-describedby, aria-labelledby, …) finds it; a field marked invalid is described by
# its error; a field's error message is what some field is described by.
REFERENCES = """() => {
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : '');
  const counts = new Map();
  for (const el of document.querySelectorAll('[id]')) {
    counts.set(el.id, (counts.get(el.id) || 0) + 1);
  }
  for (const [id, count] of counts) {
    if (count > 1) problems.push(`id "${id}" is used ${count} times`);
  }
  const attributes = ['for', 'aria-describedby', 'aria-labelledby', 'aria-controls',
                      'aria-errormessage', 'aria-owns', 'aria-activedescendant'];
  const described = new Set();
  for (const attribute of attributes) {
    for (const el of document.querySelectorAll(`[${attribute}]`)) {
      for (const id of el.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) {
          problems.push(`${name(el)} has ${attribute}="${id}", and no element has that id`);
        }
        if (attribute === 'aria-describedby') described.add(id);
      }
    }
  }
  for (const el of document.querySelectorAll('[aria-invalid="true"]')) {
    const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    const errors = ids.map((id) => document.getElementById(id))
      .filter((e) => e && e.matches('.error, .errorlist') && e.textContent.trim());
    if (!errors.length) problems.push(`${name(el)} is invalid but not described by its error`);
  }
  for (const el of document.querySelectorAll('form .error, form .errorlist:not(.nonfield)')) {
    if (!el.id || !described.has(el.id)) {
      problems.push(`the error "${el.textContent.trim()}" describes no field`);
    }
  }
  return problems;
}"""


class Audit:
    """Runs axe on the page as it stands, at each width, and keeps every violation."""

    def __init__(self, page: Any, source: str) -> None:
        self.page = page
        self.source = source
        self.violations: list[str] = []
        self.audited: list[str] = []
        self.documents: list[tuple[str, str, str]] = []  # name, address, the page's HTML

    def __call__(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        if not page.evaluate("typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol, which the page's CSP does not govern:
            # axe runs on the page exactly as the app serves it.
            page.evaluate(self.source)
        for problem in page.evaluate(REFERENCES):
            self.violations.append(f"{name} ({page.url}): {problem}")
        for width_name, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            result = page.evaluate(
                "([tags, rules]) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                " rules: rules, resultTypes: ['violations']})",
                [TAGS, EXTRA_RULES],
            )
            for violation in result["violations"]:
                nodes = "\n".join(
                    f"      {' '.join(node['target'])}: {node['failureSummary']}".replace("\n", " ")
                    for node in violation["nodes"]
                )
                self.violations.append(
                    f"{name} ({width_name}, {page.url}): {violation['id']} "
                    f"[{violation['impact']}] {violation['help']}\n{nodes}"
                )
        page.set_viewport_size({"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})
        self.audited.append(name)
        self.documents.append((name, page.url, page.content()))


def html_errors(documents: list[tuple[str, str, str]], folder: Path) -> list[str]:
    """What the W3C Nu HTML checker (vnu-jar from npm, run by Java) finds wrong in each page as
    the browser holds it (after its scripts and HTMX swaps), but what `allowed` lets through."""
    require(str(VNU), "the Nu HTML checker", "npm ci; make test runs it")
    require(shutil.which("java") or "java", "Java", "apt-get install default-jre-headless")
    names = {}
    for number, (name, address, html) in enumerate(documents):
        path = folder / f"page-{number:02d}.html"
        path.write_text(html, encoding="utf-8")
        names[path.name] = f"{name} ({address})"
    pages = sorted(str(path) for path in folder.glob("page-*.html"))
    command = ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *pages]
    checked = subprocess.run(command, capture_output=True, text=True, check=False)
    messages = json.loads(checked.stderr or checked.stdout)["messages"]
    return [
        f"{names.get(page_of(message), message.get('url'))}, line {message.get('lastLine')}: "
        f"{message['message']} ({message.get('extract', '').strip()})"
        for message in messages
        if not allowed(message, names.get(page_of(message), ""))
    ]


def page_of(message: dict) -> str:
    """The file a message is about (the checker names it by a file: URL)."""
    return message.get("url", "").rsplit("/", 1)[-1]


def allowed(message: dict, page: str) -> bool:
    text = message["message"]
    return bool(HTMX_ATTRIBUTE.search(text)) or (
        "/admin/" in page and bool(DJANGO_HIDDEN_COUNTS.search(text))
    )


def log_in(page: Any, base: str, username: str, audit: "Audit | None" = None) -> None:
    """Through the log-in form; staff then give their second factor (its page audited too
    when an audit is given)."""
    from django.contrib.auth.models import User

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    user = User.objects.get(username=username)
    if user.is_staff:
        if audit is not None:  # the first time: the app is set up here
            page.wait_for_url(re.compile(r"/accounts/two-factor/"))
            audit("two-factor, a staff member's first log-in")
        give_second_factor(page, user)
    page.wait_for_url(re.compile(r"/reports/"))


def serve_page(status: int, body: bytes) -> Any:
    """A Playwright route handler answering with this page."""
    return lambda route: route.fulfill(
        status=status, body=body, content_type="text/html; charset=utf-8"
    )


def test_every_page_passes_axe(live_server, tmp_path, provider):
    """Every page of the app, and the admin pages the project customises, in the states that
    show errors and HTMX results, has no WCAG 2.0–2.2 A/AA violation axe can find, and is
    valid HTML as the W3C Nu checker reads it."""
    from playwright.sync_api import expect

    source = axe_source()
    call_command("loaddata", *FIXTURES, verbosity=0)
    report = Report.objects.get(slug="norway-2024")
    reviewer = make_user("axe.ngo", make_organization("Axe Network"), first_name="Ada")
    government = make_user(
        "axe.gov", make_organization("Axe Ministry", kind="GOVERNMENT"), first_name="Gus"
    )
    coordinator = make_coordinator("axe.coordinator", first_name="Cora")
    first = Recommendation.objects.get(report=report, number=1)
    cited = list(first.evidence_items.order_by("pk")[:2])
    with transaction.atomic():  # citations only in the assessment's own transaction
        make_assessment(first, government, Status.IN_PROGRESS).cited_evidence.set(cited)
    make_assessment(first, reviewer, Status.NO_PROGRESS, rationale="Little has changed.")
    add_comment(first, author=reviewer, body="See the first quote.", evidence=cited[0])
    older = publish_snapshot(report, published_by=coordinator, title="Spring status")
    with transaction.atomic():
        make_assessment(first, government, Status.PARTIALLY_IMPLEMENTED).cited_evidence.set(cited)
    newer = publish_snapshot(report, published_by=coordinator, title="Autumn status")
    import_veldoria()
    make_assessment(
        Recommendation.objects.get(report__slug="veldoria-2024", number=1),
        make_user("axe.veldoria", make_organization("Axe Veldoria", country="Veldoria")),
        Status.IN_PROGRESS,
    )
    # A long history: the timeline draws only the latest changes, the history comes in pages.
    second = Recommendation.objects.get(report=report, number=2)
    for i in range(70):
        make_assessment(
            second,
            (government, reviewer)[i % 2],
            Status.values[i // 2 % 5],
            created_at=timezone.now() - timedelta(days=140 - 2 * i),
        )
    base = live_server.url
    slug = f"{base}/reports/norway-2024"

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        page = context.new_page()
        refused = watch_csp(page)
        audit = Audit(page, source)

        page.goto(f"{base}/accounts/login/")
        audit("log-in")
        page.get_by_label("Username").fill(reviewer.username)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        # A page that comes back with errors opens with focus on the first (static/js/app.js).
        expect(page.locator("#login-errors")).to_be_focused()
        audit("log-in, refused")
        # A forgotten password: the form, its answer, a link that no longer works, the end.
        page.get_by_role("link", name="Forgotten your password?").click()
        audit("password reset")
        page.get_by_label("E-mail address").fill("nobody@example.org")
        page.get_by_role("button", name="Send the link").click()
        audit("password reset, sent")
        page.goto(f"{base}/accounts/reset/MQ/no-such-token/")
        audit("password reset, a link that no longer works")
        page.goto(f"{base}/accounts/reset/done/")
        audit("password reset, done")
        # An invitation: the page that sets up the account, its refusal, a link that is dead.
        invited = Invitation.objects.create(
            email="ines@example.org",
            organization=reviewer.membership.organization,
            invited_by=coordinator,
        )
        send_invitation(invited)
        page.goto(base + invitation_link(invited).removeprefix(settings.TRACKER_BASE_URL))
        audit("invitation")
        page.get_by_label("Username").fill("ines")
        page.get_by_label("First name").fill("Ines")
        page.get_by_label("Password", exact=True).fill("a-long-password-1")
        page.get_by_label("Password again").fill("a-long-password-2")
        page.get_by_role("button", name="Create my account").click()
        audit("invitation, refused")
        page.goto(f"{base}/accounts/invitation/no-such-link/")
        audit("invitation that no longer works")
        with override_settings(AXES_FAILURE_LIMIT=0):
            page.goto(f"{base}/accounts/password_reset/")
            page.get_by_label("E-mail address").fill("nobody@example.org")
            page.get_by_role("button", name="Send the link").click()
            audit("password reset, too many requests")
        log_in(page, base, reviewer.username)
        page.goto(f"{base}/accounts/two-factor/")
        audit("two-factor, set up (optional for a reviewer)")
        page.get_by_role("button", name="Turn it on").click()
        audit("two-factor, a wrong code")

        audit("dashboard")
        page.goto(f"{slug}/?pillar=PROSECUTION&divergent=true&q=police")
        audit("dashboard, filtered")
        page.goto(f"{slug}/?columns=organizations")
        audit("dashboard, a column per organization")
        page.goto(f"{slug}/?q=no-such-words-anywhere")
        audit("dashboard, nothing matches")
        page.goto(f"{slug}/?status=NOT_A_STATUS")
        audit("dashboard, a filter error")
        page.goto(f"{slug}/source/")
        audit("source")
        page.goto(f"{base}/reports/")
        audit("reports index")
        page.goto(f"{slug}/?as_of=2099-01-01")
        audit("dashboard, an as-of error")

        page.goto(f"{slug}/recommendations/1/")
        audit("recommendation, with history and comments")
        form = page.locator("#assess-form")
        form.get_by_text("Implemented", exact=True).click()
        page.get_by_label("Rationale").fill("Done, says the ministry.")
        page.get_by_role("button", name="Record assessment").click()
        expect(page.locator("#assess-form .error")).to_be_visible()
        audit("recommendation, HTMX submit refused")
        page.locator("#assess-form").get_by_text("In progress", exact=True).click()
        page.get_by_label("Rationale").fill("Training has begun.")
        page.get_by_role("button", name="Record assessment").click()
        expect(page.locator(".history-item").first).to_contain_text("Training has begun.")
        # The timeline asks for itself again once the positions changed (HX-Trigger).
        ours = page.locator("#timeline .timeline-legend li", has_text="Axe Network")
        expect(ours).to_contain_text("In progress")
        expect(page.locator("#positions-heading")).to_be_focused()
        audit("recommendation, HTMX submit recorded")
        page.get_by_role("textbox", name="Comment").fill("   ")
        page.get_by_role("button", name="Add comment").click()
        expect(page.get_by_role("textbox", name="Comment")).to_be_focused()
        expect(page.locator("#announcer")).to_contain_text("Not added:")
        audit("recommendation, HTMX comment refused")
        follow = page.locator("#follow-button")  # Ada's organization has assessed it
        expect(follow).to_have_attribute("aria-pressed", "true")
        follow.click()
        expect(follow).to_have_attribute("aria-pressed", "false")
        expect(follow).to_be_focused()
        audit("recommendation, unfollowed with HTMX")

        page.goto(f"{slug}/recommendations/2/")
        expect(page.locator(".timeline")).to_contain_text("Earlier assessments in the history")
        audit("recommendation, a long history")
        page.locator("#history").get_by_role("link", name="Older →").click()
        expect(page.locator("#history-heading")).to_contain_text("page 2")
        expect(page.locator("#history-heading")).to_be_focused()
        assert page.url.endswith("?history_page=2#history-heading")
        audit("recommendation, older history by HTMX")

        page.goto(f"{slug}/snapshots/{newer.pk}/")
        audit("snapshot")
        page.goto(f"{slug}/snapshots/compare/?older={older.pk}&newer={newer.pk}")
        audit("snapshot comparison")
        page.goto(f"{slug}/snapshots/compare/?older={older.pk}&newer={older.pk}")
        audit("snapshot comparison, refused")

        page.goto(f"{base}/accounts/password_change/")
        page.get_by_label("Old password").fill("wrong")
        page.get_by_label("New password", exact=True).fill("short")
        page.get_by_label("New password confirmation").fill("other")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_label("Old password")).to_be_focused()
        audit("password change, refused")

        page.goto(f"{slug}/recommendations/99/")
        audit("404")
        page.goto(f"{slug}/recommendations/1/?history_page=x")
        audit("400")
        page.goto(f"{slug}/recommendations/1/assess/")
        audit("405")
        # The server-error pages, as the handlers render them (no view can be made to fail here).
        for status, body in (
            (500, server_error(RequestFactory().get("/")).content),
            (503, service_unavailable().content),
        ):
            address = f"{base}/error-page-{status}/"
            page.route(address, serve_page(status, body))
            page.goto(address)
            audit(str(status))

        # The unsubscribe link of a mail (no log-in needed; here Ada is signed in).
        reviewer.email = "ada@example.org"
        reviewer.save()
        page.goto(f"{base}/unsubscribe/{unsubscribe_token(reviewer, Topic.DIGESTS)}/")
        audit("unsubscribe")
        page.get_by_role("button", name="Stop digest emails").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("are stopped")
        audit("unsubscribe, stopped")

        # A coordinator: the publish form, and the customised admin pages.
        context.clear_cookies()
        log_in(page, base, coordinator.username, audit)
        page.goto(f"{slug}/")
        expect(page.get_by_label("Organization", exact=True)).to_be_visible()
        audit("dashboard, a coordinator's choice of submission draft")
        page.goto(f"{slug}/snapshots/")
        audit("snapshots, with the publish form")
        page.get_by_label("Title").fill("  ")
        page.get_by_role("button", name="Publish snapshot").click()
        expect(page.get_by_label("Title")).to_be_focused()
        expect(page.get_by_label("Title")).to_have_attribute(
            "aria-describedby", "id_title_helptext id_title_error"
        )
        audit("snapshots, publishing refused")
        # Making a snapshot public, and the public pages (read without the session's cookies).
        page.goto(f"{slug}/snapshots/{newer.pk}/")
        audit("snapshot, with the form that makes it public")
        page.get_by_role("button", name="Make public").click()
        expect(page.get_by_role("button", name="Withdraw")).to_be_visible()
        audit("snapshot, public")
        public = PublicCopy.objects.current().get(snapshot=newer)
        page.goto(f"{base}/public/")
        audit("public: countries and years")
        page.goto(f"{base}/public/norway/2024/")
        audit("public: a report's latest status report")
        page.goto(f"{base}/public/snapshots/{public.sha256}/")
        audit("public: a snapshot")
        page.goto(f"{base}/public/snapshots/{public.sha256}/?lang=nb")
        audit("public: a snapshot, in Norwegian")
        page.goto(f"{base}/public/snapshots/{'0' * 64}/")
        audit("public: not found")
        page.goto(f"{slug}/snapshots/{newer.pk}/")
        page.get_by_role("button", name="Withdraw").click()
        expect(page.get_by_role("button", name="Make public")).to_be_visible()
        page.goto(f"{base}/public/snapshots/{public.sha256}/?lang=en")  # not in the browser cache
        audit("public: withdrawn")

        page.goto(f"{base}/admin/recommendations/report/")
        audit("admin: reports")
        page.goto(f"{base}/admin/recommendations/evidenceitem/add/")
        audit("admin: add an evidence item")
        item = EvidenceItem.objects.filter(report=report).order_by("pk").first()
        assert item is not None
        page.goto(f"{base}/admin/recommendations/evidenceitem/{item.pk}/change/")
        audit("admin: change an evidence item")
        page.goto(f"{base}/admin/recommendations/recommendation/{first.pk}/change/")
        audit("admin: change a recommendation")
        # The chapter import: the upload form, a refusal on it, and the preview.
        layouts = ROOT / "tests" / "chapters" / "layouts"
        page.goto(f"{base}/admin/recommendations/invitation/add/")
        audit("admin: invite a person")
        page.goto(f"{base}/admin/recommendations/invitation/")
        audit("admin: invitations")
        page.goto(f"{base}/admin/recommendations/report/import/")
        audit("admin: import a chapter")
        page.get_by_label(re.compile(r"^Chapter:?$")).set_input_files(
            str(layouts / "33-no-title.txt")
        )
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#id_file_error")).to_contain_text("no year")
        audit("admin: import a chapter, refused")
        page.get_by_label(re.compile(r"^Chapter:?$")).set_input_files(
            str(layouts / "11-bullets-dot.txt")
        )
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_role("button", name="Import this chapter")).to_be_visible()
        audit("admin: import a chapter, preview")
        # A pasted chapter that says no tier: the paste box's own error.
        page.goto(f"{base}/admin/recommendations/report/import/")
        pasted = (layouts / "42-no-tier-line-tier-2.txt").read_text(encoding="utf-8")
        page.get_by_label("Or paste the chapter").fill(
            pasted.replace("Therefore Nembria remained on Tier 2.", "")
        )
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#id_pasted_error")).to_contain_text("no tier")
        audit("admin: import a pasted chapter, refused")
        # Lineage between years: a recommendation with its chain, and what changed.
        page.goto(f"{base}/reports/veldoria-2025/recommendations/1/")
        audit("recommendation, with its lineage")
        page.goto(f"{base}/reports/veldoria-2025/changes/")
        audit("what changed between two years")
        # Single sign-on only (LOCAL_PASSWORDS=0): the log-in page, a password page, an
        # invitation, and the sessions page of a person signed in through the provider.
        context.clear_cookies()
        provider.register(f"{base}/accounts/sign-on/callback/")
        only_sign_on = [b for b in settings.AUTHENTICATION_BACKENDS if "ModelBackend" not in b]
        with override_settings(LOCAL_PASSWORDS=False, AUTHENTICATION_BACKENDS=only_sign_on):
            page.goto(f"{base}/accounts/login/")
            audit("log-in, single sign-on only")
            page.goto(f"{base}/accounts/password_reset/")
            audit("passwords switched off")
            invited = Invitation.objects.create(
                email="isak@example.org",
                organization=reviewer.membership.organization,
                invited_by=coordinator,
            )
            send_invitation(invited)
            page.goto(base + invitation_link(invited).removeprefix(settings.TRACKER_BASE_URL))
            audit("invitation, single sign-on only")
            reviewer.email = "reviewer@example.org"  # the address the provider knows
            reviewer.save()
            page.goto(f"{base}/accounts/login/")
            page.get_by_role("link", name="Sign in with Test provider").click()
            page.get_by_label("Username").fill("reviewer")
            page.get_by_label("Password").fill("provider-password")
            page.get_by_role("button", name="Sign in at the provider").click()
            page.wait_for_url(re.compile(r"/reports/"))
            page.goto(f"{base}/accounts/password_change/")
            audit("sessions, single sign-on only")
        context.close()

    assert not audit.violations, (
        f"{len(audit.violations)} accessibility violation(s):\n" + "\n".join(audit.violations)
    )
    assert len(audit.audited) == 66
    assert not refused, refused
    errors = html_errors(audit.documents, tmp_path)
    assert not errors, f"{len(errors)} HTML error(s):\n" + "\n".join(errors)
