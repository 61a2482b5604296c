"""Dates of a transformation plan: planned and forecast schedule, slack and critical path.

Pure computation on plain values: nothing here imports Django, so the rules are tested without a
database and the transformation services recompute a whole plan after every change. The rules are
documented with a worked example in ``docs/planning.md``; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

DONE = "done"


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """A dependency cycle among ``edges``, or None when they form a DAG.

    Each edge is ``(milestone, dependency)``: "milestone depends on dependency", exactly as a
    ``depends_on`` list reads, so the cycle ``["a", "b", "c", "a"]`` (shown as ``a -> b -> c ->
    a``) says a depends on b, b on c and c on a. The first key is repeated at the end. The answer
    is deterministic: the graph is built in sorted order and the cycle starts at its smallest key,
    so the same edges always name the same cycle whatever order they come in. A self-dependency
    is the cycle ``["a", "a"]``.
    """
    graph = nx.DiGraph()
    graph.add_edges_from(sorted(set(edges)))
    # nx.find_cycle without a source is super-linear on a DAG (a second on 1,000 nodes); the DAG
    # test is linear, and a cycle lies within one strongly connected component, so only the
    # cyclic component holding the smallest key is searched.
    if nx.is_directed_acyclic_graph(graph):
        return None
    cyclic = [
        component
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1 or graph.has_edge(next(iter(component)), next(iter(component)))
    ]
    component = min(cyclic, key=min)
    cycle_edges = nx.find_cycle(graph.subgraph(component), source=min(component))
    keys = [str(source) for source, _target, *_ in cycle_edges]
    first = keys.index(min(keys))
    keys = keys[first:] + keys[:first]
    return [*keys, keys[0]]


def cycle_text(cycle: Sequence[str]) -> str:
    """``a -> b -> c -> a``: how errors name a cycle returned by ``find_cycle``."""
    return " -> ".join(cycle)


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One milestone as the planner sees it.

    ``forecast_due`` is the owner's reported new due date for an unfinished milestone (a slip or
    an expected early finish); ``started_on`` and ``done_on`` are what actually happened.
    """

    key: str
    duration_days: int
    depends_on: tuple[str, ...] = ()
    status: str = "planned"
    started_on: dt.date | None = None
    done_on: dt.date | None = None
    forecast_due: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    planned_start: dt.date
    planned_due: dt.date
    forecast_start: dt.date
    forecast_due: dt.date
    slack_days: int
    critical: bool


@dataclass(frozen=True, slots=True)
class PlanResult:
    """``schedules`` in the order the items were given; ``critical_path`` from first to last."""

    schedules: dict[str, Schedule]
    planned_end: dt.date
    forecast_end: dt.date
    critical_path: list[str]


def plan_schedule(
    items: Sequence[PlanItem], *, start: dt.date, today: dt.date | None = None
) -> PlanResult:
    """The planned and forecast dates of every item, its slack, and the critical path.

    Planned: an item without dependencies starts on ``start``; its due date is its start plus
    ``duration_days``; an item with dependencies starts on the latest planned due date among
    them. Forecast: the same propagation over what is known now. A done item finishes on its
    ``done_on``; an item with ``started_on`` started then; an unfinished item due on its
    owner-reported ``forecast_due`` when given (never before its forecast start), else its forecast
    start plus its duration; and an unfinished item whose forecast due is before ``today`` is
    forecast to finish ``today``. Slack and the critical path are computed on the forecast.

    Raises ``ValueError`` for duplicate keys, negative durations, dependencies on unknown keys
    (naming them) and dependency cycles (named ``a -> b -> a``).
    """
    by_key = _validated(items)
    graph = nx.DiGraph()
    graph.add_nodes_from(by_key)
    # Edges point from a dependency to its dependent: the direction work flows in.
    graph.add_edges_from((dep, item.key) for item in items for dep in item.depends_on)
    position = {key: i for i, key in enumerate(by_key)}
    order = list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))

    planned_start: dict[str, dt.date] = {}
    planned_due: dict[str, dt.date] = {}
    forecast_start: dict[str, dt.date] = {}
    forecast_due: dict[str, dt.date] = {}
    for key in order:
        item = by_key[key]
        length = dt.timedelta(days=item.duration_days)
        deps = item.depends_on
        planned_start[key] = max((planned_due[d] for d in deps), default=start)
        planned_due[key] = planned_start[key] + length

        begins = item.started_on or max((forecast_due[d] for d in deps), default=start)
        if _is_done(item):
            ends = item.done_on or begins + length
            # A done item finished when it finished; a start after that is a stale estimate.
            begins = min(begins, ends)
        else:
            ends = max(item.forecast_due, begins) if item.forecast_due else begins + length
            if today is not None and ends < today:
                ends = today
        forecast_start[key] = begins
        forecast_due[key] = ends

    planned_end = max(planned_due.values(), default=start)
    forecast_end = max(forecast_due.values(), default=start)
    # A started or finished item's start is a fact, no longer waiting on its dependencies: it
    # neither constrains their latest finish nor continues a critical chain through them.
    pinned = {key for key, item in by_key.items() if item.started_on or _is_done(item)}
    slack = _slack(
        graph, order=order, pinned=pinned, start=forecast_start, due=forecast_due, end=forecast_end
    )
    open_critical = {k for k in by_key if slack[k] == 0 and not _is_done(by_key[k])}
    schedules = {
        key: Schedule(
            planned_start=planned_start[key],
            planned_due=planned_due[key],
            forecast_start=forecast_start[key],
            forecast_due=forecast_due[key],
            slack_days=0 if _is_done(by_key[key]) else slack[key],
            critical=key in open_critical,
        )
        for key in by_key
    }
    return PlanResult(
        schedules=schedules,
        planned_end=planned_end,
        forecast_end=forecast_end,
        critical_path=_critical_path(
            graph,
            critical=open_critical,
            pinned=pinned,
            position=position,
            start=forecast_start,
            due=forecast_due,
            end=forecast_end,
        ),
    )


def _is_done(item: PlanItem) -> bool:
    return item.status == DONE or item.done_on is not None


def _validated(items: Sequence[PlanItem]) -> dict[str, PlanItem]:
    by_key: dict[str, PlanItem] = {}
    for item in items:
        if item.key in by_key:
            raise ValueError(f"milestone {item.key!r} appears more than once in the plan")
        if item.duration_days < 0:
            raise ValueError(
                f"milestone {item.key!r}: duration_days must be 0 or more, got {item.duration_days}"
            )
        by_key[item.key] = item
    unknown = [
        f"{item.key} depends on {', '.join(sorted(set(item.depends_on) - by_key.keys()))}"
        for item in items
        if set(item.depends_on) - by_key.keys()
    ]
    if unknown:
        raise ValueError(f"unknown milestone dependencies: {'; '.join(unknown)}")
    cycle = find_cycle((item.key, dep) for item in items for dep in item.depends_on)
    if cycle:
        raise ValueError(f"milestone dependencies form a cycle: {cycle_text(cycle)}")
    return by_key


def _slack(
    graph: nx.DiGraph,
    *,
    order: list[str],
    pinned: set[str],
    start: dict[str, dt.date],
    due: dict[str, dt.date],
    end: dt.date,
) -> dict[str, int]:
    """Total slack in days: how late an item could finish without moving ``end``.

    The backward pass of the critical path method: an item's latest finish is the plan's end when
    nothing depends on it, else the earliest latest start among its dependents, where a latest
    start is the latest finish minus the item's forecast length. Dependents in ``pinned`` (started
    or done) are left out: their start no longer moves with their dependencies. Never negative:
    an unpinned dependent starts no earlier than each of its dependencies' forecast due.
    """
    latest_finish: dict[str, dt.date] = {}
    latest_start: dict[str, dt.date] = {}
    for key in reversed(order):
        latest_finish[key] = min(
            (latest_start[s] for s in graph.successors(key) if s not in pinned), default=end
        )
        latest_start[key] = latest_finish[key] - (due[key] - start[key])
    return {key: (latest_start[key] - start[key]).days for key in order}


def _critical_path(
    graph: nx.DiGraph,
    *,
    critical: set[str],
    pinned: set[str],
    position: dict[str, int],
    start: dict[str, dt.date],
    due: dict[str, dt.date],
    end: dt.date,
) -> list[str]:
    """One chain of zero-slack open items ending at the plan's end, first item first.

    Walks back from the last critical item due on ``end`` through the dependency that drives
    each start (due exactly when it starts and also critical), stopping at an item that has
    started, since its start no longer waits on anything. When there are several, the one
    given first in the plan wins, so the answer is deterministic.
    """
    ends = [key for key in critical if due[key] == end]
    if not ends:
        return []
    path = [min(ends, key=position.__getitem__)]
    while path[-1] not in pinned:
        drivers = [
            dep
            for dep in graph.predecessors(path[-1])
            if dep in critical and due[dep] == start[path[-1]]
        ]
        if not drivers:
            break
        path.append(min(drivers, key=position.__getitem__))
    return path[::-1]
