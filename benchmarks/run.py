"""``make bench``: every benchmark of docs/performance.md as one table and ``var/bench/results.json``.

    python -m benchmarks.run [--quick] [--only NAME ...]

Runs on PostgreSQL and Redis: ``DATABASE_URL`` if set, else the throw-away database
``transform_bench`` on 127.0.0.1 (created when missing; generated organisations are kept in it
for the next run). Each row gives the workload and its size, the median of several runs, the
baseline measured in the same run, their ratio, the goal and whether this run met it.
``--quick`` runs every workload at a tenth of its size (a smoke test of the benchmarks, not
figures to quote).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Row, django_setup, rows_table

RESULTS = Path("var/bench/results.json")


def _pages(quick: bool) -> list[Row]:
    from benchmarks import pages

    if quick:
        return pages.measure(teams=100, people=1000, answers=5000, repeat=3)
    return pages.measure(teams=1000, people=10_000, answers=100_000, repeat=7)


def _planning(quick: bool) -> list[Row]:
    from benchmarks import planning_large

    return planning_large.measure(milestones=1000 if quick else 10_000, runs=3 if quick else 9)


def _readiness(quick: bool) -> list[Row]:
    from benchmarks import readiness_large

    if quick:
        return readiness_large.measure(
            answers=100_000, teams=1000, people=10_000, repeat=10, raw_repeat=1
        )
    return readiness_large.measure(
        answers=1_000_000, teams=1000, people=10_000, repeat=40, raw_repeat=3
    )


# Name -> the function giving its rows; run in this order.
WORKLOADS: dict[str, Callable[[bool], list[Row]]] = {
    "planning": _planning,
    "pages": _pages,
    "readiness": _readiness,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), default=None)
    options = parser.parse_args(argv)
    database = django_setup()
    began = time.perf_counter()
    rows: list[Row] = []
    for name, measure in WORKLOADS.items():
        if options.only and name not in options.only:
            continue
        print(f"-- {name}", file=sys.stderr, flush=True)
        rows.extend(measure(options.quick))
    elapsed = time.perf_counter() - began
    print(rows_table(rows))
    unmet = [row for row in rows if row.met is False]
    print(f"\n{len(rows)} rows in {elapsed:,.0f} s; goals not met: {len(unmet)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "ran_at": dt.datetime.now(dt.UTC).isoformat(),
                "quick": options.quick,
                "database": database.rsplit("@", 1)[-1],
                "python": platform.python_version(),
                "seconds": round(elapsed, 1),
                "rows": [row.as_dict() for row in rows],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
