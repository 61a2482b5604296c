"""Load a generated large organisation from an org file: ``python -m benchmarks.large_org``.

Generates an org-format file with 5,000 teams (5 ops silos, platform, enabling and
complicated-subsystem teams, and stream-aligned teams with ticket dependencies on the silos and
x-as-a-service links to platforms) and 50,000 people with their memberships, then times reading
the file, the first import, a second import that changes nothing, and the analysis.

Runs against a fresh SQLite database in a temporary folder unless ``DATABASE_URL`` is set; then it
imports into that database under a new organisation slug ``bench-<timestamp>`` and leaves it there
(use a throw-away database). Options: ``--teams N --people N --format json|yaml`` (JSON by default;
both are read by C parsers first, see docs/import.md), ``--file PATH`` to import a file written
before (``--write PATH`` writes one and stops) so that ``/usr/bin/time -v`` measures the import
alone, ``--slug SLUG``, ``--json PATH`` for the figures (seconds, and the process's peak resident
memory in MB) and ``--quick`` for the first import only.

``measure`` is ``make bench``'s import workload (``benchmarks.run``): each import runs in its own
process, so that its peak memory is the import's, and the organisations it made are removed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SPECIALTIES = ["database", "networking", "backend_ops", "security", "other"]


def generate_org(*, teams: int, people: int, seed: int = 7) -> dict[str, Any]:
    """An org-format document of ``teams`` teams and ``people`` people (deterministic)."""
    rng = random.Random(seed)
    areas = max(1, teams // 100)
    units: list[dict[str, Any]] = [{"slug": "engineering", "name": "Engineering"}]
    units += [
        {"slug": f"area-{a}", "name": f"Area {a}", "kind": "product_area", "parent": "engineering"}
        for a in range(areas)
    ]
    silos = [f"silo-{s}" for s in SPECIALTIES]
    platforms = [f"platform-{i}" for i in range(max(1, teams // 25))]
    enabling = [f"enabling-{i}" for i in range(max(1, teams // 50))]
    subsystems = [f"subsystem-{i}" for i in range(max(1, teams // 50))]
    streams_count = teams - len(silos) - len(platforms) - len(enabling) - len(subsystems)
    streams = [f"stream-{i}" for i in range(streams_count)]

    team_rows: list[dict[str, Any]] = []
    slugs = silos + platforms + enabling + subsystems + streams
    for index, slug in enumerate(slugs):
        kind = slug.split("-")[0]
        team: dict[str, Any] = {
            "slug": slug,
            "name": slug.replace("-", " ").title(),
            "type": {
                "silo": "ops_silo",
                "platform": "platform",
                "enabling": "enabling",
                "subsystem": "complicated_subsystem",
                "stream": "stream_aligned",
            }[kind],
            "unit": "engineering" if kind == "silo" else f"area-{index % areas}",
            "members": [],
        }
        if kind == "silo":
            team["specialty"] = slug.removeprefix("silo-")
        if kind == "stream":
            interactions = [
                {
                    "target": silo,
                    "mode": "ticket_dependency",
                    "severity": rng.choice(["blocking", "slowing", "ok"]),
                }
                for silo in rng.sample(silos, rng.randint(1, 3))
            ]
            interactions.append({"target": rng.choice(platforms), "mode": "x_as_a_service"})
            if rng.random() < 0.05:
                interactions.append(
                    {"target": rng.choice(enabling), "mode": "facilitating", "since": "2026-01-05"}
                )
            team["interactions"] = interactions
        team_rows.append(team)

    person_rows = []
    for n in range(people):
        email = f"person{n}@large.example"
        person_rows.append({"email": email, "name": f"Person {n}"})
        team = team_rows[n % len(team_rows)]
        member: dict[str, Any] = {"person": email}
        if len(team["members"]) == 0:
            member["role"] = "lead"
        elif len(team["members"]) == 1 and team["type"] == "stream_aligned" and n % 3 == 0:
            member["role"] = "devops_buddy"
        elif len(team["members"]) == 2 and team["type"] == "platform":
            member["role"] = "product_owner"
        team["members"].append(member)
        if len(team["members"]) == 1:
            team["manager"] = email

    # Shared DevOps engineers: the first people of the backend-ops silo serve a few squads each.
    serves = []
    devops = [m["person"] for m in team_rows[SPECIALTIES.index("backend_ops")]["members"]]
    for i, email in enumerate(devops):
        for stream in streams[i * 4 : i * 4 + 4]:
            serves.append({"person": email, "team": stream, "note": "shared DevOps engineer"})

    return {
        "format": "transform.org/v1",
        "units": units,
        "people": person_rows,
        "teams": team_rows,
        "serves": serves,
    }


def write_org_file(document: dict[str, Any], folder: Path, fmt: str) -> Path:
    if fmt == "json":
        path = folder / "large-org.json"
        path.write_text(json.dumps(document, indent=1), encoding="utf-8")
        return path
    import yaml

    path = folder / "large-org.yaml"
    # libyaml's emitter: ruamel.yaml's pure-Python one took half a minute for 50,000 people.
    # The file holds only texts and lists of mappings, which read the same in YAML 1.1 and 1.2.
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(
            document, stream, Dumper=yaml.CSafeDumper, default_flow_style=None, sort_keys=False
        )
    return path


@contextmanager
def timed(label: str, figures: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    figures[label] = time.perf_counter() - start
    print(f"  {label:<32} {figures[label]:8.2f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=5000)
    parser.add_argument("--people", type=int, default=50000)
    parser.add_argument("--format", choices=["yaml", "json"], default="json")
    parser.add_argument("--file", type=Path, help="import this org file instead of generating one")
    parser.add_argument("--write", type=Path, help="only write the generated file there")
    parser.add_argument("--slug", help="organisation to import into (default: bench-<time>)")
    parser.add_argument("--json", type=Path, help="write the figures there")
    parser.add_argument("--quick", action="store_true", help="the first import only")
    args = parser.parse_args(argv)

    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        written = write_org_file(
            generate_org(teams=args.teams, people=args.people), args.write.parent, args.format
        )
        written.replace(args.write)
        print(f"written {args.write} ({args.write.stat().st_size / 1e6:.1f} MB)")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="transform-bench-"))
    if not os.environ.get("DATABASE_URL"):
        # Settings read TRANSFORM_VAR_DIR at import time: the SQLite database lands in workdir.
        os.environ["TRANSFORM_VAR_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "transform.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from teams.importers.apply import import_organization_upsert, org_import_apply
    from teams.importers.reader import read_import_files

    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    call_command("migrate", verbosity=0)

    figures: dict[str, float] = {}
    if args.file:
        path = args.file
        print(f"Large organisation from {path}")
    else:
        print(f"Large organisation: {args.teams} teams, {args.people} people ({args.format})")
        with timed("generate file", figures):
            path = write_org_file(
                generate_org(teams=args.teams, people=args.people), workdir, args.format
            )
    print(f"  file: {path} ({path.stat().st_size / 1e6:.1f} MB)")

    with timed("read and validate file", figures):
        bundle = read_import_files([path], fast=True)
    slug = args.slug or f"bench-{int(time.time())}"
    organization = import_organization_upsert(slug=slug, name="Large benchmark")

    def run_import() -> Any:
        return org_import_apply(organization=organization, bundle=bundle, change_reason="benchmark")

    with timed("first import", figures):
        first = run_import()
    print("    " + first.summary().replace("\n", "\n    "))
    total = figures["read and validate file"] + figures["first import"]
    figures["read + first import"] = total
    # The peak resident memory so far: reading and importing (and generating, without --file).
    figures["peak MB"] = peak_resident_mb()
    if not args.quick:
        with timed("second import (no change)", figures):
            second = run_import()
        if second.created or second.updated:
            print("  ERROR: the second import changed rows", file=sys.stderr)
            return 1

        analyse: Callable[..., Any] | None = None
        try:
            from teams.selectors import org_analysis_get as analyse
        except ImportError:
            print("  analysis: teams.selectors.org_analysis_get not available, skipped")
        if analyse is not None:
            with timed("analysis", figures):
                report = analyse(organization=organization)
            print(f"    {len(report['findings'])} findings")

    print(f"  {'read + first import':<32} {total:8.2f} s")
    print(f"  {'peak memory (read + import)':<32} {figures['peak MB']:8.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(figures), encoding="utf-8")
    if os.environ.get("DATABASE_URL") and not args.slug:
        # Deleting 100,000 rows one history row at a time would take longer than the benchmark.
        print(f"  organisation '{slug}' is left in the database; drop it when done")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def peak_resident_mb() -> float:
    """The process's peak resident memory in MB: Linux's VmHWM, which starts anew with the
    program (``ru_maxrss`` keeps the peak of the process that forked it, across ``exec``)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(*, teams: int, people: int, runs: int) -> list[Any]:
    """``make bench``'s import rows: JSON and YAML files of ``teams`` and ``people`` imported
    ``runs`` times each, each time into a new organisation and in a process of its own (its peak
    memory is the import's), each organisation removed after its run. Django must be set up
    (``benchmarks.common.django_setup``): the child processes use its ``DATABASE_URL``."""
    from benchmarks.common import Row, median

    size = f"{teams:,} teams / {people:,} people"
    found: dict[str, list[dict[str, float]]] = {"json": [], "yaml": []}
    this = [sys.executable, "-m", "benchmarks.large_org"]
    with tempfile.TemporaryDirectory(prefix="transform-bench-import-") as folder:
        files = {fmt: Path(folder) / f"large-org.{fmt}" for fmt in found}
        for fmt, path in files.items():
            # Written by a process of its own: this one stays small while the imports run.
            command = [*this, "--teams", str(teams), "--people", str(people)]
            command += ["--format", fmt, "--write", str(path)]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        stamp = int(time.time())
        for run in range(runs):
            for fmt, path in files.items():
                slug = f"bench-import-{stamp}-{fmt}-{run}"
                out = Path(folder) / f"{slug}.json"
                command = [*this, "--quick", "--file", str(path), "--slug", slug]
                try:
                    subprocess.run(
                        [*command, "--json", str(out)], check=True, stdout=subprocess.DEVNULL
                    )
                finally:
                    # Removed at once: every run imports into a database of the same size.
                    organization_erase(slug)
                found[fmt].append(json.loads(out.read_text(encoding="utf-8")))

    def seconds(fmt: str) -> float:
        return median([figures["read + first import"] for figures in found[fmt]])

    def peak(fmt: str) -> float:
        return max(figures["peak MB"] for figures in found[fmt])

    def note(fmt: str) -> str:
        reads = median([figures["read and validate file"] for figures in found[fmt]])
        writes = median([figures["first import"] for figures in found[fmt]])
        return f"read {reads:.1f} s + import {writes:.1f} s; peak {peak(fmt):.0f} MB, {runs} runs"

    json_row = Row(
        workload="import an org file (JSON), read + first import",
        size=size,
        median_ms=seconds("json") * 1000,
        peak_mb=peak("json"),
        goal="<= 10 s, <= 300 MB",
        note=note("json"),
    )
    json_row.met = seconds("json") <= 10 and peak("json") <= 300
    yaml_row = Row(
        workload="import an org file (YAML), read + first import",
        size=size,
        median_ms=seconds("yaml") * 1000,
        baseline_ms=json_row.median_ms,
        peak_mb=peak("yaml"),
        goal="<= 3x JSON",
        note=note("yaml") + "; baseline: the JSON import",
    )
    yaml_row.met = seconds("yaml") <= 3 * seconds("json")
    return [json_row, yaml_row]


def organization_erase(slug: str) -> None:
    """Remove the organisation ``slug`` that a benchmark made, with every row that names it and
    its history, in one transaction: SQL deletes per table (deleting 100,000 rows through the
    ORM's collector took minutes)."""
    from django.apps import apps
    from django.db import connection, transaction

    from teams.models import Organization

    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        return
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if field.is_relation and field.related_model is Organization:
                    cursor.execute(
                        f"DELETE FROM {quote(model._meta.db_table)} "
                        f"WHERE {quote(str(field.column))} = %s",
                        [organization.pk],
                    )
        history = Organization.history.model
        cursor.execute(
            f"DELETE FROM {quote(history._meta.db_table)} WHERE {quote('id')} = %s",
            [organization.pk],
        )
        cursor.execute(
            f"DELETE FROM {quote(Organization._meta.db_table)} WHERE {quote('id')} = %s",
            [organization.pk],
        )


if __name__ == "__main__":
    sys.exit(main())
