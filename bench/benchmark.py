"""Benchmark: the tracker's pages side by side with a trivial Django view, on a large dataset.

    .venv/bin/python bench/benchmark.py                    # full run (about 6 minutes)
    .venv/bin/python bench/benchmark.py --page-cache off   # the same without the page cache
    .venv/bin/python bench/benchmark.py --smoke            # tiny data, a second per page (CI)

It builds three throw-away PostgreSQL databases with `generate_dataset` — 1× (1,000
assessments), 10× and 100× (100,000 assessments, 190 reports; the long history 20, 200 and 2,000
assessments) — counts the queries and bytes of every page on the 1× and 100× ones (the first
request, which renders, and the second, which the page cache answers), times the uncached
render of the dashboard and the long-history recommendation page on all three (the growth
table), starts gunicorn
on a loopback port over the 100× database with production settings, and drives each page and
the trivial `/ping/` view (same middleware, same session check) alternately, in two rounds,
with the same number of concurrent logged-in clients: pages that are read with wrk (Debian's
package; when it is missing, with the Python clients below), writes and downloads with the
Python clients. It prints throughput, p50/p95 latency, the ratio to the trivial view and the
page cache's hit rate, the first (uncached) time of each download, the time and peak memory of
streaming the whole history as CSV. The task worker (`db_worker`) runs beside gunicorn with
PREPARED_DOWNLOADS on, as in production: after writes it prints how soon the whole-report PDF was
prepared again and how long the download then took, and the same PDF made in the request.
Last comes the mixed run: readers on one report (its dashboard and a recommendation page,
alternately) while a writer records one assessment a second on it; it prints
the readers' throughput, their p95, the hit rate and the p95 of each reader's first request
after a write. It exits non-zero if a request failed or a page's query count
differs between 1× and 100×.
"""

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg
from harness import (
    DEFAULT_SERVER,
    ROOT,
    Client,
    based_on,
    csrf_token,
    gunicorn,
    is_loopback,
    manage,
    production_env,
    task_worker,
    throwaway_databases,
)

PASSWORD = "bench-password-2024"
REPORT = "benchland-001-2024"  # a typical report
LONG = "benchland-000-2024"  # its recommendation 1 carries the long history

ADMIN = "benchadmin"  # a superuser, for the admin's change list (the reference; no second factor)

PAGES = [
    # name, method, path, concurrency (None: --clients)
    ("dashboard", "GET", f"/reports/{LONG}/", None),
    ("recommendation, long history", "GET", f"/reports/{LONG}/recommendations/1/", None),
    ("admin recommendation change list", "GET", "/admin/recommendations/recommendation/", None),
    ("HTMX assessment POST", "POST", f"/reports/{REPORT}/recommendations/{{n}}/assess/", None),
    ("CSV export", "GET", f"/reports/{REPORT}/export.csv", 1),
    ("XLSX export", "GET", f"/reports/{REPORT}/export.xlsx", 1),
    ("PDF export", "GET", f"/reports/{REPORT}/export.pdf", 1),
]
TRIVIAL = ("trivial view", "GET", "/ping/", None)
WRK_SCRIPT = ROOT / "bench" / "wrk_report.lua"

ADMIN_SCRIPT = f"""
from django.contrib.auth import get_user_model
get_user_model().objects.create_superuser({ADMIN!r}, "", {PASSWORD!r})
"""

SCALES = {
    "full": {
        "1x": "--reports 2 --assessments 1000 --comments 300 --long-history 20",
        "10x": "--reports 19 --assessments 10000 --comments 3000 --long-history 200",
        "100x": "",  # the generator's defaults: 190 reports, 100,000 assessments, 30,000 comments
    },
    "smoke": {
        "1x": "--reports 2 --assessments 100 --comments 30 --long-history 10",
        "10x": "--reports 2 --assessments 1000 --comments 100 --long-history 100",
        "100x": "--reports 3 --assessments 10000 --comments 300 --long-history 1000",
    },
}
COUNTED = ("1x", "100x")  # the scales whose query counts must be equal

# The mixed run: readers alternate between these while the writer assesses recommendation 3.
MIXED_PAGES = [f"/reports/{REPORT}/", f"/reports/{REPORT}/recommendations/3/"]
MIXED_WRITE = f"/reports/{REPORT}/recommendations/3/assess/"

GROWTH_SCRIPT = """
import json, statistics, time
from django.contrib.auth import get_user_model
from django.test import Client
from recommendations.models import Recommendation

client = Client(HTTP_HOST="127.0.0.1")
client.force_login(get_user_model().objects.get(username="bench000"))
history = Recommendation.objects.get(report__slug=LONG, number=1).assessments.count()
result = {"history": history}
pages = {"dashboard": f"/reports/{LONG}/", "recommendation": f"/reports/{LONG}/recommendations/1/"}
for name, path in pages.items():
    client.get(path)  # compiles the templates
    times = []
    for _ in range(7):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    result[name] = {"bytes": len(response.content), "ms": statistics.median(times) * 1000}
print("GROWTH" + json.dumps(result))
"""

QUERY_COUNT_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from recommendations.models import Assessment

client = Client(HTTP_HOST="127.0.0.1")
user = get_user_model().objects.get(username="bench000")
admin = Client(HTTP_HOST="127.0.0.1")
admin.force_login(get_user_model().objects.get(username=ADMIN))
counts = {}
sizes = {}
for name, method, path in PAGES:
    if path.startswith("/admin/"):
        with CaptureQueriesContext(connection) as queries:
            response = admin.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts[name] = [len(queries), len(queries)]
        sizes[name] = len(response.content)
        continue
    client.force_login(user)
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
        counts[name] = [len(queries), len(queries)]
    else:
        counts[name] = []
        for _ in ("first request", "second request"):  # renders; then from the page cache
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
                if response.streaming:
                    b"".join(response.streaming_content)
            counts[name].append(len(queries))
    assert response.status_code == 200, (path, response.status_code)
    if not response.streaming:
        sizes[name] = len(response.content)
print("COUNTS" + json.dumps({"counts": counts, "sizes": sizes}))
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


def mixed_reader(args: tuple) -> list[tuple[float, float, bool]]:
    """One reader of the mixed run: (started, seconds, answered from the cache) per request."""
    port, username, index, start_at, deadline = args
    session = Client(port)
    session.log_in(username, PASSWORD)
    while time.time() < start_at:
        time.sleep(0.001)
    requests = []
    turn = index
    while time.time() < deadline:
        path = MIXED_PAGES[turn % len(MIXED_PAGES)]
        turn += 1
        started = time.time()
        status, _, elapsed = session.request("GET", path)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}")
        requests.append((started, elapsed, session.headers.get("X-Cache") == "hit"))
    return requests


def mixed_writer(args: tuple) -> list[float]:
    """The writer of the mixed run: one assessment a second; when each was recorded."""
    port, username, start_at, deadline = args
    session = Client(port)
    session.log_in(username, PASSWORD)
    _, page, _ = session.request("GET", MIXED_WRITE.removesuffix("assess/"))
    form = {
        "status": "IN_PROGRESS",
        "rationale": "the mixed run's writer",
        "based_on": based_on(page.decode()),
        "csrfmiddlewaretoken": csrf_token(page.decode()),
    }
    while time.time() < start_at:
        time.sleep(0.001)
    written = []
    statuses = ["IN_PROGRESS", "PARTIALLY_IMPLEMENTED"]
    while time.time() < deadline - 1:
        tick = time.time()
        form["status"] = statuses[len(written) % 2]
        status, body, _ = session.request("POST", MIXED_WRITE, form, htmx=True)
        if status != 200:
            raise RuntimeError(f"the mixed run's write: HTTP {status}")
        form["based_on"] = based_on(body.decode())
        written.append(time.time())
        time.sleep(max(0.0, tick + 1.0 - time.time()))
    return written


def mixed_run(pool, port: int, users: list[str], seconds: float) -> dict:
    """Readers on one report while a writer records one assessment a second on it."""
    start_at = time.time() + 3.0
    deadline = start_at + seconds
    readers = [(port, users[i], i, start_at, deadline) for i in range(len(users))]
    writer = pool.apply_async(mixed_writer, ((port, users[0], start_at, deadline),))
    per_reader = pool.map(mixed_reader, readers)
    writes = writer.get()
    reads = [r for requests in per_reader for r in requests]
    # Each reader's first request after each write: the one that finds the pages changed.
    firsts = []
    for requests in per_reader:
        for written in writes:
            later = [elapsed for started, elapsed, _ in requests if started >= written]
            if later:
                firsts.append(later[0])
    return {
        "readers": len(users),
        "requests": len(reads),
        "throughput": len(reads) / seconds,
        "p50": _percentile([elapsed for _, elapsed, _ in reads], 0.50),
        "p95": _percentile([elapsed for _, elapsed, _ in reads], 0.95),
        "hit_rate": sum(1 for *_, hit in reads if hit) / len(reads) if reads else 0.0,
        "writes": len(writes),
        "first_p50": _percentile(firsts, 0.50),
        "first_p95": _percentile(firsts, 0.95),
    }


def _percentile(values: list[float], p: float) -> float:
    """The p-th quantile of seconds, in milliseconds."""
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")


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


def session_cookie(port: int, username: str) -> str:
    session = Client(port)
    session.log_in(username, PASSWORD)
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def measure_wrk(port: int, cookie: str, page: tuple, seconds: float, clients: int) -> dict:
    """One page read by wrk: `clients` connections of one signed-in user (wrk_report.lua)."""
    name, _, path, concurrency = page
    concurrency = concurrency or clients
    output = subprocess.run(
        ["wrk", f"--threads={min(2, concurrency)}", f"--connections={concurrency}",
         f"--duration={seconds:g}s", "--timeout=10s", f"--script={WRK_SCRIPT}",
         "--header", f"Cookie: {cookie}", f"http://127.0.0.1:{port}{path}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result = json.loads(output.split("WRK", 1)[1])
    return {
        "name": name,
        "clients": concurrency,
        "tool": "wrk",
        "requests": result["requests"],
        "throughput": result["requests"] / result["seconds"],
        "p50": result["p50_ms"],
        "p95": result["p95_ms"],
        "failures": result["failures"],
        "hits": result["hits"],
        "misses": result["misses"],
    }


def prepared_pdf(port: int, username: str, database_url: str, writes: int) -> dict:
    """After each write: seconds until the worker has prepared the whole-report PDF again,
    then seconds of the download that follows."""
    pdf = f"/reports/{REPORT}/export.pdf"
    session = Client(port)
    session.log_in(username, PASSWORD)
    session.request("GET", pdf)  # a copy to keep up to date: the downloads of earlier rounds
    _, page, _ = session.request("GET", MIXED_WRITE.removesuffix("assess/"))
    form = {
        "rationale": "the prepared PDF's write",
        "based_on": based_on(page.decode()),
        "csrfmiddlewaretoken": csrf_token(page.decode()),
    }
    ready, download = [], []
    with psycopg.connect(database_url, autocommit=True) as database:
        for n in range(writes):
            form["status"] = ["IN_PROGRESS", "PARTIALLY_IMPLEMENTED"][n % 2]
            written = time.time()
            status, body, _ = session.request("POST", MIXED_WRITE, form, htmx=True)
            if status != 200:
                raise RuntimeError(f"the prepared PDF's write: HTTP {status}")
            form["based_on"] = based_on(body.decode())
            while True:
                if time.time() - written > 60:
                    raise RuntimeError("the worker prepared nothing within a minute")
                waiting = database.execute(
                    "SELECT count(*) FROM django_tasks_database_dbtaskresult"
                    " WHERE status IN ('READY', 'RUNNING')"
                ).fetchone()
                done = database.execute(
                    "SELECT count(*) FROM django_tasks_database_dbtaskresult"
                    " WHERE finished_at >= to_timestamp(%s)", [written]
                ).fetchone()  # fmt: skip
                if waiting == (0,) and done != (0,):
                    break
                time.sleep(0.02)
            ready.append(time.time() - written)
            status, _, elapsed = session.request("GET", pdf)
            if status != 200:
                raise RuntimeError(f"{pdf}: HTTP {status}")
            download.append(elapsed)
    return {"ready": ready, "download": download}


def _seconds(values: list[float]) -> str:
    """Seconds as the benchmark says them: each one when there are few."""
    return ", ".join(f"{value:.2f} s" for value in values)


def first_request(port: int, username: str, path: str) -> float:
    """Seconds of one download as the first since the data changed: not in the page cache."""
    session = Client(port)
    session.log_in(username, PASSWORD)
    status, _, elapsed = session.request("GET", path)
    if status != 200:
        raise RuntimeError(f"{path}: HTTP {status}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s per page (CI)")
    parser.add_argument("--seconds", type=float, help="per page (default 5, smoke 1)")
    parser.add_argument("--rounds", type=int, help="of every page (default 2, smoke 1)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--page-cache", choices=["on", "off"], default="on")
    parser.add_argument("--label", help="names the run in the table's heading, e.g. a commit")
    parser.add_argument("--results", type=Path, help="also add the markdown table to this file")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_SERVER", DEFAULT_SERVER),
        help="a loopback PostgreSQL URL, used to create and drop the benchmark databases",
    )
    options = parser.parse_args()
    seconds = options.seconds or (1.0 if options.smoke else 5.0)
    rounds = options.rounds or (1 if options.smoke else 2)
    if not is_loopback(options.server):
        parser.error("the benchmark runs against a loopback PostgreSQL only")
    if not 1 <= options.clients <= 32:
        parser.error("--clients must be 1–32")
    scales = SCALES["smoke" if options.smoke else "full"]
    use_wrk = shutil.which("wrk") is not None

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
                    PAGE_CACHE="1" if options.page_cache == "on" else "0",
                    PREPARED_DOWNLOADS="1",  # with the worker below, as in production
                    # The admin's change list is read by a superuser: without the second
                    # factor staff give after the password (its cost: one query a request).
                    DJANGO_STAFF_SECOND_FACTOR="0",
                )
                for scale, name in names.items()
            }
            counts = {}
            sizes = {}
            growth = {}
            for scale, env in envs.items():
                manage(env, "migrate", "--no-input", "-v", "0")
                started = time.perf_counter()
                print(manage(env, "generate_dataset", *scales[scale].split(), capture=True).strip())
                print(f"  ({scale}: {time.perf_counter() - started:.1f} s including start-up)")
                manage(env, "shell", "--no-imports", "-c", ADMIN_SCRIPT)
                if scale in COUNTED:
                    script = f"PAGES = {[(n, m, p) for n, m, p, _ in [TRIVIAL, *PAGES]]!r}\n"
                    script += f"REPORT = {REPORT!r}\nADMIN = {ADMIN!r}\n" + QUERY_COUNT_SCRIPT
                    output = manage(env, "shell", "--no-imports", "-c", script, capture=True)
                    measured = json.loads(output.split("COUNTS", 1)[1])
                    counts[scale], sizes[scale] = measured["counts"], measured["sizes"]
                # Rendered afresh every time, whatever --page-cache says: what a write costs.
                script = f"LONG = {LONG!r}\n" + GROWTH_SCRIPT
                uncached = {**env, "PAGE_CACHE": "0"}
                output = manage(uncached, "shell", "--no-imports", "-c", script, capture=True)
                growth[scale] = json.loads(output.split("GROWTH", 1)[1])

            env = envs["100x"]
            stream = manage(env, "shell", "--no-imports", "-c", STREAM_SCRIPT, capture=True)
            rows, size, stream_seconds, rss_before, rss_peak = stream.split("STREAM", 1)[1].split()

            manage(env, "collectstatic", "--no-input", "-v", "0")
            users = [f"bench{2 * i:03d}" for i in range(options.clients)]  # one per organization
            rows_out = []
            first_times: dict[str, float] = {}
            with (
                gunicorn(env, options.workers) as port,
                task_worker(env),
                multiprocessing.Pool(options.clients + 1) as pool,  # + the mixed run's writer
            ):
                cookies = {"reader": session_cookie(port, users[0])}
                cookies["admin"] = session_cookie(port, ADMIN)
                for round_number in range(1, rounds + 1):
                    for page in PAGES:
                        name, method, path, concurrency = page
                        by_wrk = use_wrk and method == "GET" and concurrency is None
                        if by_wrk:
                            cookie = cookies["admin" if path.startswith("/admin/") else "reader"]
                            trivial_page = (*TRIVIAL[:3], concurrency)
                            clients = options.clients
                            trivial = measure_wrk(port, cookie, trivial_page, seconds, clients)
                            result = measure_wrk(port, cookie, page, seconds, clients)
                        else:
                            if concurrency == 1 and round_number == 1:
                                first_times[name] = first_request(port, users[0], path)
                            if name == "PDF export" and round_number == 1:
                                # The same file made for the person (any parameter does that):
                                # laid out in the request, as a stale prepared copy would be.
                                first_times["PDF export made in the request"] = first_request(
                                    port, users[0], f"{path}?table=summary"
                                )
                            clients = concurrency or options.clients
                            trivial_page = (*TRIVIAL[:3], clients)
                            trivial = measure(pool, port, users, trivial_page, seconds, 0)
                            # The admin is read by its superuser, as wrk reads it above.
                            readers = [ADMIN] * len(users) if path.startswith("/admin/") else users
                            result = measure(pool, port, readers, page, seconds, options.clients)
                        rows_out.append((round_number, result, trivial))
                        for r in (trivial, result):
                            if r["failures"] or not r["requests"]:
                                failed.append(
                                    f"{r['name']}: {r['failures']} of {r['requests']} failed"
                                )
                        print(f"  round {round_number}: measured {name}", flush=True)
                writes = 1 if options.smoke else 3
                prepared = prepared_pdf(port, users[0], env["DATABASE_URL"], writes)
                print("  measured the prepared PDF", flush=True)
                mixed = mixed_run(pool, port, users, seconds * 2)
                print("  measured the mixed run", flush=True)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)

    cpus = os.cpu_count()
    cache_kind = "in Redis" if os.environ.get("REDIS_URL") else "in each worker's memory"
    label = options.label or f"page cache {options.page_cache}"
    say(f"## Benchmark {date.today().isoformat()}, {label}" + (" (smoke)" if options.smoke else ""))
    say()
    say(
        f"Machine: {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL on loopback with persistent connections; gunicorn {options.workers} sync "
        f"workers, the page cache {cache_kind}; {seconds:g} s per measurement, {rounds} "
        "round(s), the trivial view measured just before each page by the same tool with the "
        "same clients (wrk: one signed-in user's session on every connection)."
    )
    say()
    say(
        "| page | round | tool | clients | req/s | p50 ms | p95 ms | trivial req/s "
        "| trivial p95 ms | ratio to trivial | cache hits | queries 1× | queries 100× "
        "| KB 100× |"
    )
    say("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for round_number, result, trivial in rows_out:
        name = result["name"]
        ratio = result["throughput"] / trivial["throughput"] if trivial["throughput"] else 0
        answered = result.get("hits", 0) + result.get("misses", 0)
        hit_rate = f"{result['hits'] / answered:.1%}" if answered else "–"
        say(
            f"| {name} | {round_number} | {result.get('tool', 'python')} | "
            f"{result['clients']} | {result['throughput']:.1f} | "
            f"{result['p50']:.1f} | {result['p95']:.1f} | {trivial['throughput']:.1f} | "
            f"{trivial['p95']:.1f} | {ratio:.0%} | {hit_rate} | "
            f"{'/'.join(map(str, counts['1x'][name]))} | "
            f"{'/'.join(map(str, counts['100x'][name]))} | "
            f"{sizes['100x'].get(name, 0) / 1000:.0f} |"
        )
    say(
        f"| trivial view (`/ping/`) | | | | | | | | | | | {counts['1x'][TRIVIAL[0]][0]} | "
        f"{counts['100x'][TRIVIAL[0]][0]} | |"
    )
    say()
    say(
        "Queries: first request / second request (the second is answered from the page cache "
        "when it is on). Cache hits: the share of wrk's responses marked `X-Cache: hit`. KB: "
        "the response body at 100×."
    )
    say()
    say(
        "Growth with the history's length (the long-history recommendation; rendered afresh, "
        "no page cache; one process, median of 7):"
    )
    say()
    say("| data | its history | dashboard KB | dashboard ms | recommendation KB | "
        "recommendation ms |")  # fmt: skip
    say("|---|---:|---:|---:|---:|---:|")
    for scale, measured in growth.items():
        dashboard, recommendation = measured["dashboard"], measured["recommendation"]
        say(
            f"| {scale} | {measured['history']:,} | {dashboard['bytes'] / 1000:.0f} | "
            f"{dashboard['ms']:.1f} | {recommendation['bytes'] / 1000:.0f} | "
            f"{recommendation['ms']:.1f} |"
        )
    say()
    say(
        f"Mixed run ({seconds * 2:g} s): {mixed['readers']} readers on `{REPORT}` (its "
        "dashboard and recommendation 3, alternately) while a writer assesses recommendation 3 "
        f"once a second ({mixed['writes']} writes): {mixed['throughput']:.1f} reads/s, p50 "
        f"{mixed['p50']:.1f} ms, p95 {mixed['p95']:.1f} ms, {mixed['hit_rate']:.1%} from the "
        f"cache; each reader's first request after a write: p50 {mixed['first_p50']:.1f} ms, "
        f"p95 {mixed['first_p95']:.1f} ms."
    )
    say()
    for name, elapsed in first_times.items():
        say(f"- {name}, first request after a write (not yet in the page cache): {elapsed:.2f} s")
    say(
        "- PDF export prepared in the background (`db_worker`, recommendations/prepared.py), "
        f"after each of {len(prepared['ready'])} writes: ready {_seconds(prepared['ready'])} "
        f"after the write; the download then took {_seconds(prepared['download'])}."
    )
    say(
        f"- Streamed history CSV of every report: {int(rows):,} rows, "
        f"{int(size) / 1e6:.1f} MB in {float(stream_seconds):.2f} s; peak RSS "
        f"{float(rss_peak):.0f} MB (the process held {float(rss_before):.0f} MB before "
        "streaming)."
    )
    if not mixed["writes"] or not mixed["requests"]:
        failed.append("the mixed run wrote or read nothing")
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
