"""The app's error pages: handler400, handler403, handler404 and handler500 (tracker/urls.py).

Each page says in plain words what was wrong, to anyone, signed in or not. None of them reads
the request body: the error may be that the body cannot be read (a form in another charset, a
malformed multipart body), and reading it again raises again — Django's default handlers do, via
the CSRF check of `requires_csrf_token`, which turned such a 400 into a server error. The 4xx
pages show who is signed in when they can; if that fails (the database is unavailable), the
same page is rendered without the request. The 500 page needs neither the request nor the
database; nor does the 503 that handler500 gives instead when the database connection was lost
(a restart, a failover): the request wrote nothing, and trying again shortly will work.
"""

import logging
import re
import sys

import psycopg
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    DisallowedRedirect,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.http.multipartparser import MultiPartParserError
from django.template import loader
from django.urls import Resolver404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger(__name__)

NO_SUCH = re.compile(r"No (\w+) matches the given query\.")

NOT_A_FORM = gettext_lazy(
    "The form data could not be read. Forms are sent as UTF-8, either URL-encoded or as "
    "multipart/form-data."
)
FALLBACK_500 = "<!doctype html><title>{title}</title><h1>{heading}</h1><p>{advice}</p>"
# Seconds a client is asked to wait when the database cannot be reached: a restart takes a few.
RETRY_AFTER_SECONDS = 10


def problem_of(exception: Exception | None) -> str:
    """What was wrong with a request Django refused as bad (400), in plain words."""
    if isinstance(exception, RequestDataTooBig):
        return _("The form sent more data than the site accepts. Shorten what you typed.")
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return _("The form sent more fields than the site accepts.")
    if isinstance(exception, DisallowedHost):
        return _("This site is not served under the host name in that request.")
    if isinstance(exception, DisallowedRedirect):  # e.g. to log in, then back to a huge address
        return _("The address is too long, or not one this site sends you on to.")
    if isinstance(exception, MultiPartParserError):
        return str(NOT_A_FORM)
    if isinstance(exception, BadRequest):
        if "Content-Type" in str(exception):
            return _("The request's Content-Type header could not be read.")
        return str(NOT_A_FORM)
    return _("The request could not be used: it was malformed or unsafe.")


def _render[R: HttpResponse](
    request: HttpRequest, template: str, context: dict, response_class: type[R]
) -> R:
    try:
        return response_class(loader.render_to_string(template, context, request))
    except Exception:
        # The header (who is signed in) needs the session and the database.
        logger.exception("Rendering %s with the request failed; rendering it without", template)
        return response_class(loader.render_to_string(template, context))


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponseBadRequest:
    return _render(request, "400.html", {"problem": problem_of(exception)}, HttpResponseBadRequest)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponseForbidden:
    # The app's own refusals (PermissionDenied("…")) are written for the user; Django's are bare.
    reason = str(exception) if isinstance(exception, PermissionDenied) else ""
    return _render(request, "403.html", {"exception": reason}, HttpResponseForbidden)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponseNotFound:
    # get_object_or_404 and the admin say what was not found; a URL that matches nothing (its
    # Resolver404 holds the patterns tried) gets the template's "Nothing lives at this address".
    message = exception.args[0] if exception.args else ""
    if isinstance(exception, Resolver404) or not isinstance(message, str):
        message = ""
    elif match := NO_SUCH.fullmatch(message):  # get_object_or_404's words for developers
        message = no_such(match[1])
    return _render(request, "404.html", {"exception": message}, HttpResponseNotFound)


def no_such(model_name: str) -> str:
    """get_object_or_404's model name (the class name) in the user's words."""
    things = {
        "Report": _("There is no such report."),
        "Recommendation": _("There is no such recommendation."),
        "Snapshot": _("There is no such snapshot."),
        "EvidenceItem": _("There is no such evidence item."),
    }
    return things.get(model_name, _("There is no such page."))


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls handler500 while handling the exception, which is still the current one.
    if lost_database_connection(sys.exception()):
        return service_unavailable()
    try:
        return HttpResponseServerError(loader.render_to_string("500.html"))
    except Exception:
        logger.exception("Rendering 500.html failed")
        return HttpResponseServerError(
            FALLBACK_500.format(
                title=_("Something went wrong"),
                heading=_("Something went wrong on our side"),
                advice=_("Nothing you sent was half-saved. Try again in a moment."),
            )
        )


def lost_database_connection(error: BaseException | None) -> bool:
    """Whether the database connection broke or could not be made (the server restarting or
    unreachable), rather than a query having failed: a connection closed under Django, an
    error of the connection itself (psycopg gives it no SQLSTATE), a connection exception
    (class 08) or the server shutting down or starting (57P01–57P05)."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if not isinstance(cause, psycopg.OperationalError):
        return False
    return cause.sqlstate is None or cause.sqlstate.startswith(("08", "57P"))


def service_unavailable() -> HttpResponse:
    """A 503 that asks the client to try again shortly; rendered without the request or the
    database, as the 500 page is."""
    page: str
    try:
        page = loader.render_to_string("503.html")
    except Exception:
        logger.exception("Rendering 503.html failed")
        page = FALLBACK_500.format(
            title=_("Temporarily unavailable"),
            heading=_("The tracker cannot reach its database just now"),
            advice=_("Try again in a few seconds."),
        )
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
