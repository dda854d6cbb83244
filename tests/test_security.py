import csv
import io
import json
import zipfile
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Concat
from django.test import override_settings
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from recommendations import downloads
from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    Membership,
    Organization,
    Recommendation,
    ReviewCycle,
    Status,
)
from recommendations.publishing.snapshots import publish_snapshot

from .conftest import (
    ROOT,
    allow_publishing,
    as_the_owner,
    make_assessment,
    make_organization,
    make_user,
)

PASSWORD = "a-long-test-password"


# --- headers, CSP, cookies, sessions ---------------------------------------------------------


def test_pages_carry_security_headers(client, people):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_everything_behind_the_login_is_private_to_the_browser(client, people, norway):
    snapshot = publish_snapshot(norway, published_by=people["coordinator"], title="Private")
    client.force_login(people["observer"])
    paths = [
        "/reports/norway-2024/",
        "/reports/norway-2024/recommendations/1/",
        "/reports/norway-2024/source/",
        "/reports/norway-2024/snapshots/",
        f"/reports/norway-2024/snapshots/{snapshot.pk}/",
        "/ping/",
        "/accounts/password_change/",
        *(f"/reports/norway-2024/export.{extension}" for extension in ("csv", "xlsx", "json")),
        "/reports/norway-2024/export.csv?table=history",
        f"/reports/norway-2024/snapshots/{snapshot.pk}/export.json",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "private" in response["Cache-Control"], path
        assert "Cookie" in response["Vary"], path
    # The status colours are the same for everyone and may be cached anywhere.
    assert "public" in client.get("/status.css")["Cache-Control"]


def test_no_template_needs_unsafe_inline():
    """The CSP allows no inline script or style; the PDF layout is not served to browsers."""
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        if "exports" in template.parts:
            continue
        text = template.read_text()
        for marker in ("<script>", "<style", " style=", "onclick=", "onload=", "javascript:"):
            if marker in text:
                offenders.append(f"{template.relative_to(ROOT)}: {marker}")
    assert not offenders


def test_login_sessions_expire(client, people):
    response = client.post("/accounts/login/", {"username": "ngo", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["max-age"] == ""  # ends with the browser session…
    session = Session.objects.get()
    lifetime = session.expire_date - timezone.now()
    assert timedelta(hours=7, minutes=59) < lifetime <= timedelta(hours=8)  # …or after 8 hours

    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/reports/norway-2024/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_logout_is_a_post(client, people):
    client.force_login(people["ngo"])
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/reports/norway-2024/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/reports/norway-2024/").status_code == 302


def test_weak_passwords_are_refused(client, people):
    user = people["ngo"]
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "password1", "new_password2": "password1"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "too short" in page and "too common" in page
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- login throttling ------------------------------------------------------------------------


def test_repeated_failed_logins_lock_the_account_until_a_coordinator_unlocks_it(client, norway):
    make_user("target", make_organization("NGO"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/", {"username": "target", "password": "guess"})
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    response = client.post("/accounts/login/", {"username": "target", "password": "guess"})
    assert response.status_code == 429
    # Locked: even the right password is refused, with a clear message.
    response = client.post("/accounts/login/", {"username": "target", "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins" in page
    assert "ask a coordinator to unlock it" in page
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not affected.
    make_user("colleague", make_organization("Other NGO"))
    response = client.post("/accounts/login/", {"username": "colleague", "password": PASSWORD})
    assert response.status_code == 302

    # A coordinator unlocks (the admin's "Access attempts" list, or this command).
    client.logout()
    assert AccessAttempt.objects.filter(username="target").exists()
    call_command("axes_reset_username", "target", verbosity=0)
    response = client.post("/accounts/login/", {"username": "target", "password": PASSWORD})
    assert response.status_code == 302


def test_coordinators_see_lockouts_in_admin(client, norway, superuser):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "someone", "password": "guess"})
    client.force_login(superuser)
    page = client.get("/admin/axes/accessattempt/").content.decode()
    assert "someone" in page


# --- audit trail -----------------------------------------------------------------------------


def test_coordinator_edits_are_recorded_with_who_and_what(client, norway, superuser):
    client.force_login(superuser)
    recommendation = Recommendation.objects.get(number=3)
    old_title = recommendation.short_title
    response = client.post(
        f"/admin/recommendations/recommendation/{recommendation.pk}/change/",
        {
            "report": norway.pk,
            "number": 3,
            "text": recommendation.text,
            "short_title": "Assistance for every victim",
            "pillar": recommendation.pillar,
            "start_offset": recommendation.start_offset,
            "end_offset": recommendation.end_offset,
            **inline_management("evidence_links", recommendation),
            # The responsibility inline, left empty.
            "responsibility-TOTAL_FORMS": "0",
            "responsibility-INITIAL_FORMS": "0",
            "responsibility-MIN_NUM_FORMS": "0",
            "responsibility-MAX_NUM_FORMS": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    baseline, record = recommendation.history.order_by("history_date", "history_id")
    assert baseline.short_title == old_title  # the fixture-loaded state, recorded first
    assert record.history_user == superuser
    assert record.history_type == "~"
    delta = record.diff_against(record.prev_record)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("short_title", old_title, "Assistance for every victim")
    ]
    page = client.get(
        f"/admin/recommendations/recommendation/{recommendation.pk}/history/"
    ).content.decode()
    assert "Assistance for every victim" in page
    assert old_title in page
    assert "root" in page


def inline_management(prefix: str, recommendation: Recommendation) -> dict:
    links = list(recommendation.evidence_links.order_by("pk"))
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(links)),
        f"{prefix}-INITIAL_FORMS": str(len(links)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, link in enumerate(links):
        data.update(
            {
                f"{prefix}-{index}-id": link.pk,
                f"{prefix}-{index}-recommendation": recommendation.pk,
                f"{prefix}-{index}-evidence": link.evidence_id,
                f"{prefix}-{index}-stance": link.stance,
            }
        )
    return data


def test_membership_and_organization_changes_are_audited(norway):
    ngo = make_organization("NGO")
    user = make_user("reviewer", ngo)
    membership = user.membership
    membership.role = Membership.Role.OBSERVER
    membership.save()
    ngo.name = "Renamed NGO"
    ngo.save()
    assert [h.role for h in membership.history.order_by("history_date")] == [
        "REVIEWER",
        "OBSERVER",
    ]
    assert [h.name for h in ngo.history.order_by("history_date", "history_id")] == [
        "NGO",
        "Renamed NGO",
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_change_or_delete_assessments(norway, people):
    assessment = make_assessment(Recommendation.objects.get(number=1), people["ngo"])
    assessment.cited_evidence.set(EvidenceItem.objects.order_by("pk")[:1])
    snapshot = publish_snapshot(norway, published_by=people["coordinator"], title="Frozen")
    statements = [
        (
            "UPDATE recommendations_assessment SET status = 'IMPLEMENTED' WHERE id = %s",
            assessment.pk,
        ),
        ("DELETE FROM recommendations_assessment WHERE id = %s", assessment.pk),
        (
            "DELETE FROM recommendations_assessment_cited_evidence WHERE assessment_id = %s",
            assessment.pk,
        ),
        ("UPDATE recommendations_snapshot SET content = '{}' WHERE id = %s", snapshot.pk),
        ("DELETE FROM recommendations_snapshot WHERE id = %s", snapshot.pk),
    ]
    for sql, pk in statements:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            as_the_owner(),  # the app role may not even try (test_database_roles)
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    assessment.refresh_from_db()
    assert assessment.status == Status.IN_PROGRESS
    assert assessment.cited_evidence.count() == 1
    snapshot.refresh_from_db()
    assert not snapshot.problems()
    # An evidence item that an assessment cites cannot be deleted from under it either.
    with pytest.raises(DatabaseError), transaction.atomic():
        EvidenceItem.objects.filter(pk=assessment.cited_evidence.get().pk).delete()


# --- escaping: hostile text is inert everywhere ----------------------------------------------

PAYLOADS = [
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]
FORMULA_STARTS = ("=", "+", "-", "@")
SPREADSHEET_STARTS = (*FORMULA_STARTS, "\t", "\r")
CYCLE_PAYLOAD = '=HYPERLINK("http://e.x","c") '  # a review cycle's name holds 40 characters


@pytest.fixture
def hostile(norway):
    """Every field a user or coordinator can type holds a payload."""
    payload = " ".join(PAYLOADS)
    organization = Organization.objects.create(
        name=f"NGO {PAYLOADS[1]}", short_name=PAYLOADS[0][:40], kind=Organization.Kind.NGO
    )
    author = make_user("hostile", organization, first_name=PAYLOADS[2][:150], last_name="<b>x</b>")
    # Names that become column headings (an organization's) or cells of their own begin with a
    # formula: the organization, its reviewer, the report's country.
    government = make_user(
        "gov",
        make_organization(PAYLOADS[4], kind=Organization.Kind.GOVERNMENT),
        first_name=PAYLOADS[6],
        last_name=PAYLOADS[5],
    )
    other = make_user("other", make_organization(PAYLOADS[5], kind=Organization.Kind.OTHER))
    item = EvidenceItem.objects.order_by("pk").first()
    item.note = payload
    item.save()
    norway.title, norway.source_name, norway.country = PAYLOADS[4], PAYLOADS[5], PAYLOADS[7]
    norway.save()
    ReviewCycle.objects.update(name=Concat(Value(CYCLE_PAYLOAD), "pk"))
    first = Recommendation.objects.get(number=1)
    first.short_title = PAYLOADS[6][:80]
    first.save()
    for number, text in enumerate(PAYLOADS, start=1):
        if number > 10:
            break
        r = Recommendation.objects.get(number=number)
        make_assessment(r, author, status=Status.NO_PROGRESS, rationale=text)
        make_assessment(r, government, status=Status.IN_PROGRESS, rationale=text)
        make_assessment(r, other, status=Status.REGRESSED, rationale=text)
        Comment.objects.create(
            recommendation=r, organization=organization, author=author, body=text
        )
    return author


def assert_inert(html: str) -> None:
    for dangerous in ("<script>alert", "<img src=x", "<svg/onload", "<b>x</b>"):
        assert dangerous not in html


def test_hostile_text_is_escaped_on_every_page(client, norway, hostile):
    client.force_login(hostile)
    snapshot = publish_snapshot(norway, published_by=allow_publishing(hostile), title=PAYLOADS[0])
    pages = [
        "/reports/norway-2024/",
        "/reports/norway-2024/source/",
        "/reports/norway-2024/snapshots/",
        snapshot.get_absolute_url(),
        "/reports/norway-2024/?q=" + PAYLOADS[0],
        "/reports/norway-2024/?status=" + PAYLOADS[1],
    ] + [f"/reports/norway-2024/recommendations/{n}/" for n in range(1, 11)]
    for page in pages:
        response = client.get(page)
        assert response.status_code in (200, 400), page
        assert_inert(response.content.decode())
    html = client.get("/reports/norway-2024/recommendations/1/").content.decode()
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html  # shown, as text


def assert_no_formula(xlsx: bytes, where: str, filtered: bool = False) -> None:
    """Every cell of every sheet, headings included, is a value: no formula in the cells or the
    sheet XML, and text that begins like a formula carries the quote prefix (kept as text
    when someone edits the cell)."""
    workbook = load_workbook(io.BytesIO(xlsx))
    assert [sheet.title for sheet in workbook.worksheets] == [
        "Summary",
        "History",
        "Evidence",
        "About",
    ]
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where} {sheet.title}!{cell.coordinate}"
                if isinstance(cell.value, str) and cell.value.startswith(SPREADSHEET_STARTS):
                    assert cell.data_type == "s", f"{where} {sheet.title}!{cell.coordinate}"
                    assert cell.quotePrefix, f"{where} {sheet.title}!{cell.coordinate}"
    headings = [cell.value for cell in workbook["Summary"][1]]
    if not filtered:  # the organizations', which a filter may leave out
        assert PAYLOADS[4] in headings and PAYLOADS[5] in headings, where
    about = dict(workbook["About"].values)
    assert about["Country"] == PAYLOADS[7], where
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), f"{where} {name}"


def test_every_sheet_of_every_spreadsheet_holds_text_not_formulas(client, norway, hostile):
    """Payloads in every stored text field (the About sheet included: report title, review
    cycle, the exporting user's name, the filters) and control characters in a filter."""
    coordinator = allow_publishing(hostile)
    coordinator.is_staff = True
    coordinator.save()
    snapshot = publish_snapshot(norway, published_by=coordinator, title=PAYLOADS[4])
    client.force_login(coordinator)
    query = urlencode({"q": "\x01\x0b" + PAYLOADS[4], "pillar": "PROSECUTION"})
    live = client.get(f"/reports/norway-2024/export.xlsx?{query}")
    assert live.status_code == 200
    assert_no_formula(live.content, "filtered export", filtered=True)
    about = dict(load_workbook(io.BytesIO(live.content))["About"].values)
    assert about["Report"] == PAYLOADS[4] and about["Review cycle"].startswith(CYCLE_PAYLOAD)
    assert about["Generated by"].startswith(PAYLOADS[2][:20])
    assert PAYLOADS[4] in about["Filters"]
    assert_no_formula(client.get("/reports/norway-2024/export.xlsx").content, "export")
    snapshot_xlsx = client.get(f"/reports/norway-2024/snapshots/{snapshot.pk}/export.xlsx")
    assert_no_formula(snapshot_xlsx.content, "snapshot export")
    snapshot_csv = client.get(f"/reports/norway-2024/snapshots/{snapshot.pk}/export.csv")
    heading = next(csv.reader(io.StringIO(snapshot_csv.content.decode("utf-8-sig"))))
    assert "'" + PAYLOADS[4] in heading and "'" + PAYLOADS[5] in heading
    assert not any(cell.startswith(SPREADSHEET_STARTS) for cell in heading)

    coordinator.is_superuser = True  # for the admin actions
    coordinator.save()
    for changelist, selected, action in (
        ("recommendations_report", norway.pk, "download_xlsx"),
        ("recommendations_snapshot", snapshot.pk, "download_xlsx"),
    ):
        response = client.post(
            f"/admin/recommendations/{changelist.split('_')[1]}/",
            {"action": action, "_selected_action": [selected]},
        )
        assert response.status_code == 200, changelist
        assert_no_formula(response.content, f"admin {changelist}")


def test_hostile_text_is_inert_in_every_export(client, hostile):
    client.force_login(hostile)
    base = "/reports/norway-2024/export."

    summary = client.get(base + "csv").content.decode("utf-8-sig")
    history = b"".join(client.get(base + "csv?table=history").streaming_content).decode("utf-8-sig")
    for text in (summary, history):
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), cell
    assert "'=HYPERLINK(" in history  # the rationale, kept as text

    workbook = load_workbook(io.BytesIO(client.get(base + "xlsx").content))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}"
    assert any(
        cell.value == PAYLOADS[4]
        for row in workbook["History"].iter_rows()
        for cell in row
        if cell.data_type == "s"
    )

    document = json.loads(client.get(base + "json").content)
    assert {a["rationale"] for a in document["assessments"]} >= set(PAYLOADS)  # data, verbatim

    pdf = PdfReader(io.BytesIO(client.get(base + "pdf").content))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "alert('xss')" in " ".join(text.split())  # printed as text, not interpreted
    assert "/JavaScript" not in str(pdf.trailer["/Root"])


# --- error pages -----------------------------------------------------------------------------


def test_server_errors_get_the_apps_page(client, people, monkeypatch):
    client.raise_request_exception = False
    client.force_login(people["ngo"])

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(downloads, "build_document", explode)
    response = client.get("/reports/norway-2024/export.json")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "boom" not in page and "Traceback" not in page


@override_settings(DEBUG=False)
def test_not_found_and_forbidden_pages_are_the_apps(client, people):
    client.force_login(people["observer"])
    response = client.get("/reports/no-such-report/")
    assert response.status_code == 404
    assert "TIP recommendation tracker" in response.content.decode()
    response = client.post("/reports/norway-2024/recommendations/1/assess/", {})
    assert response.status_code == 403
    assert "You cannot do that" in response.content.decode()
    assert not Assessment.objects.exists()


def test_throttling_counts_the_client_behind_trusted_proxies(rf, settings):
    from tracker.client_ip import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"  # no proxy trusted: the header is the client's word
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # what our proxy saw, not what the client wrote
