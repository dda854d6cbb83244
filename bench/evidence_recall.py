"""Evidence suggestions: recall@10 on the Norway 2024 chapter against its curated evidence links.

    .venv/bin/python bench/evidence_recall.py            # about 10 seconds, most of it migrate
    .venv/bin/python bench/evidence_recall.py --top 5    # recall@5

It creates a throw-away test database the way the test suite does (Django's test databases: an
in-memory SQLite one by default, or `test_<name>` beside the PostgreSQL database DATABASE_URL
names), migrates it, loads review_cycles.json and norway-2024.json as they are in fixtures/ now,
and drops it at the end. For each recommendation a curated link counts as found when one of the
top proposals (carried first, then ranked: what the evidence workspace shows) overlaps at least
half of the quote's characters. It prints, per recommendation and overall (micro: found links
over all links; macro: the mean of the recommendations' recall), the engine's recall beside the
baseline's — plain BM25 over single sentences, the recommendation's text as the only query —
with the mean number of sentences per proposal (longer proposals find more), and the time of
`suggest()` on the chapter (median of five runs, after one to warm up). It exits non-zero when
the engine's micro recall is below --target (0.6).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ["review_cycles.json", "norway-2024.json"]
SLUG = "norway-2024"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=10, help="proposals per recommendation")
    parser.add_argument("--target", type=float, default=0.6, help="the least micro recall")
    options = parser.parse_args()
    if options.top < 1:
        parser.error("--top must be at least 1")

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # no secret key needed: nothing is served
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_databases, teardown_databases

    from recommendations.models import Report
    from recommendations.suggestion_quality import baseline, engine, recall
    from recommendations.suggestions import suggest

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        call_command("loaddata", *FIXTURES, verbosity=0)
        report = Report.objects.get(slug=SLUG)
        ours = recall(report, engine(report, options.top))
        plain = recall(report, baseline(report, options.top))
        suggest(report, options.top)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            suggest(report, options.top)
            times.append(time.perf_counter() - started)
    finally:
        teardown_databases(databases, verbosity=0)

    k = options.top
    print(f"Evidence suggestions on {SLUG}: recall@{k} against the curated links")
    print()
    print(f"| recommendation | curated | found | recall@{k} | baseline found | baseline |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row, base in zip(ours.rows, plain.rows, strict=True):
        print(
            f"| {row.number} | {row.curated} | {row.found} | {row.recall:.2f} "
            f"| {base.found} | {base.recall:.2f} |"
        )
    print()
    print(f"overall (micro): {ours.micro:.3f}   baseline {plain.micro:.3f}")
    print(f"macro average:   {ours.macro:.3f}   baseline {plain.macro:.3f}")
    print(
        f"sentences per proposal: {ours.sentences_per_proposal:.2f}   "
        f"baseline {plain.sentences_per_proposal:.2f}"
    )
    print(f"suggest(): {statistics.median(times) * 1000:.0f} ms (median of 5)")
    if ours.micro < options.target:
        print(f"FAILED: micro recall {ours.micro:.3f} is below the target {options.target}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
