"""What the benchmark and the load check share: a throw-away PostgreSQL database, the app under
gunicorn with production settings on a loopback port, and a logged-in HTTP client."""

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def is_loopback(database_url: str) -> bool:
    return urlsplit(database_url).hostname in ("127.0.0.1", "localhost", "::1")


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings, except plain HTTP on loopback."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        **extra,
    }


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


@contextmanager
def throwaway_databases(server: str, *names: str) -> Iterator[dict[str, str]]:
    """Create the databases on the server, yield their URLs, drop them whatever happens."""
    base = server.rsplit("/", 1)[0]
    with psycopg.connect(server, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {name: f"{base}/{name}" for name in names}
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict, workers: int) -> Iterator[int]:
    """The app under gunicorn (gunicorn.conf.py, then these flags); yields its port."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "tracker.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def task_worker(env: dict) -> Iterator[None]:
    """The background worker (`manage.py db_worker`) beside the app, as in production: at a
    lower priority than the app (`nice`), so that readers keep the CPU when it is scarce."""
    process = subprocess.Popen(
        ["nice", "-n", "10", PYTHON, "manage.py", "db_worker", "--no-reload",
         "--no-startup-delay", "--interval", "0.2", "-v", "0"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)  # it finishes the task in hand first


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def based_on(page: str) -> str:
    """The assessment an assess form is based on (the organization's current position)."""
    match = re.search(r'name="based_on" value="(\d*)"', page)
    return match.group(1) if match else ""


class Client:
    """One browser-like client: its cookies and one HTTP connection to the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}  # of the last response

    def request(
        self, method: str, path: str, form: dict | None = None, htmx: bool = False
    ) -> tuple[int, bytes, float]:
        """Status, body and seconds taken."""
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if htmx:
            headers["HX-Request"] = "true"
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):  # the server closed the connection
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - started
        self.headers = dict(response.headers.items())
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, content, elapsed

    def log_in(self, username: str, password: str) -> None:
        _, page, _ = self.request("GET", "/accounts/login/")
        form = {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": csrf_token(page.decode()),
        }
        status, _, _ = self.request("POST", "/accounts/login/", form)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"{username} could not log in (HTTP {status})")
