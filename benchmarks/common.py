"""What the benchmarks share: the bench database, timing, and the rows of ``make bench``'s table.

Every benchmark module measures one workload and its baseline in the same run (only ratios
carry over between machines) and returns ``Row`` values; ``benchmarks.run`` prints them as one
table and writes ``var/bench/results.json`` (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

# A throw-away database: the benchmarks create organisations in it and leave them for the next
# run (generating 10,000 people takes seconds, not worth repeating).
BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/transform_bench"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/13"

T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class Row:
    """One line of the table: a workload at a size, its median, the baseline of the same run.

    ``goal`` is the issue's target in words ("<= 200 ms", ">= 20x"); ``met`` whether this run
    reached it (None when there is no goal for the row). ``ratio`` is baseline / figure (above
    1: faster than the baseline)."""

    workload: str
    size: str
    median_ms: float
    baseline_ms: float | None = None
    goal: str = ""
    met: bool | None = None
    queries: int | None = None
    p95_ms: float | None = None
    peak_mb: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_ms is None or self.median_ms <= 0:
            return None
        return self.baseline_ms / self.median_ms

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ratio": self.ratio}


def database_ensure(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not found.fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str | None = None) -> str:
    """Point Django at the bench database (``DATABASE_URL`` wins), create and migrate it."""
    url = os.environ.get("DATABASE_URL") or url or BENCH_DATABASE_URL
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "transform.settings")
    # Benchmarks time the code, not the debug toolbar of queries Django keeps when DEBUG is on.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    # The cache of a production install (the analysis, the readings): Redis, on a database of
    # its own so that a run never reads what the tests or the app left.
    os.environ.setdefault("REDIS_URL", BENCH_REDIS_URL)
    if url.startswith("postgres"):
        database_ensure(url)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    # Production settings serve hashed static files: their manifest must exist for pages.
    call_command("collectstatic", interactive=False, verbosity=0)
    # Requests are timed in a process set up as a production worker is: the WSGI module loads
    # the application and freezes what it loaded out of the garbage collector's reach.
    import transform.wsgi  # noqa: F401

    return url


def organization_generated(
    slug: str, *, teams: int, people: int, answers: int = 0, transformation: bool = False
) -> Any:
    """The organisation ``slug``, made by ``generate_org`` (seed 1) unless it exists already."""
    from django.core.management import call_command

    from teams.models import Organization

    found = Organization.objects.filter(slug=slug).first()
    if found is None:
        options: dict[str, Any] = {"answers": answers} if answers else {}
        if transformation:
            options["transformation"] = True
        call_command("generate_org", org=slug, teams=teams, people=people, seed=1, **options)
        found = Organization.objects.get(slug=slug)
    return found


def client_logged_in(organization: Any, *, role: str, username: str) -> Any:
    """A Django test client logged in as ``username`` holding ``role`` in ``organization``."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from teams.models import OrganizationRole

    user, _ = get_user_model().objects.get_or_create(username=username)
    OrganizationRole.objects.get_or_create(organization=organization, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def timings(run: Callable[[], Any], *, repeat: int, warmup: int = 1) -> list[float]:
    """Milliseconds of ``repeat`` calls of ``run``, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        run()
    found = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        found.append((time.perf_counter() - start) * 1000)
    return found


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def peak_memory() -> Iterator[dict[str, float]]:
    """The peak of Python allocations inside the block, in MB (``tracemalloc``)."""
    found: dict[str, float] = {}
    tracemalloc.start()
    try:
        yield found
    finally:
        found["mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()


def goal_at_most(value: float, limit: float) -> bool:
    return value <= limit


def rows_table(rows: list[Row]) -> str:
    """The rows as one plain-text table."""
    header = [
        "workload",
        "size",
        "median ms",
        "p95 ms",
        "baseline ms",
        "ratio",
        "queries",
        "goal",
        "met",
    ]
    lines = [header]
    for row in rows:
        lines.append(
            [
                row.workload,
                row.size,
                f"{row.median_ms:,.1f}",
                "" if row.p95_ms is None else f"{row.p95_ms:,.1f}",
                "" if row.baseline_ms is None else f"{row.baseline_ms:,.1f}",
                "" if row.ratio is None else f"{row.ratio:,.1f}x",
                "" if row.queries is None else str(row.queries),
                row.goal,
                {True: "yes", False: "NO", None: ""}[row.met],
            ]
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
