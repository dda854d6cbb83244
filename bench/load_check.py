"""Load check: N logged-in reviewers at once against gunicorn on PostgreSQL, for a fixed time.

Creates a throw-away database on the local PostgreSQL server, loads the canonical fixtures,
creates the reviewers, starts gunicorn on a loopback port with production settings, and lets
each reviewer read the dashboard and a recommendation and record an assessment, over and over.
Then it checks that the database holds exactly the assessments the clients saw accepted, prints
the figures, drops the database and exits non-zero on any error or mismatch.

    .venv/bin/python bench/load_check.py --clients 8 --seconds 10

Everything stays on 127.0.0.1; nothing runs longer than --seconds plus setup.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict

import psycopg
from harness import (
    DEFAULT_SERVER,
    Client,
    based_on,
    csrf_token,
    gunicorn,
    is_loopback,
    manage,
    production_env,
    throwaway_databases,
)

PASSWORD = "load-check-password-2024"
MARKER = "load-check"
STATUSES = ["REGRESSED", "NO_PROGRESS", "IN_PROGRESS", "PARTIALLY_IMPLEMENTED"]


class Reviewer(Client):
    """A client that keeps its latencies and statuses by kind of request."""

    def __init__(self, port: int, username: str) -> None:
        super().__init__(port)
        self.username = username
        self.timings: dict[str, list[float]] = defaultdict(list)

    def timed(self, kind: str, method: str, path: str, form: dict | None = None):
        status, content, elapsed = self.request(method, path, form)
        self.timings[kind].append(elapsed)
        return status, content.decode("utf-8", errors="replace")


def run_reviewer(reviewer: Reviewer, deadline: float, accepted: list, refused: list, errors: list):
    rng = random.Random(reviewer.username)
    sequence = 0
    try:
        started = time.perf_counter()
        reviewer.log_in(reviewer.username, PASSWORD)
        reviewer.timings["login"].append(time.perf_counter() - started)
        while time.monotonic() < deadline:
            number = rng.randint(1, 10)
            status, _ = reviewer.timed("dashboard", "GET", "/reports/norway-2024/")
            if status != 200:
                errors.append(f"{reviewer.username}: dashboard HTTP {status}")
            path = f"/reports/norway-2024/recommendations/{number}/"
            status, page = reviewer.timed("recommendation", "GET", path)
            if status != 200:
                errors.append(f"{reviewer.username}: recommendation HTTP {status}")
                continue
            sequence += 1
            marker = f"{MARKER} {reviewer.username} #{sequence}"
            form = {
                "csrfmiddlewaretoken": csrf_token(page),
                "status": rng.choice(STATUSES),
                "rationale": marker,
                "based_on": based_on(page),
            }
            status, _ = reviewer.timed("assess", "POST", path + "assess/", form)
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
    client = Client(port)
    _, page, _ = client.request("GET", "/accounts/login/")
    match = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.decode())
    if not match:
        return ["the log-in page does not link a hashed stylesheet"]
    status, _, _ = client.request("GET", match.group(1))
    return [] if status == 200 else [f"{match.group(1)}: HTTP {status}"]


def create_reviewers(env: dict, clients: int) -> list[str]:
    names = [f"load{i:03d}" for i in range(clients)]
    script = f"""
from django.contrib.auth import get_user_model
from recommendations.models import Membership, Organization
organizations = [
    Organization.objects.create(name="Load Ministry", kind="GOVERNMENT", country="Norway"),
    *[
        Organization.objects.create(name=f"Load NGO {{i}}", kind="NGO", country="Norway")
        for i in range(3)
    ],
]
for index, name in enumerate({names!r}):
    user = get_user_model().objects.create_user(name, password={PASSWORD!r})
    Membership.objects.create(user=user, organization=organizations[index % 4])
"""
    manage(env, "shell", "--no-imports", "-c", script)
    return names


def report(options, elapsed: float, reviewers, accepted, refused, errors, stored) -> bool:
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
    return matches and not errors and bool(accepted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--server",
        default=os.environ.get("LOAD_CHECK_SERVER", DEFAULT_SERVER),
        help="a PostgreSQL URL on this machine, used only to create and drop the check database",
    )
    options = parser.parse_args()
    if not 1 <= options.clients <= 200 or not 1 <= options.seconds <= 600:
        parser.error("use 1–200 clients and 1–600 seconds")
    if not is_loopback(options.server):
        parser.error("the load check runs against a loopback PostgreSQL only")

    database = f"tracker_load_check_{os.getpid()}"
    static_root = tempfile.mkdtemp(prefix="load-check-static-")
    try:
        with throwaway_databases(options.server, database) as urls:
            env = production_env(
                urls[database], DJANGO_LOG_LEVEL="WARNING", DJANGO_STATIC_ROOT=static_root
            )
            print(f"Preparing {database}: migrate, fixtures, {options.clients} reviewers …")
            manage(env, "migrate", "--no-input", "-v", "0")
            manage(env, "loaddata", "review_cycles.json", "norway-2024.json", "-v", "0")
            names = create_reviewers(env, options.clients)
            manage(env, "collectstatic", "--no-input", "-v", "0")
            with gunicorn(env, options.workers) as port:
                accepted: list[str] = []
                refused: list[str] = []
                errors: list[str] = check_static_files(port)
                reviewers = [Reviewer(port, name) for name in names]
                started = time.monotonic()
                deadline = started + options.seconds
                threads = [
                    threading.Thread(
                        target=run_reviewer, args=(r, deadline, accepted, refused, errors)
                    )
                    for r in reviewers
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=options.seconds + 60)
                elapsed = time.monotonic() - started
            with psycopg.connect(urls[database]) as connection:
                stored = [
                    row[0]
                    for row in connection.execute(
                        "SELECT rationale FROM recommendations_assessment WHERE rationale LIKE %s",
                        [f"{MARKER} %"],
                    )
                ]
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    ok = report(options, elapsed, reviewers, accepted, refused, errors, stored)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
