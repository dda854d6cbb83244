"""Load check: N logged-in reviewers at once against gunicorn on PostgreSQL, for a fixed time.

Creates a throw-away database on the local PostgreSQL server, loads the canonical fixtures,
creates the reviewers, starts gunicorn on a loopback port with production settings, and lets
each reviewer read the dashboard and a recommendation and record an assessment, over and over.
Then it checks that the database holds exactly the assessments the clients saw accepted, prints
the figures, drops the database and exits non-zero on any error or mismatch.

    .venv/bin/python scripts/load_check.py --clients 8 --seconds 10

Everything stays on 127.0.0.1; nothing runs longer than --seconds plus setup.
"""

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "load-check-password-2024"
MARKER = "load-check"
STATUSES = ["REGRESSED", "NO_PROGRESS", "IN_PROGRESS", "PARTIALLY_IMPLEMENTED"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Reviewer:
    """One browser-like client: cookies, CSRF token, one HTTP connection."""

    def __init__(self, port: int, username: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.username = username
        self.cookies: dict[str, str] = {}
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, list[int]] = defaultdict(list)

    def request(self, kind: str, method: str, path: str, form: dict | None = None):
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        self.timings[kind].append(time.perf_counter() - started)
        self.statuses[kind].append(response.status)
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def log_in(self) -> None:
        status, page = self.request("login", "GET", "/accounts/login/")
        token = csrf_token(page)
        status, _ = self.request(
            "login",
            "POST",
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"{self.username} could not log in (HTTP {status})")


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def run_reviewer(reviewer: Reviewer, deadline: float, accepted: list, refused: list, errors: list):
    rng = random.Random(reviewer.username)
    sequence = 0
    try:
        reviewer.log_in()
        while time.monotonic() < deadline:
            number = rng.randint(1, 10)
            status, _ = reviewer.request("dashboard", "GET", "/reports/norway-2024/")
            if status != 200:
                errors.append(f"{reviewer.username}: dashboard HTTP {status}")
            path = f"/reports/norway-2024/recommendations/{number}/"
            status, page = reviewer.request("recommendation", "GET", path)
            if status != 200:
                errors.append(f"{reviewer.username}: recommendation HTTP {status}")
                continue
            based_on = re.search(r'name="based_on" value="(\d*)"', page)
            sequence += 1
            marker = f"{MARKER} {reviewer.username} #{sequence}"
            form = {
                "csrfmiddlewaretoken": csrf_token(page),
                "status": rng.choice(STATUSES),
                "rationale": marker,
                "based_on": based_on.group(1) if based_on else "",
            }
            status, _ = reviewer.request("assess", "POST", path + "assess/", form)
            if status == 302:
                accepted.append(marker)
            elif status == 422:
                refused.append(marker)  # a colleague recorded a newer position meanwhile
            else:
                errors.append(f"{reviewer.username}: assess HTTP {status}")
    except Exception as error:  # any failure is reported, not hidden
        errors.append(f"{reviewer.username}: {error!r}")


def check_static_files(port: int) -> list[str]:
    """The stylesheet is served by WhiteNoise under its hashed name, as in production."""
    client = Reviewer(port, "static")
    _, page = client.request("static", "GET", "/accounts/login/")
    match = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    if not match:
        return ["the log-in page does not link a hashed stylesheet"]
    status, _ = client.request("static", "GET", match.group(1))
    return [] if status == 200 else [f"{match.group(1)}: HTTP {status}"]


def manage(env: dict, *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, input=stdin, text=True
    )


def create_reviewers(env: dict, clients: int) -> list[str]:
    names = [f"load{i:03d}" for i in range(clients)]
    script = f"""
from django.contrib.auth import get_user_model
from recommendations.models import Membership, Organization
organizations = [
    Organization.objects.create(name="Load Ministry", kind="GOVERNMENT"),
    *[Organization.objects.create(name=f"Load NGO {{i}}", kind="NGO") for i in range(3)],
]
for index, name in enumerate({names!r}):
    user = get_user_model().objects.create_user(name, password={PASSWORD!r})
    Membership.objects.create(user=user, organization=organizations[index % 4])
"""
    manage(env, "shell", "--no-imports", "-c", script)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--server",
        default=os.environ.get("LOAD_CHECK_SERVER", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL on this machine, used only to create and drop the check database",
    )
    options = parser.parse_args()
    if not 1 <= options.clients <= 200 or not 1 <= options.seconds <= 600:
        parser.error("use 1–200 clients and 1–600 seconds")
    server = urlsplit(options.server)
    if server.hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the load check runs against a loopback PostgreSQL only")

    database = f"tracker_load_check_{os.getpid()}"
    database_url = options.server.rsplit("/", 1)[0] + f"/{database}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    with psycopg.connect(options.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    gunicorn = None
    static_root = None
    try:
        print(f"Preparing {database}: migrate, fixtures, {options.clients} reviewers …", flush=True)
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "loaddata", "review_cycles.json", "norway-2024.json", "-v", "0")
        names = create_reviewers(env, options.clients)
        static_root = tempfile.mkdtemp(prefix="load-check-static-")
        env["DJANGO_STATIC_ROOT"] = static_root
        manage(env, "collectstatic", "--no-input", "-v", "0")

        port = free_port()
        gunicorn = subprocess.Popen(
            [
                PYTHON, "-m", "gunicorn", "tracker.wsgi",
                "--bind", f"127.0.0.1:{port}",
                "--workers", str(options.workers),
                "--log-level", "warning",
            ],
            cwd=ROOT,
            env=env,
        )  # fmt: skip
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")

        accepted: list[str] = []
        refused: list[str] = []
        errors: list[str] = check_static_files(port)
        reviewers = [Reviewer(port, name) for name in names]
        started = time.monotonic()
        deadline = started + options.seconds
        threads = [
            threading.Thread(target=run_reviewer, args=(r, deadline, accepted, refused, errors))
            for r in reviewers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=options.seconds + 60)
        elapsed = time.monotonic() - started

        with psycopg.connect(database_url) as connection:
            stored = [
                row[0]
                for row in connection.execute(
                    "SELECT rationale FROM recommendations_assessment WHERE rationale LIKE %s",
                    [f"{MARKER} %"],
                )
            ]
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(timeout=30)
        with psycopg.connect(options.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if static_root:
            shutil.rmtree(static_root, ignore_errors=True)

    timings: dict[str, list[float]] = defaultdict(list)
    for reviewer in reviewers:
        for kind, values in reviewer.timings.items():
            timings[kind] += values
    requests = sum(len(values) for values in timings.values())
    print(
        f"\n{options.clients} reviewers, {elapsed:.1f} s, gunicorn with {options.workers} workers"
    )
    print(f"{'request':<16}{'count':>8}{'median ms':>12}{'p95 ms':>10}")
    for kind in ("login", "dashboard", "recommendation", "assess"):
        values = sorted(timings[kind])
        if values:
            p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
            print(
                f"{kind:<16}{len(values):>8}{statistics.median(values) * 1000:>12.1f}"
                f"{p95 * 1000:>10.1f}"
            )
    print(f"requests {requests} ({requests / elapsed:.0f}/s), errors {len(errors)}")
    print(
        f"assessments accepted {len(accepted)}, refused as stale {len(refused)}, "
        f"stored {len(stored)}"
    )
    matches = sorted(stored) == sorted(accepted)
    print("database holds exactly the accepted writes:", "yes" if matches else "NO")
    for error in errors[:20]:
        print("  error:", error)
    return 0 if matches and not errors and accepted else 1


if __name__ == "__main__":
    sys.exit(main())
