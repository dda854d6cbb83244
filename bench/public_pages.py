"""Public pages benchmark: how fast anyone without a log-in reads a public snapshot, without the
page cache (the public pages never use it) and without a CDN in front.

Creates a throw-away PostgreSQL database with `generate_dataset`, publishes a snapshot of the
report with the long history and makes it public, then serves the app under gunicorn with
production settings on a loopback port and reads each public page with wrk (no cookies, as a
CDN or a reader does): robots.txt as the floor, the index, the report's latest page, the
snapshot page, its JSON and CSV; the PDF is timed one request at a time. Prints requests per
second, p50 and p95 latency, bytes, and checks that no response sets a cookie.

    .venv/bin/python bench/public_pages.py            # about 2 minutes
    .venv/bin/python bench/public_pages.py --smoke    # tiny data, 1 s per page
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    DEFAULT_SERVER,
    ROOT,
    gunicorn,
    is_loopback,
    manage,
    production_env,
    throwaway_databases,
)

WRK_SCRIPT = ROOT / "bench" / "wrk_report.lua"
SCALES = {
    "full": "--reports 3 --assessments 20000 --comments 1000 --long-history 2000",
    "smoke": "--reports 2 --assessments 500 --comments 50 --long-history 100",
}
PUBLISH_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.utils.text import slugify
from recommendations.models import Report
from recommendations.publishing.public import make_public
from recommendations.publishing.snapshots import publish_snapshot

User = get_user_model()
publisher = User.objects.create_superuser("benchpublisher", "", None)
report = Report.objects.get(slug="benchland-000-2024")
snapshot = publish_snapshot(report, published_by=publisher, title="Benchmark status")
copy = make_public(snapshot, by=publisher, show_names=False)
print("PUBLIC" + json.dumps({
    "sha256": copy.sha256,
    "country": slugify(report.country),
    "year": report.year,
    "bytes": len(copy.content.encode()),
    "assessments": len(json.loads(copy.content)["assessments"]),
}))
"""


def fetch(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"Host": "127.0.0.1"})
    response = connection.getresponse()
    body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    connection.close()
    return response.status, headers, body


def measure_wrk(port: int, path: str, seconds: float, clients: int) -> dict:
    output = subprocess.run(
        ["wrk", f"--threads={min(2, clients)}", f"--connections={clients}",
         f"--duration={seconds:g}s", "--timeout=10s", f"--script={WRK_SCRIPT}",
         f"http://127.0.0.1:{port}{path}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result = json.loads(output.split("WRK", 1)[1])
    return {
        "throughput": result["requests"] / result["seconds"],
        "p50": result["p50_ms"],
        "p95": result["p95_ms"],
        "failures": result["failures"],
    }


def measure_sequential(port: int, path: str, requests: int) -> dict:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        status, _, _ = fetch(port, path)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"{path}: {status}")
    return {
        "throughput": 1000 / statistics.mean(times),
        "p50": statistics.median(times),
        "p95": max(times),
        "failures": 0,
        "first": times[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s per page (CI)")
    parser.add_argument("--seconds", type=float, help="per page (default 5, smoke 1)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_SERVER", DEFAULT_SERVER),
        help="a loopback PostgreSQL URL, used to create and drop the benchmark database",
    )
    options = parser.parse_args()
    seconds = options.seconds or (1.0 if options.smoke else 5.0)
    if not is_loopback(options.server):
        parser.error("the benchmark runs against a loopback PostgreSQL only")
    if not 1 <= options.clients <= 32:
        parser.error("--clients must be 1–32")
    use_wrk = shutil.which("wrk") is not None
    name = f"tracker_bench_public_{os.getpid()}"
    static_root = tempfile.mkdtemp(prefix="bench-static-")
    problems: list[str] = []
    try:
        with throwaway_databases(options.server, name) as urls:
            env = production_env(
                urls[name], DJANGO_LOG_LEVEL="ERROR", DJANGO_STATIC_ROOT=static_root,
                DATABASE_CONN_MAX_AGE="60", PAGE_CACHE="0",
            )  # fmt: skip
            manage(env, "migrate", "--no-input", "-v", "0")
            scale = SCALES["smoke" if options.smoke else "full"]
            print(manage(env, "generate_dataset", *scale.split(), capture=True).strip())
            output = manage(env, "shell", "--no-imports", "-c", PUBLISH_SCRIPT, capture=True)
            public = json.loads(output.split("PUBLIC", 1)[1])
            manage(env, "collectstatic", "--no-input", "-v", "0")
            snapshot = f"/public/snapshots/{public['sha256']}/"
            pages = [
                ("robots.txt (the floor)", "/robots.txt"),
                ("index", "/public/"),
                ("a report's latest", f"/public/{public['country']}/{public['year']}/"),
                ("snapshot page", snapshot),
                ("snapshot page, Norwegian", snapshot + "?lang=nb"),
                ("JSON download", snapshot + "export.json"),
                ("CSV download", snapshot + "export.csv"),
            ]
            print(
                f"\nPublic snapshot: {public['assessments']:,} assessments, JSON "
                f"{public['bytes'] / 1024:,.0f} KB; {options.workers} gunicorn workers, "
                f"{options.clients} clients, no page cache, "
                f"{'wrk' if use_wrk else 'sequential requests (no wrk)'}\n"
            )
            print("| page | req/s | p50 ms | p95 ms | KB | Cache-Control |")
            print("|---|---:|---:|---:|---:|---|")
            with gunicorn(env, options.workers) as port:
                for label, path in [*pages, ("PDF download", snapshot + "export.pdf")]:
                    status, headers, body = fetch(port, path)
                    if status != 200:
                        problems.append(f"{path}: {status}")
                        continue
                    if "set-cookie" in headers:
                        problems.append(f"{path} sets a cookie")
                    if "cookie" in headers.get("vary", "").lower():
                        problems.append(f"{path} varies on Cookie")
                    if label == "PDF download" or not use_wrk:
                        result = measure_sequential(port, path, 3 if options.smoke else 5)
                    else:
                        result = measure_wrk(port, path, seconds, options.clients)
                    if result["failures"]:
                        problems.append(f"{path}: {result['failures']} failed requests")
                    print(
                        f"| {label} | {result['throughput']:,.1f} | {result['p50']:,.1f} | "
                        f"{result['p95']:,.1f} | {len(body) / 1024:,.1f} | "
                        f"{headers.get('cache-control', '')} |",
                        flush=True,
                    )
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
