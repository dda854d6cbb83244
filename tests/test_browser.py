"""A real browser (Debian's Chromium driven by Playwright) against the live server."""

import io
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from openpyxl import load_workbook
from pypdf import PdfReader

from recommendations.models import Assessment, Status

from .conftest import FIXTURES, make_assessment, make_organization, make_user, recovery_code

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.django_db(transaction=True)


def require(path: str, what: str, install: str) -> None:
    """Skip without a tool the browser tests need; under CI (`CI=true`) fail instead."""
    if not shutil.which(path) and not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing at {path}; CI must install it ({install})")
        pytest.skip(f"no {what} at {path} ({install})")


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, closed afterwards."""
    require(CHROMIUM, "Chromium", "apt-get install chromium; .ci/run does")
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # The test's queries ran while Playwright's event loop was current, so Django keeps
            # their connection in that context, where the test database's teardown cannot see
            # it.
            connections.close_all()


def watch_csp(page: Any) -> list[str]:
    """Collects every Content-Security-Policy violation the page reports (the console's
    "Refused to …" errors): the app has no inline script or style, so there must be none."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return refused


def click_slowly(page: Any, locator: Any) -> None:
    """A click as a person makes it: the button is released a fifth of a second after the
    press (Playwright's own click releases at once)."""
    locator.scroll_into_view_if_needed()
    # The middle of the link's first line (a link wrapped over lines has gaps in its box).
    point = locator.evaluate(
        "link => { const r = link.getClientRects()[0];"
        " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; }"
    )
    page.mouse.move(point["x"], point["y"])
    page.mouse.down()
    page.wait_for_timeout(200)
    page.mouse.up()


@pytest.fixture
def browser_page():
    with chromium() as browser:
        page = browser.new_page(accept_downloads=True)
        page.set_default_timeout(10_000)
        yield page


def test_ngo_reviewer_filters_assesses_and_logs_out(live_server, browser_page):
    from playwright.sync_api import expect

    call_command("loaddata", *FIXTURES, verbosity=0)
    ngo = make_organization("Browser NGO")
    reviewer = make_user("browser.ngo", ngo, first_name="Bea", last_name="Browser")
    colleague = make_user("browser.ngo2", ngo)
    government = make_user("browser.gov", make_organization("Ministry", kind="GOVERNMENT"))
    from recommendations.models import Recommendation

    make_assessment(
        Recommendation.objects.get(number=7), government, Status.IMPLEMENTED, rationale="Done."
    )
    page = browser_page
    refused = watch_csp(page)
    base = live_server.url

    # The real Content-Security-Policy is served (the axe pass in test_accessibility.py
    # evaluates axe through the DevTools protocol, which that policy does not govern).
    response = page.goto(f"{base}/reports/norway-2024/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Username").fill(reviewer.username)
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Norway · TIP Report 2024")).to_be_visible()
    expect(page.locator(".account")).to_contain_text("Browser NGO")

    # Filter through HTMX: the table changes and the URL follows, without a page load. The
    # live region says how many match; focus stays in the filter.
    announcer = page.locator("#announcer")
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("Pillar").focus()
    page.get_by_label("Pillar").select_option("CROSS_CUTTING")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"pillar=CROSS_CUTTING"))
    expect(announcer).to_have_text("2 recommendations match the filters.")
    expect(page.get_by_label("Pillar")).to_be_focused()
    assert page.evaluate("window.__marker") == "same page"
    # Sort by a column header through HTMX: the filters stay, the order goes into the URL, the
    # header says how it is sorted and keeps the focus; the live region says the new order.
    number = page.locator("#results thead a#sort-number")
    number.click()
    expect(page.locator("#results tbody tr").first).to_contain_text("10")
    expect(page).to_have_url(re.compile(r"\?pillar=CROSS_CUTTING&sort=-number$"))
    expect(page.locator("#results thead th[aria-sort]")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(page.locator("#sort-number")).to_be_focused()
    expect(announcer).to_have_text("Sorted by number, descending.")
    assert page.evaluate("window.__marker") == "same page"
    # A filter changed afterwards keeps the order; empty fields stay out of the URL.
    page.get_by_label("Pillar").select_option("")
    expect(page.locator("#results tbody tr")).to_have_count(10)
    expect(page).to_have_url(re.compile(r"/reports/norway-2024/\?sort=-number$"))
    expect(page.locator("#results tbody tr").first).to_contain_text("10")
    page.get_by_role("link", name="Number").click()
    expect(page).to_have_url(re.compile(r"/reports/norway-2024/$"))
    # A search the server refuses shows why, tied to the search box, and says it aloud.
    search = page.get_by_label("Search recommendations")
    search.fill(" ".join(["word"] * 51))
    expect(page.locator("#id_q_error")).to_contain_text("at most 50 words")
    expect(search).to_have_attribute("aria-invalid", "true")
    expect(search).to_have_attribute("aria-describedby", "id_q_error")
    expect(announcer).to_contain_text("at most 50 words")
    expect(search).to_be_focused()
    # Words typed and left at once (before the pause after typing is over) are still searched.
    search.fill("shelter")
    search.press("Tab")
    expect(page).to_have_url(re.compile(r"q=shelter"))
    expect(search).not_to_have_attribute("aria-invalid", "true")
    search.fill("children")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=children"))
    expect(announcer).to_have_text("1 recommendation matches the filters.")

    # Clicked at a person's pace, pressed then released a moment later, straight from the search
    # box: leaving the box must not replace the results under the pointer.
    click_slowly(page, page.get_by_role("link", name="Identify victims, especially children"))
    expect(page.get_by_role("heading", name=re.compile("Identify victims"))).to_be_visible()

    # Submit an assessment through HTMX; it appears at the top of the history. Focus moves to
    # the positions it changed (not to <body>), and the live region says it was recorded.
    page.evaluate("window.__marker = 'recommendation page'")
    page.get_by_text("Partially implemented", exact=True).first.click()
    page.get_by_label("Rationale").fill("Guidelines exist; training has begun in three districts.")
    page.get_by_role("button", name="Record assessment").click()
    first_entry = page.locator(".history-item").first
    expect(first_entry).to_contain_text("Guidelines exist; training has begun")
    expect(first_entry).to_contain_text("Browser NGO")
    expect(page.locator("#positions-heading")).to_be_focused()
    expect(announcer).to_have_text("Assessment recorded.")
    expect(page.locator("#activity .messages")).to_have_text("Assessment recorded.")
    expect(page.locator("#activity .messages")).to_be_visible()
    assert page.evaluate("window.__marker") == "recommendation page"
    assert Assessment.objects.filter(author=reviewer).count() == 1

    # "Implemented" without evidence is refused with a message; nothing is recorded. The
    # evidence boxes are marked invalid and described by the message; focus moves to the
    # first of them and the live region reads the message.
    page.locator("#assess-form").get_by_text("Implemented", exact=True).click()
    page.get_by_label("Rationale").fill("All done.")
    page.get_by_role("button", name="Record assessment").click()
    error = page.locator("#assess-form #id_evidence_error")
    expect(error).to_contain_text("needs at least one cited")
    first_box = page.locator("#assess-form input[name=evidence]").first
    expect(first_box).to_have_attribute("aria-invalid", "true")
    expect(first_box).to_have_attribute("aria-describedby", "id_evidence_error")
    expect(first_box).to_be_focused()
    # The message stands beside the group's legend, above the boxes, not below the list.
    assert error.evaluate("e => e.previousElementSibling.tagName") == "LEGEND"
    assert error.bounding_box()["y"] < first_box.bounding_box()["y"]
    expect(announcer).to_have_text(re.compile(r"^Not recorded: .*needs at least one cited"))
    assert Assessment.objects.filter(author=reviewer).count() == 1

    # A colleague recorded one meanwhile: the refusal (an error summary) takes the focus.
    make_assessment(Recommendation.objects.get(number=7), colleague, Status.PARTIALLY_IMPLEMENTED)
    page.locator("#assess-form").get_by_text("In progress", exact=True).click()
    page.get_by_role("button", name="Record assessment").click()
    expect(page.locator("#assess-form-errors")).to_be_focused()
    expect(announcer).to_have_text(re.compile(r"^Not recorded: "))
    assert Assessment.objects.filter(author=reviewer).count() == 1

    # A comment through HTMX: focus moves to the comments, the live region confirms.
    page.get_by_role("textbox", name="Comment").fill("Training reached three districts.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comments")).to_contain_text("Training reached three districts.")
    expect(page.locator("#comments-heading")).to_be_focused()
    expect(announcer).to_have_text("Comment added.")
    expect(page.locator("#comments .messages")).to_have_text("Comment added.")

    # The dashboard shows the new NGO position and the divergence from the government's.
    page.goto(f"{base}/reports/norway-2024/?q=children")
    row = page.locator("#results tbody tr").first
    expect(row).to_contain_text("Partially implemented")
    expect(row).to_contain_text("1 step apart")

    # The filtered table downloads as a spreadsheet and as a PDF from the same page.
    with page.expect_download() as excel:
        page.get_by_role("link", name="Excel").click()
    assert re.fullmatch(
        r"tip-norway-2024-status-\d{4}-\d{2}-\d{2}\.xlsx", excel.value.suggested_filename
    )
    summary = load_workbook(io.BytesIO(excel.value.path().read_bytes()))["Summary"]
    assert [row[0] for row in summary.iter_rows(min_row=2, values_only=True)] == [7]
    with page.expect_download() as pdf:
        page.get_by_role("link", name="PDF").click()
    text = " ".join(p.extract_text() for p in PdfReader(pdf.value.path()).pages)
    assert "Recommendation 7" in text and "Recommendation 1:" not in text

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto(f"{base}/reports/norway-2024/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    assert not refused, refused


# Norway's bodies that would assess: ministries, directorates, the police, the labour
# inspectorate, the coordination unit, and the NGOs (fifteen, as the dashboard must hold).
FIFTEEN = {
    "GOVERNMENT": [
        ("Justis- og beredskapsdepartementet", "JD"),
        ("Arbeids- og inkluderingsdepartementet", "AID"),
        ("Barne- og familiedepartementet", ""),
        ("Politidirektoratet", "POD"),
        ("Utlendingsdirektoratet", "UDI"),
        ("Arbeidstilsynet", ""),
        ("Koordineringsenheten for ofre for menneskehandel", "KOM"),
    ],
    "NGO": [
        ("Nettverk mot menneskehandel", ""),
        ("Pro Sentret", ""),
        ("ROSA-prosjektet", "ROSA"),
        ("Kirkens Bymisjon", ""),
        ("Caritas Norge", ""),
        ("Frelsesarmeen", ""),
        ("Redd Barna", ""),
        ("Juss-Buss", ""),
    ],
}


def look(page: Any, name: str) -> None:
    """With SCREENSHOTS=1, keep a full-page picture in test-artifacts/ (ignored by git) for a
    person to look at; otherwise nothing."""
    if os.environ.get("SCREENSHOTS"):
        os.makedirs("test-artifacts", exist_ok=True)
        page.screenshot(path=f"test-artifacts/{name}.png", full_page=True)


def log_in_through_the_form(page: Any, url: str, user: Any) -> None:
    """At a log-in page (with its `next`), the person's username and password; staff then give
    their second factor."""
    page.goto(url)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    if user.is_staff:
        give_second_factor(page, user)


def give_second_factor(page: Any, user: Any) -> None:
    """After a staff member's password: the page asks for the second factor; a recovery code
    answers it (their app is set up)."""
    code = recovery_code(user)
    # The first log-in of an account without an app lands on the set-up page: with the app
    # set up above, the code page is where the person is.
    page.wait_for_url(re.compile(r"/accounts/two-factor/"))
    if "/verify/" not in page.url:
        page.goto(page.url.replace("/accounts/two-factor/", "/accounts/two-factor/verify/", 1))
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()


def assert_fits(page: Any) -> None:
    """The dashboard's table is no wider than its box (nothing to scroll sideways)."""
    wide, box = page.evaluate(
        "() => { const box = document.querySelector('#results .table-wrap');"
        " return [box.scrollWidth, box.clientWidth]; }"
    )
    columns = page.evaluate(
        "() => [...document.querySelectorAll('#results thead th')]"
        ".map(th => th.textContent.trim().slice(0, 14) + ' ' + Math.round(th.offsetWidth))"
    )
    assert wide <= box, f"the table is {wide} px wide in a {box} px box: {columns}"


def fifteen_organizations() -> Any:
    """The fifteen, each with a position on most recommendations; the first NGO's reviewer."""
    from recommendations.models import Recommendation

    call_command("loaddata", *FIXTURES, verbosity=0)
    recommendations = list(Recommendation.objects.order_by("number"))
    reviewer = None
    for kind, organizations in FIFTEEN.items():
        for index, (name, short) in enumerate(organizations):
            organization = make_organization(name, kind=kind, short_name=short)
            user = make_user(f"{kind.lower()}{index}", organization)
            reviewer = reviewer or (user if kind == "NGO" else None)
            for number, recommendation in enumerate(recommendations):
                if (number + index) % 4:
                    status = Status.values[(number + index) % 5]
                    make_assessment(recommendation, user, status)
    return reviewer


def test_the_dashboard_reads_at_1280_px_with_fifteen_organizations(live_server, browser_page):
    """By side, the table fits its box at 1280 px, each organization a chip named in words;
    a column per organization scrolls with the number and title kept in view."""
    from playwright.sync_api import expect

    reviewer = fifteen_organizations()
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in_through_the_form(page, f"{live_server.url}/accounts/login/", reviewer)
    expect(page.get_by_role("heading", name="Norway · TIP Report 2024")).to_be_visible()

    look(page, "dashboard-15-by-side-1280")
    assert_fits(page)
    first = page.locator("#results tbody tr").first
    expect(first.locator(".chip")).to_have_count(15)
    justice = first.locator(".chip", has_text="JD")
    assert justice.get_attribute("title").startswith("Justis- og beredskapsdepartementet: ")
    expect(justice.locator(".visually-hidden")).to_contain_text(
        "Justis- og beredskapsdepartementet"
    )
    assert first.locator(".chip", has_text="NMM").count() == 1  # initials of a name's words
    page.get_by_text("Who is who: 15 organizations").click()
    expect(page.locator(".org-key")).to_contain_text("KOM Koordineringsenheten for ofre")

    page.get_by_label("Columns").select_option("organizations")
    expect(page).to_have_url(re.compile(r"columns=organizations"))
    expect(page.locator("#results th.org")).to_have_count(15)
    box = page.locator("#results .table-wrap")
    assert page.evaluate("() => { const b = document.querySelector('#results .table-wrap');"
                         " return b.scrollWidth > b.clientWidth; }")  # fmt: skip
    title = page.locator("#results tbody tr th.title").first
    before = title.bounding_box()["x"]
    box.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    page.wait_for_timeout(100)
    assert abs(title.bounding_box()["x"] - before) < 1, "the title scrolled away"
    look(page, "dashboard-15-by-organization-1280-scrolled")

    # On a phone, and in Norwegian, the same two layouts.
    page.set_viewport_size({"width": 390, "height": 844})
    look(page, "dashboard-15-by-organization-390")
    page.get_by_role("button", name="Norsk").click()
    page.get_by_label("Kolonner").select_option("")
    expect(page.locator("#results th.org")).to_have_count(0)
    look(page, "dashboard-15-by-side-390-nb")
    page.set_viewport_size({"width": 1280, "height": 900})
    look(page, "dashboard-15-by-side-1280-nb")
    assert_fits(page)


def test_the_lineage_list_fits_beside_the_admin_menu_at_1280_px(live_server, browser_page):
    from playwright.sync_api import expect

    from .conftest import make_coordinator
    from .test_lineage import import_veldoria

    call_command("loaddata", *FIXTURES, verbosity=0)
    import_veldoria()
    coordinator = make_coordinator("lineage.coordinator")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    lineage = "/admin/recommendations/lineage/"
    log_in_through_the_form(page, f"{live_server.url}/accounts/login/?next={lineage}", coordinator)
    expect(page.locator("#result_list")).to_contain_text("Veldoria 2025 · 1. ")
    look(page, "admin-lineage-list-1280-fixed")
    wide, box = page.evaluate(
        "() => { const box = document.querySelector('#changelist .results');"
        " return [box.scrollWidth, box.clientWidth]; }"
    )
    assert wide <= box, f"the list is {wide} px wide in a {box} px box"
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert [h.strip().upper() for h in headers[1:]] == [
        "RECOMMENDATION",
        "CHANGE",
        "PREVIOUS",
        "SIMILARITY",
        "CONFIRMED",
    ]


def test_a_new_evidence_item_is_offered_only_its_reports_recommendations(live_server, browser_page):
    from .conftest import make_coordinator
    from .test_lineage import import_veldoria

    call_command("loaddata", *FIXTURES, verbosity=0)
    veldoria = import_veldoria()[2025]
    coordinator = make_coordinator("evidence.coordinator")
    page = browser_page
    add = "/admin/recommendations/evidenceitem/add/"
    log_in_through_the_form(page, f"{live_server.url}/accounts/login/?next={add}", coordinator)
    page.wait_for_url(re.compile(r"/evidenceitem/add/$"))
    offered = (
        "() => [...document.querySelectorAll(\"select[name='links-0-recommendation'] option\")]"
        ".filter(o => o.value && !o.disabled).map(o => o.dataset.report)"
    )
    everyone = page.evaluate(offered)
    assert len(set(everyone)) == 4  # Norway 2024 and Veldoria's three years, before a choice
    page.get_by_label("Report:").select_option(str(veldoria.pk))
    assert page.evaluate(offered) == [str(veldoria.pk)] * veldoria.recommendations.count()
    page.get_by_text("Add another Evidence link").click()
    second = page.evaluate(offered.replace("links-0-", "links-1-"))
    assert second == [str(veldoria.pk)] * veldoria.recommendations.count()


def test_single_sign_on_in_a_browser_and_log_out_at_the_provider(
    live_server, browser_page, provider
):
    """The whole round in Chromium: the log-in page's button, the provider's own log-in, back
    signed in; log-out ends the provider's session too (its page is outside the app's CSP)."""
    from playwright.sync_api import expect

    call_command("loaddata", *FIXTURES, verbosity=0)
    reviewer = make_user("sso.reviewer", make_organization("SSO Network"), first_name="Rita")
    reviewer.email = "reviewer@example.org"
    reviewer.save()
    provider.register(f"{live_server.url}/accounts/sign-on/callback/")
    page = browser_page
    refused = watch_csp(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/?next=/reports/norway-2024/")
    look(page, "login-with-single-sign-on-390")
    page.get_by_role("link", name="Sign in with Test provider").click()

    page.wait_for_url(re.compile(r"127\.0\.0\.1:\d+/accounts/login/"))  # the provider's page
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("provider-password")
    page.get_by_role("button", name="Sign in at the provider").click()

    page.wait_for_url(re.compile(r"/reports/norway-2024/$"))
    expect(page.locator(".account")).to_contain_text("Rita")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    # Signed out at the provider too: a new sign-in asks for the provider's password again.
    page.get_by_role("link", name="Sign in with Test provider").click()
    page.wait_for_url(re.compile(r"127\.0\.0\.1:\d+/accounts/login/"))
    assert not refused, refused
