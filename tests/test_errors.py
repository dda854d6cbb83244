"""The app's error pages: 400, 403, 404 and 500 say in plain words what was wrong, to anyone,
without reading the request body (which may be what could not be read) and without needing the
database. What the client sends never gives a 5xx: test_bad_input.py sends it everything."""

import io

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import DatabaseError
from django.http import Http404
from django.test import Client, RequestFactory, override_settings
from django.urls import get_resolver

from recommendations.views import errors
from tracker.request import Request

from .conftest import HTMX

UTF16_FORM = "application/x-www-form-urlencoded; charset=utf-16"


def csrf_client(user=None) -> tuple[Client, dict]:
    """A client that is checked for CSRF like a browser, and the header that passes the check."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get("/accounts/login/")
    return client, {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def test_the_error_handlers_are_the_apps():
    resolver = get_resolver()
    assert resolver.resolve_error_handler(400) is errors.bad_request
    assert resolver.resolve_error_handler(403) is errors.permission_denied
    assert resolver.resolve_error_handler(404) is errors.page_not_found
    assert resolver.resolve_error_handler(500) is errors.server_error


@pytest.mark.parametrize("who", ["anonymous", "ngo", "observer"])
def test_every_error_page_says_what_was_wrong(people, who):
    client, token = csrf_client(None if who == "anonymous" else people[who])

    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "Nothing lives at this address." in page
    assert "Resolver404" not in page and "tried" not in page

    body = "status=IN_PROGRESS&rationale=x".encode("utf-16")
    response = client.generic("POST", "/accounts/login/", body, UTF16_FORM, **token)
    assert response.status_code == 400
    page = response.content.decode()
    assert "That request could not be used" in page and "Forms are sent as UTF-8" in page

    response = client.post("/accounts/login/", {"username": "x", "password": "y"})  # no token
    assert response.status_code == 403
    page = response.content.decode()
    assert "That form could not be accepted" in page and "Reload the page" in page

    if who == "anonymous":
        return
    response = client.get("/reports/no-such-report/")
    assert response.status_code == 404
    assert "There is no such report." in response.content.decode()
    response = client.get("/reports/norway-2024/recommendations/99/")
    assert "There is no such recommendation." in response.content.decode()
    response = client.post("/reports/norway-2024/snapshots/", {"title": "T"}, **token)
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot do that" in page and "needs the publish permission" in page
    # The signed-in user still sees who they are on an error page.
    assert people[who].username in page or people[who].get_full_name() in page


def test_no_error_page_reads_the_request_body_or_needs_the_middleware():
    """Called as Django calls them, on a request whose body cannot be read, before the session
    or authentication middleware ran (an error in an early middleware)."""
    request = RequestFactory().generic("POST", "/", "a=b".encode("utf-16"), UTF16_FORM)
    for handler, status, words in [
        (errors.bad_request, 400, "Forms are sent as UTF-8"),
        (errors.permission_denied, 403, "Your role does not allow this."),
        (errors.page_not_found, 404, "Nothing lives at this address."),
    ]:
        exception = {400: BadRequest("x"), 403: PermissionDenied(), 404: Http404({})}[status]
        response = handler(request, exception)
        assert response.status_code == status
        assert words in response.content.decode()
    response = errors.server_error(request)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "_post" not in vars(request) and not request._read_started


def test_error_pages_are_served_when_the_database_is_not(client, people, monkeypatch):
    """The header needs the database (who is signed in); the page is served without it."""
    client.force_login(people["ngo"])

    def unavailable(user):
        raise DatabaseError("the database is gone")

    monkeypatch.setattr("recommendations.context_processors.membership_of", unavailable)
    response = client.get("/no/such/page/", **HTMX)
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing lives at this address." in page and "the database is gone" not in page

    def broken(*args, **kwargs):
        raise OSError("no templates")

    monkeypatch.setattr(errors.loader, "render_to_string", broken)
    request = RequestFactory().get("/")
    response = errors.server_error(request)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def wsgi_call(method: str, path: str, content_type: str, body: bytes = b"", **headers):
    """One request through the WSGI application gunicorn serves (tracker.wsgi), as a server
    would make it; the status line."""
    from tracker.wsgi import application

    token = "a" * 32  # a CSRF secret: the cookie and the header agree
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": f"csrftoken={token}",
        "HTTP_X_CSRFTOKEN": token,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        **headers,
    }
    started = {}
    content = b"".join(application(environ, lambda status, headers: started.update(s=status)))
    return started["s"], content.decode()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; name*=no-such-charset''x",  # RFC 2231, an unknown charset
        "application/x-www-form-urlencoded; charset*=bogus''utf-8",
        "multipart/form-data; boundary=" + "b" * 10_000,  # over Django's 10,000 characters
    ],
)
def test_a_content_type_django_cannot_parse_is_a_400_not_a_server_error(db, content_type):
    """Django raised BadRequest while building the request, before any middleware or handler:
    the server answered 500. Now the body counts as unreadable: a 400 when it is read."""
    status, page = wsgi_call("POST", "/accounts/login/", content_type, b"username=x")
    assert status == "400 Bad Request"
    assert "Content-Type header could not be read" in page
    # A request that does not read its body is served.
    status, _ = wsgi_call("GET", "/status.css", content_type)
    assert status == "200 OK"


@pytest.mark.parametrize("charset", ["rot13", "base64", "zlib", "idna", "punycode", "undefined"])
def test_a_charset_python_cannot_decode_text_with_is_ignored(db, charset):
    """The Content-Type's charset decodes the query string too; with a codec that is no text
    encoding (rot13) or refuses to replace what it cannot decode (idna), reading request.GET
    raised: a 500, on any page, whatever the method."""
    content_type = f"text/plain; charset={charset}"
    status, page = wsgi_call("GET", "/accounts/login/", content_type, QUERY_STRING="next=%2F%C3%A9")
    assert status == "200 OK"
    assert 'name="next" value="/é"' in page
    body = b'--B\r\nContent-Disposition: form-data; name="username"\r\n\r\n\xff+-\r\n--B--\r\n'
    status, page = wsgi_call(
        "POST", "/accounts/login/", f"multipart/form-data; boundary=B; charset={charset}", body
    )
    assert status == "200 OK"
    assert "This field is required." in page  # the password


def test_too_many_fields_with_a_charset_is_a_400(db):
    """Django decoded the query string as soon as the Content-Type named a charset, while the
    request was built: more than 1,000 fields raised there, before any handler (a 500)."""
    query = "a&" * 1001
    status, page = wsgi_call(
        "GET", "/accounts/login/", "text/plain; charset=utf-8", QUERY_STRING=query
    )
    assert status == "400 Bad Request"
    assert "more fields than the site accepts" in page


@override_settings(PAGE_CACHE=False)  # each charset renders: the form's data is looked at
def test_the_query_string_is_utf8_whatever_charset_the_body_has(client, people, monkeypatch):
    """Django decoded the query string in the body's charset and encoded it again in it for
    the dashboard's links: `?q=é` with `charset=ascii` was a 500."""
    monkeypatch.setattr("django.test.client.WSGIRequest", Request)  # as tracker/wsgi.py does
    client.force_login(people["ngo"])
    for charset in ("ascii", "cp1252", "utf-16", "rot13"):
        response = client.get(
            "/reports/norway-2024/",
            {"q": "Ø trafficking"},
            CONTENT_TYPE=f"text/plain; charset={charset}",
        )
        assert response.status_code == 200, charset
        assert response.context["filterset"].form.cleaned_data["q"] == "Ø trafficking"
        assert "q=%C3%98+trafficking" in response.content.decode()


def test_a_method_a_page_does_not_take_gets_a_page_that_says_which_it_takes(client, people):
    client.force_login(people["ngo"])
    response = client.get("/reports/norway-2024/recommendations/1/assess/")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "does not take GET requests" in response.content.decode()
    assert "It takes POST" in response.content.decode()


@pytest.mark.parametrize(
    "query, problem",
    [
        ("q=" + "+".join(["word"] * 3000), "Search for at most 300 characters and 50 words"),
        ("status__exact=%00", "NUL character"),
        ("q=a%00b", "NUL character"),
    ],
)
def test_admin_change_lists_refuse_what_their_database_cannot_run(superuser_client, query, problem):
    for changelist in ("recommendations/assessment", "auth/group", "axes/accessattempt"):
        response = superuser_client.get(f"/admin/{changelist}/?{query}")
        assert response.status_code == 400, changelist
        assert problem in response.content.decode(), changelist
