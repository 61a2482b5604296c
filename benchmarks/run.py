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


def _import(quick: bool) -> list[Row]:
    from benchmarks import large_org

    if quick:
        return large_org.measure(teams=500, people=5000, runs=2)
    return large_org.measure(teams=5000, people=50_000, runs=3)


def _generated(slug: str, *, teams: int, people: int) -> None:
    """The organisation ``slug`` made by ``generate_org`` (graph only), unless it exists."""
    from django.core.management import call_command

    from teams.models import Organization

    if not Organization.objects.filter(slug=slug).exists():
        call_command("generate_org", org=slug, teams=teams, people=people, seed=14)


def _analysis(quick: bool) -> list[Row]:
    from benchmarks import analysis_db

    sizes = [(100, 1000, 20.0, 100.0)] if quick else [(1000, 10_000, 20.0, 100.0)]
    if not quick:
        sizes.append((5000, 50_000, 40.0, 1200.0))
    rows = []
    for teams, people, ratio_goal, cold_goal_ms in sizes:
        slug = f"bench-analysis-{teams}-{people}"
        _generated(slug, teams=teams, people=people)
        found = analysis_db.bench(slug, 3 if quick else 5, 1 if quick else 2)
        size = f"{found['teams']:,} teams / {found['people']:,} people"
        baseline_ms = found["baseline"] * 1000
        cold = Row(
            workload="analysis from the database, cold",
            size=size,
            median_ms=found["cold"] * 1000,
            baseline_ms=baseline_ms,
            goal=f">= {ratio_goal:g}x, <= {cold_goal_ms:g} ms",
            note=f"same top-10 bottlenecks: {found['same_top10']}",
        )
        cold.met = (cold.ratio or 0) >= ratio_goal and cold.median_ms <= cold_goal_ms
        warm = Row(
            workload="analysis, unchanged topology (cached)",
            size=size,
            median_ms=found["warm"] * 1000,
            baseline_ms=baseline_ms,
            note="1 query (pinned in tests/teams/test_analysis_cache.py)",
        )
        page = Row(
            workload="findings page, unchanged topology",
            size=size,
            median_ms=found["page"] * 1000,
            goal="<= 50 ms" if people <= 10_000 else "",
        )
        if people <= 10_000:
            page.met = page.median_ms <= 50
        rows += [cold, warm, page]
    return rows


def _delivery(quick: bool) -> list[Row]:
    import json
    import subprocess
    import tempfile

    recipients, sample = (10_000, 300) if quick else (100_000, 1000)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "delivery.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.delivery_large",
                "--recipients",
                str(recipients),
                "--baseline",
                "--baseline-recipients",
                str(sample),
                "--json",
                str(out),
            ],
            check=True,
        )
        found = json.loads(out.read_text(encoding="utf-8"))
    new, base = found["new"], found["baseline"]
    # Times per 1,000 messages, so that the ratio is one of rates (the baseline sends a sample).
    row = Row(
        workload="check-ins delivered by a real worker (ms per 1,000)",
        size=f"{recipients:,} recipients (baseline: one task per person, {sample:,})",
        median_ms=1e6 / new["per_second"],
        baseline_ms=1e6 / base["per_second"] if base and base["per_second"] else None,
        goal="all exactly once in <= 60 s, >= 10x",
        note=f"{new['duplicates']} duplicates, {new['lost']} lost, {new['seconds']:.0f} s",
    )
    row.met = (
        new["duplicates"] == 0
        and new["lost"] == 0
        and new["seconds"] <= 60 * recipients / 100_000
        and (row.ratio or 0) >= 10
    )
    return [row]


# Name -> the function giving its rows; run in this order.
WORKLOADS: dict[str, Callable[[bool], list[Row]]] = {
    "planning": _planning,
    "analysis": _analysis,
    "pages": _pages,
    "import": _import,
    "readiness": _readiness,
    "delivery": _delivery,
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
