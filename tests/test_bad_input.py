"""Arbitrary and hostile input across every URL: whatever arrives, the answer is a clear 4xx (or
success), never a 5xx, and nothing partial is written.

The property tests of a single form live with their view: test_assess.py, test_comments.py."""

import csv
import io
import json
import operator
import re
from functools import partial
from urllib.parse import quote_from_bytes

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from hypothesis import HealthCheck, event, example, given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from recommendations.filters import RecommendationFilter
from recommendations.forms import (
    AssessmentForm,
    CommentForm,
    CompareSnapshotsForm,
    LoginForm,
    PublishSnapshotForm,
)
from recommendations.importer import import_report
from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    Organization,
    Recommendation,
    Report,
    Status,
)
from recommendations.publishing.csv import neutralise_formula
from recommendations.publishing.snapshots import publish_snapshot
from recommendations.rules.writing import assess
from tracker.request import Request

from .conftest import ANY_TEXT, EXAMPLES, HOSTILE_TEXT, HTMX, examples
from .test_permissions import admin_paths, app_urls, concrete_url

FILTER_KEYS = st.sampled_from(["q", "status", "pillar", "kind", "divergent", "table", "page", "x"])


@EXAMPLES
@given(query=st.lists(st.tuples(FILTER_KEYS, HOSTILE_TEXT), max_size=5))
def test_filters_and_exports_take_any_query_string(client, people, query):
    client.force_login(people["ngo"])
    for path in ("/reports/norway-2024/", "/reports/norway-2024/export.csv"):
        response = client.get(path, query, follow=True)  # the dashboard drops empty values
        assert response.status_code in (200, 400), (path, query)


def test_malformed_query_strings_are_answered(client, people):
    client.force_login(people["ngo"])
    for raw in ("status=%ZZ", "q=%00", "pillar[]=1&pillar=PROTECTION", "&&==&", "q=" + "a" * 5000):
        for path in ("/reports/norway-2024/", "/reports/norway-2024/export.json"):
            response = client.get(f"{path}?{raw}", follow=True)
            assert response.status_code in (200, 400), (path, raw)


@examples(8, 150, suppress_health_check=list(HealthCheck))
@given(rationale=HOSTILE_TEXT.filter(lambda text: text.strip() and "\x00" not in text))
@example(rationale="0\r\n")  # CR LF comes back from a spreadsheet as LF
def test_every_export_carries_any_stored_text(client, people, rationale):
    """Text that passed the form comes back from CSV, XLSX and JSON (PDF: see test_exports)."""
    recommendation = Recommendation.objects.get(number=4)
    Assessment.objects.create(
        recommendation=recommendation,
        cycle_id=1,
        organization=people["ngo"].membership.organization,
        author=people["ngo"],
        status=Status.IN_PROGRESS,
        rationale=rationale,
    )
    client.force_login(people["ngo"])
    base = "/reports/norway-2024/export."
    document = json.loads(client.get(base + "json").content)
    assert document["recommendations"][3]["positions"][0]["rationale"] == rationale

    history = b"".join(client.get(base + "csv?table=history").streaming_content)
    rows = list(csv.DictReader(io.StringIO(history.decode("utf-8-sig"), newline="")))
    # Hypothesis runs its examples on one database: the newest assessment is this example's.
    assert rows[-1]["Rationale"] == neutralise_formula(rationale)

    response = client.get(base + "xlsx")
    assert response.status_code == 200
    history_sheet = load_workbook(io.BytesIO(response.content))["History"]
    value = history_sheet.cell(row=history_sheet.max_row, column=10).value
    # Spreadsheet cells hold line breaks as LF and no XML-illegal control codes.
    expected = ILLEGAL_CHARACTERS_RE.sub("\ufffd", re.sub(r"\r\n?", "\n", rationale))
    assert value == expected


# --- files and commands ----------------------------------------------------------------------


@examples(30, 200, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=2000), ANY_TEXT.map(str.encode)))
def test_import_refuses_garbage_and_writes_nothing(tmp_path_factory, db, data):
    path = tmp_path_factory.mktemp("import") / "chapter.txt"
    path.write_bytes(data)
    with pytest.raises(CommandError, match="refused to import"):
        call_command("import_tip_report", str(path), country="Norway", year=2024, verbosity=0)
    assert not Report.objects.exists()
    assert not Organization.objects.exists()


def test_a_truncated_or_mis_encoded_chapter_is_refused(tmp_path, db, seed_bytes):
    for name, data in {
        "truncated.txt": seed_bytes[: len(seed_bytes) // 3],
        "latin1.txt": seed_bytes.decode("utf-8").encode("latin-1", errors="replace"),
        "utf16.txt": seed_bytes.decode("utf-8").encode("utf-16"),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CommandError) as refused:
            call_command("import_tip_report", str(path), country="Norway", year=2024)
        assert name in str(refused.value)
        assert not Report.objects.exists()


@pytest.fixture
def sweden_evidence(norway, seed_bytes) -> EvidenceItem:
    """A second report (the same chapter, renamed) with one evidence item."""
    text = seed_bytes.decode("utf-8").replace("Norway", "Sweden").replace("NORWAY", "SWEDEN")
    sweden = import_report(text.encode(), name="renamed", country="Sweden", year=2024).report
    section = sweden.sections.order_by("position").last()
    start = section.start_offset
    return EvidenceItem.objects.create(
        report=sweden,
        section=section,
        quote=sweden.source_text[start : start + 40],
        start_offset=start,
        end_offset=start + 40,
    )


def test_ids_from_another_report_are_refused_everywhere(client, people, sweden_evidence):
    client.force_login(people["ngo"])
    url = "/reports/norway-2024/recommendations/1/"
    response = client.post(
        url + "assess/",
        {"status": "IMPLEMENTED", "rationale": "Cites Sweden", "evidence": [sweden_evidence.pk]},
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    response = client.post(url + "comments/", {"body": "x", "evidence": sweden_evidence.pk})
    assert response.status_code == 422
    assert not Assessment.objects.exists() and not Comment.objects.exists()
    # The model refuses too, whatever form is in front of it.
    with pytest.raises(ValidationError, match="linked to this recommendation"):
        assess(
            Recommendation.objects.get(report__slug="norway-2024", number=1),
            author=people["ngo"],
            status="IMPLEMENTED",
            rationale="x",
            evidence=[sweden_evidence],
        )
    assert not Assessment.objects.exists()
    # A snapshot of one report cannot be compared with another report's.
    norway = Report.objects.get(slug="norway-2024")
    sweden = sweden_evidence.report
    coordinator = people["coordinator"]
    ours = publish_snapshot(norway, published_by=coordinator, title="N")
    theirs = publish_snapshot(sweden, published_by=coordinator, title="S")
    response = client.get(
        "/reports/norway-2024/snapshots/compare/", {"older": ours.pk, "newer": theirs.pk}
    )
    assert response.status_code == 400
    assert client.get(f"/reports/norway-2024/snapshots/{theirs.pk}/").status_code == 404


# --- what the client sends is parsed before it reaches the database ---------------------------


def test_a_username_longer_than_the_database_holds_is_refused_by_the_login_form(client, norway):
    """django-axes records a failed log-in's username in a CharField(255): a longer one was a
    database error on PostgreSQL. The form refuses it first (NFKC can lengthen a username:
    each "ﷺ" becomes 18 characters), and the page says why."""
    for path in ("/accounts/login/", "/admin/login/"):
        for username in ("u" * 300, "ﷺ" * 20, "ngo" + "x" * 148):
            response = client.post(path, {"username": username, "password": "wrong"})
            assert response.status_code == 200, (path, username)
            assert "at most 150 characters" in response.content.decode(), (path, username)
    assert not AccessAttempt.objects.exists()  # nothing reached django-axes
    # What reaches it is counted and locked out as before.
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "someone", "password": "wrong"})
    assert response.status_code == 429


def test_a_form_in_another_charset_is_a_400_that_says_so(people):
    """Django reads urlencoded forms as UTF-8 only and refuses others (BadRequest); its default
    400 and 500 pages read the body again through the CSRF check and raised again: a 500."""
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # the CSRF cookie
    token = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    body = "username=ngo&password=a-long-test-password".encode("utf-16")
    for charset in ("utf-16", "latin-1"):
        content_type = f"application/x-www-form-urlencoded; charset={charset}"
        for path in ("/accounts/login/", "/reports/norway-2024/recommendations/1/assess/"):
            response = client.generic("POST", path, body, content_type, **token)
            assert response.status_code == 400, (charset, path)
            assert "UTF-8" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_numbers_are_ascii_digits_only(client, people, norway):
    """int() takes the digits of every script ("١٢" is 12) and str.isdigit() passes "²",
    which int() refuses; a number with thousands of digits is refused by int() too. Page
    numbers and ids are ASCII digits, within the database's range."""
    client.force_login(people["ngo"])
    page = "/reports/norway-2024/recommendations/1/"
    for history_page in ("²", "١٢", "１", "1" * 5000, "-1", "+1", " 1"):
        response = client.get(page, {"history_page": history_page})
        assert response.status_code == 400, history_page
        assert "history_page must be a page number" in response.content.decode()
    evidence = Recommendation.objects.get(report=norway, number=1).citable_evidence().first()
    for wrong in ("١", "²", "٣" * 2, "9" * 30, "1" * 5000, "-1"):
        response = client.post(
            page + "assess/",
            {"status": "IN_PROGRESS", "rationale": "r", "evidence": [str(evidence.pk), wrong]},
        )
        assert response.status_code == 422, wrong
        assert "Select a valid choice" in response.content.decode()
        response = client.post(
            page + "assess/", {"status": "IN_PROGRESS", "rationale": "r", "based_on": wrong}
        )
        assert response.status_code == 422, wrong
        assert "This form was damaged or is out of date" in response.content.decode()
        response = client.post(page + "comments/", {"body": "b", "evidence": wrong})
        assert response.status_code == 422, wrong
        assert "Select a valid choice" in response.content.decode()
        response = client.get(
            "/reports/norway-2024/snapshots/compare/", {"older": wrong, "newer": "1"}
        )
        assert response.status_code == 400, wrong
    assert not Assessment.objects.exists() and not Comment.objects.exists()


def test_a_search_the_database_cannot_run_is_refused_with_a_reason(client, people):
    """Each word of ?q= is a condition: thousands of words were too deep an expression for
    SQLite (a 500) and took seconds on PostgreSQL; a pattern over 50,000 bytes is too complex
    for SQLite's LIKE."""
    client.force_login(people["ngo"])
    for q in ("a " * 600, "x" * 100_000):
        for path in ("/reports/norway-2024/", "/reports/norway-2024/export.csv"):
            response = client.get(path, {"q": q})
            assert response.status_code == 400, (path, len(q))
    page = client.get("/reports/norway-2024/", {"q": "a " * 600}).content.decode()
    assert "Search for at most" in page
    page = client.get("/reports/norway-2024/export.csv", {"q": "x" * 1000}).content.decode()
    assert "at most 300 characters" in page
    # The longest search that fits is answered; a whole recommendation finds it.
    longest = max(Recommendation.objects.all(), key=lambda r: len(r.text))
    for q in (" ".join(["ab"] * 50), longest.text):
        for path in ("/reports/norway-2024/", "/reports/norway-2024/export.csv"):
            assert client.get(path, {"q": q}).status_code == 200


# --- every URL: whatever a client sends is answered below 500 ----------------------------------
#
# The requests are made as a server hands them to Django: the CSRF check is on (it reads the form
# before any view does) and each request is built by tracker.request.Request, as tracker/wsgi.py
# builds them in production.

TOKEN = "csrf" * 8  # a CSRF secret: the cookie and the header (or form field) agree

# Every field of the app's forms and filters, the parameters its views read, and the admin's.
KNOWN_KEYS = sorted(
    {
        *AssessmentForm.base_fields,
        *CommentForm.base_fields,
        *PublishSnapshotForm.base_fields,
        *CompareSnapshotsForm.base_fields,
        *RecommendationFilter.base_filters,
        *LoginForm.base_fields,
        *PasswordChangeForm.base_fields,
        *("history_page", "table", "next", "csrfmiddlewaretoken"),
        *("p", "o", "e", "all", "_changelist_filters", "_popup", "_to_field", "action"),
        *("_selected_action", "status__exact", "organization__id__exact"),
    }
)
PLAUSIBLE = [
    *("", "1", "2", "0", "IN_PROGRESS", "IMPLEMENTED", "NOT_ASSESSED", "NGO", "GOVERNMENT"),
    *("true", "false", "history", "summary", "PROTECTION", "ngo", "a-long-test-password"),
    *("/reports/norway-2024/", "//evil.example/", "javascript:alert(1)", TOKEN),
]
EVERY_CHARACTER = st.characters(exclude_categories=())  # every category, lone surrogates too
UNICODE = st.text(EVERY_CHARACTER, max_size=30)
VALUES = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.sampled_from(PLAUSIBLE),
    UNICODE,
    st.text(st.characters(categories=["Nd", "Nl", "No"]), min_size=1, max_size=6),  # ٣, ², ½
    st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp"]), min_size=1, max_size=6),
    st.integers(-(10**30), 10**30).map(str),
    st.builds(operator.mul, EVERY_CHARACTER, st.sampled_from([151, 256, 301, 5_001, 100_000])),
    st.integers(1, 3_000).map(lambda n: "a " * n),  # many words
    HOSTILE_TEXT,
)
PAIRS = st.lists(st.tuples(st.one_of(st.sampled_from(KNOWN_KEYS), UNICODE), VALUES), max_size=6)
# Header text as a server passes it on: Latin-1, no control characters (gunicorn refuses them).
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=30
)
CHARSETS = st.one_of(
    st.sampled_from(["utf-8", "UTF-8", "utf-16", "utf-16-le", "utf-32", "latin-1", "ascii"]),
    st.sampled_from(["cp1252", "shift_jis", "utf-7", "idna", "rot13", "base64", "nonsense", ""]),
    HEADER_TEXT,
)
MEDIA_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
            "application/json",
            "application/octet-stream",
            "",
        ]
    ),
    HEADER_TEXT,
)
METHODS = st.sampled_from(["GET", "GET", "GET", "POST", "POST", "POST", "POST", "HEAD", "PUT"])


def as_bytes(text: str, codec: str = "utf-8") -> bytes:
    """The bytes a client sends for the text: in the codec when it can, else UTF-8 with lone
    surrogates encoded as they stand."""
    try:
        encoded = text.encode(codec)
    except (UnicodeError, LookupError):
        return text.encode("utf-8", "surrogatepass")
    return encoded if isinstance(encoded, bytes) else text.encode("utf-8", "surrogatepass")


def urlencoded(pairs, percent: bool, codec: str = "utf-8") -> bytes:
    """Pairs as a query string or form body: percent-encoded, or raw bytes as they are."""
    if percent:
        quote = partial(quote_from_bytes, safe="")
        return "&".join(
            f"{quote(as_bytes(k, codec))}={quote(as_bytes(v, codec))}" for k, v in pairs
        ).encode()
    return b"&".join(as_bytes(k, codec) + b"=" + as_bytes(v, codec) for k, v in pairs)


def multipart(pairs, boundary: bytes, codec: str, filename: bool) -> bytes:
    parts = []
    for key, value in pairs:
        disposition = b'form-data; name="' + as_bytes(key, codec) + b'"'
        if filename:
            disposition += b'; filename="' + as_bytes(value[:50], codec) + b'"'
        header = b"Content-Disposition: " + disposition + b"\r\n\r\n"
        parts.append(b"--" + boundary + b"\r\n" + header + as_bytes(value, codec) + b"\r\n")
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


BODIES = {  # the media type each kind of body is sent with, unless the test mixes them up
    "urlencoded": "application/x-www-form-urlencoded",
    "percent-encoded": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=BoUnDaRy",
    "file": "multipart/form-data; boundary=BoUnDaRy",
    "json": "application/json",
    "bytes": "application/octet-stream",
    "none": "",
}
CONTENT_TYPE_PARAMETERS = st.sampled_from(
    [
        "boundary=BoUnDaRy",
        "boundary=",
        "boundary=other",
        "name*=no-such-charset''x",  # RFC 2231 in a charset Python does not know
        "boundary=" + "b" * 10_001,  # over Django's limit for the header
    ]
)


@st.composite
def requests(draw, paths: list[str]) -> dict:
    """Arguments for Client.generic(): a method, a path (now and then with a segment of
    arbitrary bytes), a query string, a body and its Content-Type with a charset (mostly a
    body of the declared type, sometimes not), a CSRF token (mostly), HTMX or not."""
    app = [path for path in paths if not path.startswith("/admin/")]
    path = draw(st.sampled_from(app) if draw(st.integers(0, 4)) else st.sampled_from(paths))
    if draw(st.integers(0, 9)) == 0:
        segments = path.split("/")
        where = draw(st.integers(1, max(1, len(segments) - 2)))
        segments[where] = quote_from_bytes(as_bytes(draw(UNICODE)), safe="")
        path = "/".join(segments)
    query = urlencoded(draw(PAIRS), percent=draw(st.booleans()))
    query += draw(st.sampled_from([b"", b"&%", b"&%ZZ", b"&q=%E2%82", b"&%ED%A0%80=1", b"&&=="]))

    pairs = draw(PAIRS)
    csrf = draw(st.sampled_from(["header", "header", "header", "field", "none"]))
    if csrf == "field":
        pairs.append(("csrfmiddlewaretoken", TOKEN))
    charset = draw(st.none() | CHARSETS)
    codec = charset or "utf-8"
    kind = draw(st.sampled_from(sorted(BODIES)))
    data = {
        "urlencoded": lambda: urlencoded(pairs, percent=False, codec=codec),
        "percent-encoded": lambda: urlencoded(pairs, percent=True, codec=codec),
        "multipart": lambda: multipart(pairs, b"BoUnDaRy", codec, filename=False),
        "file": lambda: multipart(pairs, b"BoUnDaRy", codec, filename=True),
        "json": lambda: json.dumps(dict(pairs)).encode("utf-8", "surrogatepass"),
        "bytes": lambda: draw(st.binary(max_size=300)),
        "none": lambda: b"",
    }[kind]()
    content_type = [BODIES[kind] if draw(st.integers(0, 3)) else draw(MEDIA_TYPES)]
    if charset is not None:
        content_type.append(f"charset={charset}")
    content_type += draw(st.lists(CONTENT_TYPE_PARAMETERS | HEADER_TEXT, max_size=2))

    headers = {"HTTP_X_CSRFTOKEN": TOKEN} if csrf == "header" else {}
    if draw(st.booleans()):
        headers |= HTMX
    return {
        "method": draw(METHODS),
        "path": path,
        "data": data,
        "QUERY_STRING": query.decode("latin-1"),  # as WSGI passes the raw bytes
        "CONTENT_TYPE": "; ".join(content_type),
        **headers,
    }


@pytest.fixture
def every_path(people, superuser, monkeypatch) -> list[str]:
    """Every URL of the app, made concrete, then a sample of the admin's."""
    monkeypatch.setattr("django.test.client.WSGIRequest", Request)  # as tracker/wsgi.py does
    norway = Report.objects.get(slug="norway-2024")
    publish_snapshot(norway, published_by=superuser, title="First")
    publish_snapshot(norway, published_by=superuser, title="Second")
    admin = {
        "admin:index",
        "admin:login",
        "admin:logout",
        "admin:password_change",
        "admin:recommendations_assessment_changelist",
        "admin:recommendations_evidenceitem_change",
        "admin:auth_user_changelist",
    }
    paths = [concrete_url(name) for name in app_urls()]
    return paths + [path for name, path in admin_paths() if name in admin]


def answer(client: Client, role: str, user, request: dict) -> int:
    """Send the request as the role; the status, after reading a streamed body to its end."""
    client.cookies["csrftoken"] = TOKEN
    if role == "reviewer":
        client.force_login(user)
    response = client.generic(**request)
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


@examples(100, 2000)
@given(data=st.data(), role=st.sampled_from(["anonymous", "reviewer"]))
def test_nothing_a_client_sends_to_any_url_gives_a_server_error(every_path, people, data, role):
    """Any method, query string, form fields, body, Content-Type and charset, to every URL, as
    an anonymous user or a reviewer: the answer is below 500."""
    client = Client(enforce_csrf_checks=True)
    request = data.draw(requests(every_path))
    status = answer(client, role, people["ngo"], request)
    event(f"{request['method']} {role} {status}")
    assert status < 500, request


def test_every_field_of_every_url_takes_100_kb(every_path, people):
    """Each known parameter and form field at 100 kB, all at once, to every URL: in form
    bodies, in two parts below Django's 2.5 MB limit (over it is a 400 of its own), and in the
    query string (to the app's pages as the reviewer; anonymous users and the admin send every
    page to a log-in page with the address, alike, so a sample of those)."""
    client = Client(enforce_csrf_checks=True)
    value = "x" * 99_990 + "é٣😀"  # 100 kB in UTF-8
    fields = [(key, value) for key in KNOWN_KEYS if key != "csrfmiddlewaretoken"]
    half = len(fields) // 2
    query = urlencoded(fields, percent=True).decode()
    # The same two bodies to every URL: encoded once (two megabytes each).
    bodies = [urlencoded(fields[:half], percent=False), urlencoded(fields[half:], percent=False)]
    wrong = []
    for path in every_path:
        for role in ("anonymous", "reviewer"):
            sends = [("POST", "", bodies[0]), ("POST", "", bodies[1])]
            if path in ("/accounts/login/", "/ping/", "/admin/") or (
                role == "reviewer" and not path.startswith("/admin/")
            ):
                sends.append(("GET", query, b""))
            for method, query_string, body in sends:
                request = {
                    "method": method,
                    "path": path,
                    "data": body,
                    "CONTENT_TYPE": "application/x-www-form-urlencoded",
                    "QUERY_STRING": query_string,
                    "HTTP_X_CSRFTOKEN": TOKEN,
                }
                status = answer(client, role, people["ngo"], request)
                if status >= 500:
                    wrong.append(f"{method} {path} as {role}: {status}")
    assert not wrong, "\n".join(wrong)
