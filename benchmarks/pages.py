"""Pages and endpoints at 1,000 teams / 10,000 people: median server time and queries.

    python -m benchmarks.pages [--teams 1000 --people 10000 --answers 100000] [--repeat 7]

Generates the organisation once with ``generate_org`` (kept in the bench database for the next
run), logs in an organisation admin, and times each page and endpoint of issue 14's table in
process through Django's test client (the whole request: middleware, view, template or
renderer), with its query count. The team and people lists are also timed at 100 and 1,000 rows
against a naive DRF serializer (no ``select_related``, one query per row for the unit) over the
same rows, the baseline of the issue.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from benchmarks.common import (
    Row,
    client_logged_in,
    django_setup,
    median,
    organization_generated,
    p95,
    rows_table,
    timings,
)

PAGE_GOAL_MS = 200.0


def _queries(run: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured)


def _get(client: Any, path: str) -> Any:
    def run() -> None:
        response = client.get(path, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}: {response.content[:300]!r}")

    return run


def _naive_teams(organization: Any, rows: int) -> Any:
    from rest_framework.renderers import JSONRenderer

    from teams.apis import TeamOutputSerializer
    from teams.models import Team

    def run() -> None:
        teams = Team.objects.filter(organization=organization).order_by("slug")[:rows]
        JSONRenderer().render(TeamOutputSerializer(teams, many=True).data)

    return run


def measure(*, teams: int, people: int, answers: int, repeat: int) -> list[Row]:
    from transform.models import Transformation

    slug = f"bench-{teams}-{people}"
    organization = organization_generated(
        slug, teams=teams, people=people, answers=answers, transformation=True
    )
    client = client_logged_in(organization, role="admin", username="bench-admin")
    transformation = Transformation.objects.filter(organization=organization).first()
    size = f"{teams:,} teams / {people:,} people"
    org = f"/o/{slug}"
    api = f"/api/v1/orgs/{slug}"
    paths = {
        "GET /analysis/ (API)": f"{api}/analysis/",
        "GET /readiness/ (API)": f"{api}/readiness/",
        "graph page": f"{org}/graph/",
        "graph data": f"{org}/graph/data.json",
        "findings page": f"{org}/findings/",
        "scenario page": f"{org}/scenario/",
        "leadership page": f"{org}/leadership/",
        "printable report": f"{org}/leadership/report/",
    }
    if transformation is not None:
        paths["GET /plan/ (API)"] = f"/api/v1/transformations/{transformation.pk}/plan/"
        paths["plan timeline page"] = f"{org}/plans/{transformation.pk}/"
        paths["board page"] = f"{org}/plans/{transformation.pk}/board/"
    rows = []
    for name, path in paths.items():
        run = _get(client, path)
        found = timings(run, repeat=repeat)
        middle = median(found)
        rows.append(
            Row(
                workload=name,
                size=size,
                median_ms=middle,
                p95_ms=p95(found),
                queries=_queries(run),
                goal=f"<= {PAGE_GOAL_MS:g} ms",
                met=middle <= PAGE_GOAL_MS,
            )
        )
    for rows_wanted, ratio_goal in ((100, 6.0), (1000, 12.0)):
        for name in ("teams", "people"):
            run = _get(client, f"{api}/{name}/?page_size={rows_wanted}")
            found = timings(run, repeat=repeat)
            baseline = None
            if name == "teams":
                baseline = median(timings(_naive_teams(organization, rows_wanted), repeat=repeat))
            row = Row(
                workload=f"{name} list, {rows_wanted:,} rows",
                size=size,
                median_ms=median(found),
                p95_ms=p95(found),
                baseline_ms=baseline,
                queries=_queries(run),
                goal=f">= {ratio_goal:g}x naive" if baseline is not None else "",
            )
            if row.ratio is not None:
                row.met = row.ratio >= ratio_goal
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args(argv)
    django_setup()
    rows = measure(
        teams=options.teams, people=options.people, answers=options.answers, repeat=options.repeat
    )
    print(rows_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
