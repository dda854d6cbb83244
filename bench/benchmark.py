"""Benchmark: the tracker's pages side by side with a trivial Django view, on a large dataset.

    .venv/bin/python bench/benchmark.py            # full run (about 3 minutes)
    .venv/bin/python bench/benchmark.py --smoke    # tiny data, a second per page (CI)

It builds two throw-away PostgreSQL databases with `generate_dataset` — 1× (1,000 assessments)
and 100× (100,000 assessments, 190 reports) — counts the queries of every page on both, starts
gunicorn on a loopback port over the 100× database with production settings, and drives each
page and the trivial `/ping/` view (same middleware, same session check) alternately with the
same number of concurrent logged-in clients. It prints throughput, p50/p95 latency and the
ratio to the trivial view, the time and peak memory of streaming the whole history as CSV, and
exits non-zero if a request failed or a page's query count differs between 1× and 100×.
"""

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

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

PASSWORD = "bench-password-2024"
REPORT = "benchland-001-2024"  # a typical report
LONG = "benchland-000-2024"  # its recommendation 1 carries the long history

PAGES = [
    # name, method, path, concurrency (None: --clients)
    ("dashboard", "GET", f"/reports/{LONG}/", None),
    ("recommendation, long history", "GET", f"/reports/{LONG}/recommendations/1/", None),
    ("HTMX assessment POST", "POST", f"/reports/{REPORT}/recommendations/{{n}}/assess/", None),
    ("CSV export", "GET", f"/reports/{REPORT}/export.csv", 1),
    ("XLSX export", "GET", f"/reports/{REPORT}/export.xlsx", 1),
    ("PDF export", "GET", f"/reports/{REPORT}/export.pdf", 1),
]
TRIVIAL = ("trivial view", "GET", "/ping/", None)

SCALES = {
    "full": {
        "1x": "--reports 2 --assessments 1000 --comments 300 --long-history 20",
        "100x": "",  # the generator's defaults: 190 reports, 100,000 assessments, 30,000 comments
    },
    "smoke": {
        "1x": "--reports 2 --assessments 100 --comments 30 --long-history 10",
        "100x": "--reports 3 --assessments 10000 --comments 300 --long-history 1000",
    },
}

QUERY_COUNT_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from recommendations.models import Assessment

client = Client(HTTP_HOST="127.0.0.1")
user = get_user_model().objects.get(username="bench000")
client.force_login(user)
counts = {}
for name, method, path in PAGES:
    if method == "POST":
        number = 3
        path = path.format(n=number)
        def current():
            return Assessment.objects.filter(
                recommendation__report__slug=REPORT, recommendation__number=number,
                organization=user.membership.organization,
            ).order_by("-created_at", "-pk").values_list("pk", flat=True).first() or ""
        data = {"status": "IN_PROGRESS", "rationale": "counting queries", "based_on": current()}
        client.post(path, data, HTTP_HX_REQUEST="true")  # so that a position exists at any scale
        data["based_on"] = current()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(path, data, HTTP_HX_REQUEST="true")
    else:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
            if response.streaming:
                b"".join(response.streaming_content)
    assert response.status_code == 200, (path, response.status_code)
    counts[name] = len(queries)
print("COUNTS" + json.dumps(counts))
"""

STREAM_SCRIPT = """
import resource, time
from recommendations.models import Assessment, Recommendation
from recommendations.publishing.csv import stream_history_csv
from recommendations.publishing.document import stream_assessment_records

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
rows = -1
size = 0
recommendations = Recommendation.objects.all()
records = stream_assessment_records(recommendations)
for line in stream_history_csv(records, dict(recommendations.values_list("number", "short_title"))):
    rows += 1
    size += len(line)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"STREAM {rows} {size} {elapsed:.3f} {before / 1024:.1f} {peak / 1024:.1f}")
"""


def client_loop(args: tuple) -> tuple[list[float], int, int]:
    """One client process: repeat one request until the deadline; latencies and failures."""
    port, username, index, method, path, start_at, deadline = args
    session = Client(port)
    session.log_in(username, PASSWORD)
    number = index % 10 + 1
    path = path.format(n=number)
    form = None
    if method == "POST":
        _, page, _ = session.request("GET", path.removesuffix("assess/"))
        page = page.decode()
        form = {
            "status": "IN_PROGRESS",
            "rationale": f"benchmark client {index}",
            "based_on": based_on(page),
            "csrfmiddlewaretoken": csrf_token(page),
        }
    while time.time() < start_at:
        time.sleep(0.001)
    # A client that logged in after start_at (a loaded machine) still measures a full window.
    deadline = max(deadline, time.time() + (deadline - start_at))
    latencies, failures = [], 0
    while time.time() < deadline:
        status, body, elapsed = session.request(method, path, form, htmx=method == "POST")
        latencies.append(elapsed)
        if status != 200:
            failures += 1
        elif method == "POST":
            form["based_on"] = based_on(body.decode())  # the next one builds on this one
    return latencies, failures, len(latencies)


def measure(pool, port: int, users: list[str], page: tuple, seconds: float, clients: int) -> dict:
    name, method, path, concurrency = page
    concurrency = concurrency or clients
    start_at = time.time() + 3.0  # time for every client to log in first
    jobs = [
        (port, users[i], i, method, path, start_at, start_at + seconds) for i in range(concurrency)
    ]
    results = pool.map(client_loop, jobs)
    latencies = sorted(latency for r in results for latency in r[0])
    failures = sum(r[1] for r in results)
    count = len(latencies)

    def percentile(p: float) -> float:
        return latencies[min(count - 1, int(count * p))] * 1000 if count else float("nan")

    return {
        "name": name,
        "clients": concurrency,
        "requests": count,
        "throughput": count / seconds,
        "p50": percentile(0.50),
        "p95": percentile(0.95),
        "failures": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s per page (CI)")
    parser.add_argument("--seconds", type=float, help="per page (default 8, smoke 1)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--results", type=Path, help="also add the markdown table to this file")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_SERVER", DEFAULT_SERVER),
        help="a loopback PostgreSQL URL, used to create and drop the benchmark databases",
    )
    options = parser.parse_args()
    seconds = options.seconds or (1.0 if options.smoke else 8.0)
    if not is_loopback(options.server):
        parser.error("the benchmark runs against a loopback PostgreSQL only")
    if not 1 <= options.clients <= 32:
        parser.error("--clients must be 1–32")
    scales = SCALES["smoke" if options.smoke else "full"]

    names = {scale: f"tracker_bench_{scale}_{os.getpid()}" for scale in scales}
    static_root = tempfile.mkdtemp(prefix="bench-static-")
    failed: list[str] = []
    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        with throwaway_databases(options.server, *names.values()) as urls:
            envs = {
                scale: production_env(
                    urls[name],
                    DJANGO_LOG_LEVEL="ERROR",
                    DJANGO_STATIC_ROOT=static_root,
                    AXES_FAILURE_LIMIT="1000",
                    DATABASE_CONN_MAX_AGE="60",  # persistent connections, as in production
                )
                for scale, name in names.items()
            }
            counts = {}
            for scale, env in envs.items():
                manage(env, "migrate", "--no-input", "-v", "0")
                started = time.perf_counter()
                print(manage(env, "generate_dataset", *scales[scale].split(), capture=True).strip())
                print(f"  ({scale}: {time.perf_counter() - started:.1f} s including start-up)")
                script = f"PAGES = {[(n, m, p) for n, m, p, _ in [TRIVIAL, *PAGES]]!r}\n"
                script += f"REPORT = {REPORT!r}\n" + QUERY_COUNT_SCRIPT
                output = manage(env, "shell", "--no-imports", "-c", script, capture=True)
                counts[scale] = json.loads(output.split("COUNTS", 1)[1])

            env = envs["100x"]
            stream = manage(env, "shell", "--no-imports", "-c", STREAM_SCRIPT, capture=True)
            rows, size, stream_seconds, rss_before, rss_peak = stream.split("STREAM", 1)[1].split()

            manage(env, "collectstatic", "--no-input", "-v", "0")
            users = [f"bench{2 * i:03d}" for i in range(options.clients)]  # one per organization
            rows_out = []
            with (
                gunicorn(env, options.workers) as port,
                multiprocessing.Pool(options.clients) as pool,
            ):
                for page in PAGES:
                    concurrency = page[3] or options.clients
                    trivial = measure(pool, port, users, (*TRIVIAL[:3], concurrency), seconds, 0)
                    result = measure(pool, port, users, page, seconds, options.clients)
                    rows_out.append((result, trivial))
                    for r in (trivial, result):
                        if r["failures"] or not r["requests"]:
                            failed.append(f"{r['name']}: {r['failures']} of {r['requests']} failed")
                    print(f"  measured {page[0]}", flush=True)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)

    cpus = os.cpu_count()
    say(f"## Benchmark {date.today().isoformat()}" + (" (smoke)" if options.smoke else ""))
    say()
    say(
        f"Machine: {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL on loopback with persistent connections; gunicorn {options.workers} sync "
        "workers; "
        f"{seconds:g} s per measurement, trivial view measured just before each page with "
        "the same clients."
    )
    say()
    say(
        "| page | clients | req/s | p50 ms | p95 ms | trivial req/s | trivial p95 ms "
        "| ratio to trivial | queries 1× | queries 100× |"
    )
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for result, trivial in rows_out:
        name = result["name"]
        ratio = result["throughput"] / trivial["throughput"] if trivial["throughput"] else 0
        say(
            f"| {name} | {result['clients']} | {result['throughput']:.1f} | "
            f"{result['p50']:.1f} | {result['p95']:.1f} | {trivial['throughput']:.1f} | "
            f"{trivial['p95']:.1f} | {ratio:.0%} | {counts['1x'][name]} | "
            f"{counts['100x'][name]} |"
        )
    say(
        f"| trivial view (`/ping/`) | | | | | | | | {counts['1x'][TRIVIAL[0]]} | "
        f"{counts['100x'][TRIVIAL[0]]} |"
    )
    say()
    say(
        f"Streamed history CSV of every report: {int(rows):,} rows, "
        f"{int(size) / 1e6:.1f} MB in {float(stream_seconds):.2f} s; peak RSS "
        f"{float(rss_peak):.0f} MB (the process held {float(rss_before):.0f} MB before "
        "streaming)."
    )
    for name in counts["1x"]:
        if counts["1x"][name] != counts["100x"][name]:
            failed.append(f"{name}: {counts['1x'][name]} queries at 1×, "
                          f"{counts['100x'][name]} at 100×")  # fmt: skip

    if options.results and not failed:  # runs are added at the end, the file keeps them all
        with options.results.open("a", encoding="utf-8") as results:
            results.write("\n" + "\n".join(lines) + "\n")
    for failure in failed:
        print("FAILED:", failure)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
