"""Time the planner on a generated plan of many milestones: ``python -m benchmarks.planning_large``.

    python -m benchmarks.planning_large --milestones 10000 --runs 7

Pure Python, no database: it measures ``playbooks.planning.plan_schedule`` alone. The plan is a
layered random DAG from a fixed seed, so runs compare: about 100 milestones a layer, each after
the first layer depending on 1 to 3 milestones of earlier layers (mostly the one just before),
durations of 1 to 30 days, and, as in a plan under way, the first layers done, some milestones
started, and some with an owner-reported forecast due date.

The baseline is the networkx critical path on the same DAG: build a ``DiGraph`` whose edges weigh
the dependency's duration (plus a sink after every milestone), then ``nx.dag_longest_path`` and
``nx.dag_longest_path_length``. It computes less than the planner (no forecast rules, no slack of
every milestone), so it is a floor to beat, not an equivalent. Prints the median (and best) of
``--runs`` runs of each and the ratio of the medians: the planner on the plan as the database gives
it (by position, so dependencies first, as every playbook of ``playbooks/library`` lists them) and
on the same plan shuffled, where the planner meets a dependency listed after its dependent, sorts
the plan with Kahn's algorithm and plans it again, touching memory out of order.

The items are built before the clock starts, as ``transformation_schedule_refresh`` builds them
from database rows before calling the planner: the figure is what that call costs, from the items
to the ``PlanResult`` with every ``Schedule`` built.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable, Sequence

import networkx as nx

from benchmarks.common import Row
from playbooks.planning import DONE, PlanItem, plan_schedule

SEED = 20270104
START = dt.date(2027, 1, 4)
TODAY = dt.date(2027, 3, 1)
LAYER_SIZE = 100


def generate_plan(*, milestones: int, seed: int = SEED) -> list[PlanItem]:
    """A deterministic layered DAG of ``milestones`` milestones, given in layer order."""
    rng = random.Random(seed)
    keys = [f"m{i:06d}" for i in range(milestones)]
    layers = [keys[i : i + LAYER_SIZE] for i in range(0, milestones, LAYER_SIZE)]
    done_layers = max(1, len(layers) // 10)
    items: list[PlanItem] = []
    for number, layer in enumerate(layers):
        for key in layer:
            deps: tuple[str, ...] = ()
            if number:
                # Mostly the previous layer, sometimes further back: long and short edges.
                sources = [
                    layers[number - 1] if rng.random() < 0.8 else rng.choice(layers[:number])
                    for _ in range(rng.randint(1, 3))
                ]
                deps = tuple(dict.fromkeys(rng.choice(source) for source in sources))
            days = rng.randint(1, 30)
            facts: dict[str, object] = {}
            if number < done_layers:
                begun = START + dt.timedelta(days=rng.randint(0, 20))
                facts = {
                    "status": DONE,
                    "started_on": begun,
                    "done_on": begun + dt.timedelta(days=rng.randint(0, 40)),
                }
            elif number < done_layers + 2 and rng.random() < 0.5:
                facts = {"status": "in_progress", "started_on": START + dt.timedelta(days=30)}
            if number >= done_layers and rng.random() < 0.05:
                facts["forecast_due"] = START + dt.timedelta(days=rng.randint(0, 400))
            items.append(PlanItem(key=key, duration_days=days, depends_on=deps, **facts))  # type: ignore[arg-type]  # facts holds dates and a status, by field
    return items


def networkx_critical_path(items: Sequence[PlanItem]) -> tuple[list[str], int]:
    """The longest path through the plan by durations, and its length in days, with networkx."""
    sink = "\x00end"
    graph = nx.DiGraph()
    for item in items:
        graph.add_edge(item.key, sink, weight=item.duration_days)
        graph.add_edges_from((dep, item.key) for dep in item.depends_on)
    duration = {item.key: item.duration_days for item in items}
    for dep, key in list(graph.edges):
        if key != sink:
            graph.edges[dep, key]["weight"] = duration[dep]
    path = nx.dag_longest_path(graph, weight="weight")
    return [key for key in path if key != sink], nx.dag_longest_path_length(graph, weight="weight")


def timed_ms(runs: dict[str, Callable[[], object]], *, rounds: int) -> dict[str, list[float]]:
    """Wall times in milliseconds of each of ``runs``, called once per round, round after round.

    Interleaved rather than one after the other, so a busy machine slows each about as much.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            began = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - began) * 1000)
    return times


def measure(*, milestones: int = 10_000, runs: int = 7) -> list[Row]:
    """``make bench``'s row: the planner on ``milestones`` (listed dependencies first, as the
    services list them) against the networkx critical path of the same run."""
    items = generate_plan(milestones=milestones)
    times = timed_ms(
        {
            "planner": lambda: plan_schedule(items, start=START, today=TODAY),
            "baseline": lambda: networkx_critical_path(items),
        },
        rounds=runs,
    )
    middle = statistics.median(times["planner"])
    return [
        Row(
            workload="planning",
            size=f"{milestones:,} milestones",
            median_ms=middle,
            baseline_ms=statistics.median(times["baseline"]),
            goal="<= 20 ms",
            met=middle <= 20,
            note="baseline: networkx critical path",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--milestones", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    items = generate_plan(milestones=args.milestones)
    edges = sum(len(item.depends_on) for item in items)
    print(f"{len(items):,} milestones, {edges:,} dependencies, median of {args.runs} runs")
    shuffled = items[:]
    random.Random(SEED).shuffle(shuffled)
    times = timed_ms(
        {
            "planner, dependencies first": lambda: plan_schedule(items, start=START, today=TODAY),
            "planner, shuffled": lambda: plan_schedule(shuffled, start=START, today=TODAY),
            "networkx critical path baseline": lambda: networkx_critical_path(items),
        },
        rounds=args.runs,
    )
    baseline = statistics.median(times["networkx critical path baseline"])
    print(f"{'':33} {'median':>9} {'best':>9}  baseline/median")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:33} {median:6.1f} ms {min(runs):6.1f} ms  {baseline / median:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
