"""Time the organisation analysis from the database, cold and warm, against the all-networkx
pipeline, on organisations made by ``generate_org``.

    createdb -h 127.0.0.1 -U postgres transform_bench     # once
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/transform_bench
    python manage.py migrate
    python manage.py generate_org --org ana-10k --teams 1000 --people 10000 --seed 14
    python manage.py generate_org --org ana-50k --teams 5000 --people 50000 --seed 14
    python -m benchmarks.analysis_db --org ana-10k --org ana-50k [--runs 5]

Rows, each the median of ``--runs`` runs:
- **baseline**: the same snapshot analysed by the all-networkx pipeline (exact betweenness by
  ``networkx.betweenness_centrality``, bridges as articulation points of the whole people-team
  graph by ``networkx.articulation_points``, the garbage collector running), read and analysed
  on every request;
- **cold**: ``teams.selectors.org_analysis_get`` with its cache entry deleted first (the
  version query, the snapshot's six queries, the analysis, the cache write);
- **warm**: ``org_analysis_get`` on the unchanged topology (one query and a cache read);
- **findings page**: ``GET /o/<org>/findings/`` on the unchanged topology, server side through
  Django's test client (the snapshot is still read; the report comes from the cache).

It also checks that the baseline and Transform name the same top-10 team bottlenecks. Only this
benchmark's own cache entries are deleted, never the whole cache (Redis may be shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from unittest import mock

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "transform.settings")
django.setup()

import networkx as nx  # noqa: E402  (after django.setup())
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from teams import analysis, selectors  # noqa: E402
from teams.models import Organization, OrganizationRole, Role  # noqa: E402
from teams.selectors import org_analysis_get, org_analysis_key_get, org_snapshot_get  # noqa: E402


@contextmanager
def all_networkx(snapshot: Any) -> Iterator[None]:
    """The analysis as it ran with networkx alone: exact networkx betweenness, articulation
    points of the whole people-team graph, and the cyclic garbage collector left running."""

    def bridges(person_teams: dict[str, set[str]]) -> set[str]:
        return analysis.bridging_people(analysis.people_graph(snapshot))

    with (
        mock.patch.object(analysis, "dependency_betweenness", nx.betweenness_centrality),
        mock.patch.object(analysis, "person_bridges", bridges),
        mock.patch.object(analysis, "cyclic_gc_paused", nullcontext),
        mock.patch.object(selectors, "cyclic_gc_paused", nullcontext),
    ):
        yield


def median_of(runs: int, func: Callable[[], Any], before: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def top_bottlenecks(report: dict[str, Any]) -> list[str]:
    return [
        finding["subjects"][0]["slug"]
        for finding in report["findings"]
        if finding["kind"] == "team_bottleneck"
    ][:10]


def viewer(organization: Organization) -> Client:
    user, _ = get_user_model().objects.get_or_create(username="bench-analysis-viewer")
    OrganizationRole.objects.get_or_create(organization=organization, user=user, role=Role.MEMBER)
    client = Client()
    client.force_login(user)
    return client


def bench(slug: str, runs: int, baseline_runs: int) -> dict[str, Any]:
    organization = Organization.objects.get(slug=slug)

    def forget() -> None:
        cache.delete(org_analysis_key_get(organization=organization).at(timezone.now().date()))

    snapshot = org_snapshot_get(organization=organization)
    with all_networkx(snapshot):
        baseline_report = analysis.analyze_snapshot(snapshot)
        baseline = median_of(
            baseline_runs,
            lambda: analysis.analyze_snapshot(org_snapshot_get(organization=organization)),
        )
    snapshot_time = median_of(runs, lambda: org_snapshot_get(organization=organization))
    cold = median_of(runs, lambda: org_analysis_get(organization=organization), before=forget)
    report = org_analysis_get(organization=organization)
    reset_queries()  # with DEBUG on, a full query log would make the capture below empty
    with CaptureQueriesContext(connection) as warm_queries:
        org_analysis_get(organization=organization)
    warm = median_of(runs, lambda: org_analysis_get(organization=organization))

    client = viewer(organization)
    path = f"/o/{slug}/findings/"
    assert client.get(path, secure=True).status_code == 200
    page = median_of(runs, lambda: client.get(path, secure=True))

    return {
        "org": slug,
        "teams": len(snapshot.teams),
        "people": len(snapshot.people),
        "baseline": baseline,
        "snapshot": snapshot_time,
        "cold": cold,
        "warm": warm,
        "warm_queries": len(warm_queries),
        "page": page,
        "same_top10": top_bottlenecks(report) == top_bottlenecks(baseline_report),
        "same_findings": report["findings"] == baseline_report["findings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--org", action="append", required=True, help="generate_org slug")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-runs", type=int, default=3)
    args = parser.parse_args()

    print(f"database {connection.vendor}, cache {settings.CACHES['default']['BACKEND']}")
    header = (
        f"{'org':<10} {'teams':>6} {'people':>7} {'baseline':>9} {'snapshot':>9} {'cold':>8} "
        f"{'warm':>8} {'findings page':>14} {'cold x':>7} {'warm x':>7}  top-10 same"
    )
    print(header)
    for slug in args.org:
        row = bench(slug, args.runs, args.baseline_runs)
        print(
            f"{row['org']:<10} {row['teams']:>6} {row['people']:>7} "
            f"{row['baseline'] * 1000:>7.0f}ms {row['snapshot'] * 1000:>7.0f}ms "
            f"{row['cold'] * 1000:>6.0f}ms {row['warm'] * 1000:>6.1f}ms "
            f"{row['page'] * 1000:>12.0f}ms "
            f"{row['baseline'] / row['cold']:>6.1f}x {row['baseline'] / row['warm']:>6.0f}x  "
            f"{row['same_top10']} (all findings equal: {row['same_findings']}; "
            f"warm queries {row['warm_queries']})"
        )


if __name__ == "__main__":
    main()
