"""What the site does when what it depends on fails for a while.

The page cache is an optimisation: with Redis stopped, or accepting connections and never
answering, every page is rendered without it, quickly, and the failure is logged once per
interval (recommendations/caching.py). A lost database connection (a restart) is a 503 with
Retry-After, not a 500 (recommendations/views/errors.py).
"""

import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from copy import deepcopy
from typing import Any
from uuid import uuid4

import psycopg
import pytest
import redis
from django.core.cache.backends.locmem import LocMemCache
from django.db import InterfaceError, OperationalError
from django.test import Client, override_settings

from recommendations import caching
from recommendations.models import Assessment, Recommendation
from recommendations.rules import writing

from .test_settings import settings_probe

DASHBOARD = "/reports/norway-2024/"
RECOMMENDATION = "/reports/norway-2024/recommendations/1/"
JSON_EXPORT = "/reports/norway-2024/export.json"
PAGES = [DASHBOARD, RECOMMENDATION, JSON_EXPORT]

# A CSRF token as a page carries it (masked: different in every response).
CSRF_TOKEN = re.compile(r"[A-Za-z0-9]{64}")
GENERATED_AT = re.compile(r'"generated_at": "[^"]*"')


@pytest.fixture(autouse=True)
def healthy_cache():
    """Each test starts with a cache this process has not seen fail, and leaves none."""
    caching.cache_outage.reset()
    yield
    caching.cache_outage.reset()


@pytest.fixture(scope="module")
def redis_cache_settings() -> dict[str, Any]:
    """The cache the settings configure when REDIS_URL is set (with their timeouts)."""
    shown = "__import__('json').dumps(settings.CACHES['default'])"
    result = settings_probe(shown, DJANGO_DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/14")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def redis_at(redis_cache_settings: dict[str, Any], port: int) -> dict[str, Any]:
    cache = deepcopy(redis_cache_settings)
    cache["LOCATION"] = f"redis://127.0.0.1:{port}/14"
    cache["KEY_PREFIX"] = uuid4().hex
    return {"default": cache}


@pytest.fixture
def stopped_redis(redis_cache_settings) -> dict[str, Any]:
    """Redis where nothing listens: a port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return redis_at(redis_cache_settings, port)


@pytest.fixture
def frozen_redis(redis_cache_settings) -> Iterator[dict[str, Any]]:
    """A server that accepts connections and never answers (a Redis stopped with SIGSTOP, or
    a network path that drops the replies)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed by the fixture
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    yield redis_at(redis_cache_settings, server.getsockname()[1])
    server.shutdown(socket.SHUT_RDWR)  # wakes the accept() above; close() alone does not
    server.close()
    for connection in accepted:
        connection.close()
    thread.join(timeout=5)


class WritesRefusedCache(LocMemCache):
    """A cache that reads but refuses to store, as Redis does at its memory limit without an
    eviction policy."""

    def set(self, *args: Any, **kwargs: Any) -> None:
        raise redis.exceptions.ResponseError(
            "OOM command not allowed when used memory > 'maxmemory'."
        )


def comparable(page: bytes) -> str:
    """The page without what differs between any two responses: CSRF tokens, and the time an
    export was generated."""
    text = CSRF_TOKEN.sub("token", page.decode())
    return GENERATED_AT.sub('"generated_at": "…"', text)


def uncached_pages(client: Client) -> dict[str, str]:
    with override_settings(PAGE_CACHE=False):
        return {url: comparable(client.get(url).content) for url in PAGES}


def test_redis_is_given_up_on_within_a_second(redis_cache_settings):
    """redis-py's own timeouts are 5 s: a Redis that hangs held each page that long."""
    options = redis_cache_settings["OPTIONS"]
    assert 0 < options["socket_connect_timeout"] <= 1
    assert 0 < options["socket_timeout"] <= 1


@pytest.mark.parametrize("outage", ["stopped_redis", "frozen_redis"])
@pytest.mark.django_db
def test_every_cached_page_is_served_without_redis(client, people, outage, request, monkeypatch):
    """Redis stopped, or accepting and never answering: every cached page and export is
    rendered without it, the same as with the cache off, twice over; after the first failure
    the cache is left alone, so the other requests do not wait on it (each page read and
    stored: twelve waits without the pause)."""
    client.force_login(people["ngo"])
    expected = uncached_pages(client)
    failures: list[Exception] = []
    record_failure = caching.cache_outage.failed

    def counted(error: Exception) -> None:
        failures.append(error)
        record_failure(error)

    monkeypatch.setattr(caching.cache_outage, "failed", counted)
    with override_settings(CACHES=request.getfixturevalue(outage)):
        for _ in range(2):
            for url in PAGES:
                response = client.get(url)
                assert response.status_code == 200, (url, response.content[:300])
                assert response["X-Cache"] == "miss", url
                assert comparable(response.content) == expected[url], url
    # One, or two if six pages took longer than the pause on a loaded machine.
    assert 1 <= len(failures) <= 2, failures


@pytest.mark.django_db
def test_a_cache_that_refuses_to_store_still_serves_pages(client, people):
    client.force_login(people["ngo"])
    expected = uncached_pages(client)
    refusing = {"default": {"BACKEND": f"{__name__}.WritesRefusedCache"}}
    with override_settings(CACHES=refusing):
        for url in PAGES:
            response = client.get(url)
            assert response.status_code == 200, url
            assert comparable(response.content) == expected[url], url


@pytest.mark.django_db
def test_a_cache_outage_is_logged_once_per_interval(client, people, stopped_redis, caplog):
    client.force_login(people["ngo"])
    caplog.set_level(logging.WARNING, logger="recommendations.caching")
    with override_settings(CACHES=stopped_redis):
        for _ in range(3):
            assert client.get(DASHBOARD).status_code == 200
        reports = [r for r in caplog.records if r.name == "recommendations.caching"]
        assert len(reports) == 1
        assert "page cache failed" in reports[0].getMessage()
        assert reports[0].exc_info is not None  # what failed, with its traceback

        caching.cache_outage.reset()  # as if the interval had passed
        assert client.get(DASHBOARD).status_code == 200
        reports = [r for r in caplog.records if r.name == "recommendations.caching"]
        assert len(reports) == 2


@pytest.mark.django_db
def test_the_cache_is_tried_again_after_a_pause(client, people, monkeypatch):
    """After an error the cache is left alone for a moment, then used again."""
    client.force_login(people["ngo"])
    monkeypatch.setattr(caching, "PAUSE_AFTER_ERROR_SECONDS", 0.0)
    caching.cache_outage.failed(redis.exceptions.ConnectionError("gone"))
    assert client.get(DASHBOARD)["X-Cache"] == "miss"
    assert client.get(DASHBOARD)["X-Cache"] == "hit"


def form_values(page: str) -> dict[str, str]:
    """What the assessment form holds besides what the reviewer types: the position it is
    based on (no value when the organization has none)."""
    field = re.search(r'<input type="hidden" name="based_on"[^>]*>', page)
    assert field is not None, "no assessment form on the page"
    value = re.search(r'value="(\d+)"', field[0])
    return {"based_on": value[1] if value else ""}


@pytest.mark.django_db
def test_writes_after_pages_read_without_redis_are_not_refused_as_stale(
    client, people, stopped_redis
):
    """The assessment form carries the organization's current position (`based_on`), which
    the page reads from the database whatever the cache does: a write made from a page served
    during an outage is accepted, and so is a colleague's made from the page after it."""
    url = RECOMMENDATION
    with override_settings(CACHES=stopped_redis):
        for number, reviewer in enumerate(["ngo", "ngo_colleague", "ngo"]):
            client.force_login(people[reviewer])
            page = client.get(url)
            assert page.status_code == 200
            data = form_values(page.content.decode()) | {
                "status": "IN_PROGRESS",
                "rationale": f"Written during the outage #{number}",
            }
            response = client.post(url + "assess/", data)
            assert response.status_code == 302, response.content.decode()[:2000]
    recommendation = Recommendation.objects.get(report__slug="norway-2024", number=1)
    written = Assessment.objects.filter(recommendation=recommendation).order_by("pk")
    assert [a.rationale for a in written] == [f"Written during the outage #{n}" for n in range(3)]


# --- the database -----------------------------------------------------------------------------


def from_driver(cause: Exception) -> OperationalError:
    """A driver's error as Django raises it: its own, from the driver's."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        return error


LOST_CONNECTIONS = {
    "server closed the connection": from_driver(
        psycopg.OperationalError("consuming input failed: server closed the connection")
    ),
    "administrator shutdown": from_driver(
        psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    ),
    "cannot connect now": from_driver(
        psycopg.errors.CannotConnectNow("the database system is starting")
    ),
    "connection already closed": InterfaceError("connection already closed"),
}


def unreachable_database(error: Exception):
    def raise_it(*args: Any, **kwargs: Any) -> None:
        raise error

    return raise_it


@pytest.mark.parametrize("error", LOST_CONNECTIONS.values(), ids=LOST_CONNECTIONS.keys())
@pytest.mark.django_db
def test_a_lost_database_connection_is_a_503_that_says_when_to_retry(people, monkeypatch, error):
    client = Client(raise_request_exception=False)
    client.force_login(people["ngo"])
    # The first query of a cached page: the data versions.
    monkeypatch.setattr(caching, "fingerprint_and_membership", unreachable_database(error))
    response = client.get(DASHBOARD)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "cannot reach its database" in page
    assert str(error) not in page


@pytest.mark.django_db
def test_a_write_cut_off_by_a_lost_connection_is_a_503_and_stores_nothing(people, monkeypatch):
    """ATOMIC_REQUESTS: the assessment written before the connection was lost is rolled back."""
    client = Client(raise_request_exception=False)
    client.force_login(people["ngo"])
    assess = writing.assess

    def assess_then_lose_the_connection(
        recommendation: Recommendation, **kwargs: Any
    ) -> Assessment:
        assess(recommendation, **kwargs)
        raise LOST_CONNECTIONS["server closed the connection"]

    monkeypatch.setattr(writing, "assess", assess_then_lose_the_connection)
    data = {"status": "IN_PROGRESS", "rationale": "Cut off", "based_on": ""}
    response = client.post(RECOMMENDATION + "assess/", data, headers={"HX-Request": "true"})
    assert response.status_code == 503
    assert response["Retry-After"]
    assert not Assessment.objects.filter(rationale="Cut off").exists()


OTHER_DATABASE_ERRORS = {
    "statement timeout": from_driver(
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    ),
    "SQLite": OperationalError("no such table: recommendations_report"),
}


@pytest.mark.parametrize("error", OTHER_DATABASE_ERRORS.values(), ids=OTHER_DATABASE_ERRORS.keys())
@pytest.mark.django_db
def test_other_database_errors_are_still_a_500(people, monkeypatch, error):
    """Only a lost connection is worth retrying; a query that fails is a fault to fix."""
    client = Client(raise_request_exception=False)
    client.force_login(people["ngo"])
    monkeypatch.setattr(caching, "fingerprint_and_membership", unreachable_database(error))
    response = client.get(DASHBOARD)
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Something went wrong on our side" in response.content.decode()
