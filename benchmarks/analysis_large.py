"""Time the organisation analysis on a generated 5,000-team, 50,000-person snapshot.

    python -m benchmarks.analysis_large            # rustworkx betweenness + networkx sampled
    python -m benchmarks.analysis_large --exact    # also exact networkx betweenness (~1 minute)

Pure Python, no database: it measures ``teams.analysis`` alone. The snapshot is generated from a
fixed seed so runs compare: about five ops silos (one per specialty) receiving ticket dependencies
from most stream-aligned teams, platform teams that themselves wait on silos (so waits chain and
betweenness matters), shared DevOps engineers serving several squads, people in two teams, and a
few hundred collaborations of various ages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import networkx as nx

from teams import analysis
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
)

SEED = 20240601
AS_OF = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)
SPECIALTIES = ("database", "networking", "backend_ops", "security", "other")
SEVERITIES = ("blocking", "slowing", "ok")

_T = TypeVar("_T")


def generate_snapshot(*, teams: int = 5000, people: int = 50000, seed: int = SEED) -> OrgSnapshot:
    """A deterministic, realistic-looking organisation of ``teams`` teams and ``people`` people."""
    rng = random.Random(seed)
    silos = [f"ops-{specialty}" for specialty in SPECIALTIES]
    rest = teams - len(silos)
    counts = {
        "stream_aligned": int(rest * 0.6),
        "platform": int(rest * 0.1),
        "enabling": int(rest * 0.05),
        "complicated_subsystem": int(rest * 0.05),
    }
    counts["unclassified"] = rest - sum(counts.values())

    team_nodes = [
        TeamNode(slug=slug, name=slug, type="ops_silo", specialty=specialty)
        for slug, specialty in zip(silos, SPECIALTIES, strict=True)
    ]
    by_type: dict[str, list[str]] = {"ops_silo": silos}
    for team_type, count in counts.items():
        slugs = [f"{team_type.replace('_', '-')}-{i:04d}" for i in range(count)]
        by_type[team_type] = slugs
        team_nodes += [TeamNode(slug=slug, name=slug, type=team_type) for slug in slugs]
    all_teams = [team.slug for team in team_nodes]
    stream, platforms = by_type["stream_aligned"], by_type["platform"]

    emails = [f"person{i:05d}@example.com" for i in range(people)]
    person_nodes = [PersonNode(email=email, name=email.split("@")[0]) for email in emails]

    memberships: dict[tuple[str, str], MembershipEdge] = {}
    devops = emails[:200]  # shared DevOps engineers: they serve squads, members of none
    for i, email in enumerate(emails[200:]):
        team = all_teams[i % len(all_teams)]
        memberships[(email, team)] = MembershipEdge(person=email, team=team, role="member")
        if rng.random() < 0.05:  # split between two teams
            other = rng.choice(all_teams)
            if (email, other) not in memberships:
                memberships[(email, other)] = MembershipEdge(
                    person=email, team=other, role="member", allocation_percent=50
                )
    for team in stream:
        if rng.random() < 0.4:
            email = rng.choice(emails[200:])
            memberships[(email, team)] = MembershipEdge(
                person=email, team=team, role="devops_buddy", allocation_percent=20
            )
    for team in platforms:
        if rng.random() < 0.6:
            email = rng.choice(emails[200:])
            memberships[(email, team)] = MembershipEdge(
                person=email, team=team, role="product_owner", allocation_percent=50
            )
    serves = {
        (email, team): ServesEdge(person=email, team=team)
        for email in devops
        for team in rng.sample(stream, rng.randint(2, 8))
    }

    interactions: dict[tuple[str, str, str], InteractionEdge] = {}

    def link(source: str, target: str, mode: str, **extra: Any) -> None:
        if source != target:
            interactions.setdefault(
                (source, target, mode),
                InteractionEdge(source=source, target=target, mode=mode, **extra),
            )

    for team in stream:
        for silo in rng.sample(silos, rng.randint(0, 3)):
            link(team, silo, "ticket_dependency", severity=rng.choice(SEVERITIES))
        if rng.random() < 0.3:
            link(team, rng.choice(platforms), "ticket_dependency", severity=rng.choice(SEVERITIES))
        if rng.random() < 0.2:
            link(team, rng.choice(stream), "ticket_dependency", severity=rng.choice(SEVERITIES))
        for platform in rng.sample(platforms, rng.randint(0, 2)):
            link(team, platform, "x_as_a_service")
    for team in platforms:
        for silo in rng.sample(silos, rng.randint(0, 2)):
            link(team, silo, "ticket_dependency", severity=rng.choice(SEVERITIES))
    for team in by_type["enabling"]:
        for target in rng.sample(stream, 3):
            link(team, target, "facilitating", since=AS_OF.date() - dt.timedelta(weeks=6))
    for _ in range(max(1, teams // 8)):  # a few hundred collaborations at full size
        since = AS_OF.date() - dt.timedelta(days=rng.randint(1, 400))
        end = since + dt.timedelta(weeks=rng.randint(4, 20)) if rng.random() < 0.5 else None
        link(
            rng.choice(stream),
            rng.choice(stream + by_type["complicated_subsystem"]),
            "collaboration",
            since=since,
            expected_end=end,
        )

    return OrgSnapshot(
        organization="bench",
        name="Benchmark organisation",
        as_of=AS_OF,
        teams=team_nodes,
        people=person_nodes,
        memberships=sorted(memberships.values(), key=lambda e: (e.team, e.person)),
        serves=sorted(serves.values(), key=lambda e: (e.team, e.person)),
        interactions=sorted(interactions.values(), key=lambda e: (e.source, e.target, e.mode)),
    )


def timed(label: str, func: Callable[[], _T]) -> _T:
    start = time.perf_counter()
    result = func()
    print(f"{label:<48} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--teams", type=int, default=5000)
    parser.add_argument("--people", type=int, default=50000)
    parser.add_argument(
        "--exact", action="store_true", help="also time exact networkx betweenness (slow)"
    )
    parser.add_argument("--sample", type=int, default=500, help="k for sampled networkx")
    args = parser.parse_args()

    snapshot = timed(
        "generate snapshot", lambda: generate_snapshot(teams=args.teams, people=args.people)
    )
    print(
        f"  {len(snapshot.teams)} teams, {len(snapshot.people)} people, "
        f"{len(snapshot.memberships)} memberships, {len(snapshot.serves)} serves links, "
        f"{len(snapshot.interactions)} interactions"
    )
    thresholds = analysis.AnalysisThresholds()
    index = timed("index rows", lambda: analysis._index(snapshot))
    dep_graph = timed(
        "build dependency graph (networkx)", lambda: analysis.dependency_graph(snapshot)
    )
    print(f"  {dep_graph.number_of_nodes()} nodes, {dep_graph.number_of_edges()} edges")
    people_graph = timed(
        "build people-team graph (networkx)", lambda: analysis.people_graph(snapshot)
    )
    print(f"  {people_graph.number_of_nodes()} nodes, {people_graph.number_of_edges()} edges")

    betweenness = timed(
        "betweenness, exact (rustworkx)", lambda: analysis.dependency_betweenness(dep_graph)
    )
    sampled = timed(
        f"betweenness, sampled k={args.sample} (networkx)",
        lambda: nx.betweenness_centrality(dep_graph, k=args.sample, seed=SEED),
    )
    top = sorted(betweenness, key=betweenness.__getitem__, reverse=True)[:10]
    top_sampled = sorted(sampled, key=sampled.__getitem__, reverse=True)[:10]
    print(f"  top-10 overlap sampled vs exact: {len(set(top) & set(top_sampled))}/10")
    if args.exact:
        exact = timed("betweenness, exact (networkx)", lambda: nx.betweenness_centrality(dep_graph))
        worst = max(abs(exact[node] - betweenness[node]) for node in exact)
        print(f"  largest difference rustworkx vs networkx: {worst:.2e}")

    old_bridges = timed(
        "articulation points (networkx)", lambda: analysis.bridging_people(people_graph)
    )
    bridges = timed(
        "person bridges, multi-team people (rustworkx)",
        lambda: analysis.person_bridges(index.person_teams),
    )
    print(f"  {len(bridges)} bridges, same as networkx: {bridges == old_bridges}")
    steps: list[tuple[str, Callable[[], list[analysis.Finding]]]] = [
        (
            "team_bottleneck",
            lambda: analysis.team_bottleneck_findings(
                index=index, betweenness=betweenness, t=thresholds
            ),
        ),
        (
            "person_bottleneck",
            lambda: analysis.person_bottleneck_findings(index=index, bridges=bridges, t=thresholds),
        ),
        ("ops_silo", lambda: analysis.ops_silo_findings(index=index, t=thresholds)),
        (
            "missing_devops_buddy + missing_product_owner",
            lambda: analysis.missing_role_findings(index=index),
        ),
        (
            "cognitive_load",
            lambda: analysis.cognitive_load_findings(snapshot=snapshot, index=index, t=thresholds),
        ),
        (
            "long_running_collaboration",
            lambda: analysis.long_running_collaboration_findings(
                snapshot=snapshot, today=snapshot.as_of.date(), t=thresholds
            ),
        ),
        ("unclassified_team", lambda: analysis.unclassified_team_findings(index=index)),
    ]
    for name, step in steps:
        found = timed(f"findings: {name}", step)
        print(f"  {len(found)} findings")
    timed("metrics", lambda: analysis.compute_metrics(snapshot=snapshot, index=index))
    report = timed("analyze_snapshot, end to end", lambda: analysis.analyze_snapshot(snapshot))
    print(f"  {len(report['findings'])} findings, flow_score {report['metrics']['flow_score']}")


if __name__ == "__main__":
    main()
