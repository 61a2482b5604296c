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
_LAST_DAY = dt.date.max.toordinal()


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
    deps_of = _validated(items)
    order = _topological_order(items, deps_of)

    # Dates are day numbers (``date.toordinal``) through both passes, lists are indexed by
    # position in ``items``: int arithmetic and list indexing are several times cheaper than
    # ``date``/``timedelta`` and dicts, and the passes touch every dependency. O(items + deps).
    count = len(items)
    length = [item.duration_days for item in items]
    done = [_is_done(item) for item in items]
    started = [item.started_on.toordinal() if item.started_on else None for item in items]
    done_on = [item.done_on.toordinal() if item.done_on else None for item in items]
    reported = [item.forecast_due.toordinal() if item.forecast_due else None for item in items]
    first = start.toordinal()
    now = today.toordinal() if today is not None else None

    planned_start = [0] * count
    planned_due = [0] * count
    forecast_start = [0] * count
    forecast_due = [0] * count
    for i in order:
        # Planned dues never precede ``start`` (durations are not negative), so ``first`` can seed
        # the planned maximum; forecast dues can (an early done_on), so only dependencies seed it.
        begins_planned = begins = first
        deps = deps_of[i]
        if deps:
            begins = forecast_due[deps[0]]
            for dep in deps:
                if planned_due[dep] > begins_planned:
                    begins_planned = planned_due[dep]
                if forecast_due[dep] > begins:
                    begins = forecast_due[dep]
        planned_start[i] = begins_planned
        planned_due[i] = begins_planned + length[i]

        fact = started[i]
        if fact is not None:
            begins = fact
        if done[i]:
            fact = done_on[i]
            ends = fact if fact is not None else begins + length[i]
            # A done item finished when it finished; a start after that is a stale estimate.
            begins = min(begins, ends)
        else:
            fact = reported[i]
            ends = max(fact, begins) if fact is not None else begins + length[i]
            if now is not None and ends < now:
                ends = now
        forecast_start[i] = begins
        forecast_due[i] = ends

    planned_end = max(planned_due, default=first)
    forecast_end = max(forecast_due, default=first)
    # A started or finished item's start is a fact, no longer waiting on its dependencies: it
    # neither constrains their latest finish nor continues a critical chain through them.
    pinned = [begun is not None or is_done for begun, is_done in zip(started, done, strict=True)]
    slack = _slack(
        deps_of,
        order=order,
        pinned=pinned,
        start=forecast_start,
        due=forecast_due,
        end=forecast_end,
    )
    slack = [0 if is_done else days for days, is_done in zip(slack, done, strict=True)]
    critical = [not days and not is_done for days, is_done in zip(slack, done, strict=True)]
    # A plan spans a few hundred distinct days: each becomes a ``date`` once.
    all_days = {first, *planned_start, *planned_due, *forecast_start, *forecast_due}
    if max(all_days) > _LAST_DAY:
        # What date arithmetic raises, as before days were numbers; the API answers it with 400.
        raise OverflowError("date value out of range")
    date_of = {day: dt.date.fromordinal(day) for day in all_days}
    as_dates = date_of.__getitem__
    # Built by ``map`` with positional arguments: constructing 10,000 frozen dataclasses is the
    # largest cost left, and this is its cheapest plain form. Fields in ``Schedule``'s order.
    schedules = dict(
        zip(
            (item.key for item in items),
            map(
                Schedule,
                map(as_dates, planned_start),
                map(as_dates, planned_due),
                map(as_dates, forecast_start),
                map(as_dates, forecast_due),
                slack,
                critical,
            ),
            strict=True,
        )
    )
    path = _critical_path(
        deps_of,
        critical=critical,
        pinned=pinned,
        start=forecast_start,
        due=forecast_due,
        end=forecast_end,
    )
    return PlanResult(
        schedules=schedules,
        planned_end=date_of[planned_end],
        forecast_end=date_of[forecast_end],
        critical_path=[items[i].key for i in path],
    )


def _is_done(item: PlanItem) -> bool:
    return item.status == DONE or item.done_on is not None


def _validated(items: Sequence[PlanItem]) -> list[list[int]]:
    """Each item's dependencies as positions in ``items``.

    Raises the documented ``ValueError`` for the first duplicate key or negative duration in the
    order given, else for dependencies on unknown keys (every such item named, in order). The
    common case, a valid plan, is checked with whole-list operations; only a plan with a problem
    is walked item by item to name the first one.
    """
    index = {item.key: position for position, item in enumerate(items)}
    if len(index) < len(items) or min((item.duration_days for item in items), default=0) < 0:
        seen: set[str] = set()
        for item in items:
            if item.key in seen:
                raise ValueError(f"milestone {item.key!r} appears more than once in the plan")
            if item.duration_days < 0:
                raise ValueError(
                    f"milestone {item.key!r}: duration_days must be 0 or more, "
                    f"got {item.duration_days}"
                )
            seen.add(item.key)
    try:
        return [[index[dep] for dep in item.depends_on] for item in items]
    except KeyError:
        unknown = []
        for item in items:
            missing = {dep for dep in item.depends_on if dep not in index}
            if missing:
                unknown.append(f"{item.key} depends on {', '.join(sorted(missing))}")
        raise ValueError(f"unknown milestone dependencies: {'; '.join(unknown)}") from None


def _topological_order(items: Sequence[PlanItem], deps_of: list[list[int]]) -> Sequence[int]:
    """Positions in an order where every item comes after its dependencies.

    The order given when it already is one (plans are usually listed that way: checked in one
    pass), else Kahn's algorithm, seeded and expanded in the order given so the answer is
    deterministic. The dates, slack and critical path are the same in any dependency order.
    Kahn's algorithm also detects a cycle (some items never become ready); only then is
    ``find_cycle`` asked to name it, and the ``ValueError`` raised. A dependency listed twice
    is two edges, counted both ways.
    """
    if _in_dependency_order(deps_of):
        return range(len(deps_of))
    dependents: list[list[int]] = [[] for _ in deps_of]
    for position, deps in enumerate(deps_of):
        for dep in deps:
            dependents[dep].append(position)
    waiting = [len(deps) for deps in deps_of]
    # Kahn's queue is ``order`` itself: a ``for`` loop over a list also visits what is appended
    # while it runs, so the list is the FIFO a deque would be, without popping.
    order = [position for position, count in enumerate(waiting) if not count]
    for position in order:
        for dependent in dependents[position]:
            waiting[dependent] -= 1
            if not waiting[dependent]:
                order.append(dependent)
    if len(order) < len(deps_of):
        cycle = find_cycle((item.key, dep) for item in items for dep in item.depends_on)
        raise ValueError(f"milestone dependencies form a cycle: {cycle_text(cycle or [])}")
    return order


def _in_dependency_order(deps_of: list[list[int]]) -> bool:
    """Whether every item comes after all its dependencies in the order given."""
    # A plain loop: several times cheaper here than ``all`` over a generator calling ``max``.
    for position, deps in enumerate(deps_of):
        for dep in deps:
            if dep >= position:
                return False
    return True


def _slack(
    deps_of: list[list[int]],
    *,
    order: Sequence[int],
    pinned: list[bool],
    start: list[int],
    due: list[int],
    end: int,
) -> list[int]:
    """Total slack in days: how late an item could finish without moving ``end``.

    The backward pass of the critical path method: an item's latest finish is the plan's end when
    nothing depends on it, else the earliest latest start among its dependents, where a latest
    start is the latest finish minus the item's forecast length. Dependents in ``pinned`` (started
    or done) are left out: their start no longer moves with their dependencies. Never negative:
    an unpinned dependent starts no earlier than each of its dependencies' forecast due. Dates
    are day numbers, indexed by position. Each item, once final, lowers its dependencies' latest
    finish (seeded with ``end``, which no latest start exceeds, as forecast lengths are not
    negative), so no list of dependents is needed.
    """
    latest_finish = [end] * len(start)
    slack = [0] * len(start)
    for i in reversed(order):
        latest_start = latest_finish[i] - (due[i] - start[i])
        slack[i] = latest_start - start[i]
        if not pinned[i]:
            for dep in deps_of[i]:
                if latest_start < latest_finish[dep]:
                    latest_finish[dep] = latest_start
    return slack


def _critical_path(
    deps_of: list[list[int]],
    *,
    critical: list[bool],
    pinned: list[bool],
    start: list[int],
    due: list[int],
    end: int,
) -> list[int]:
    """One chain of zero-slack open items ending at the plan's end, first item first.

    Walks back from the last critical item due on ``end`` through the dependency that drives
    each start (due exactly when it starts and also critical), stopping at an item that has
    started, since its start no longer waits on anything. When there are several, the one
    given first in the plan (the smallest position) wins, so the answer is deterministic.
    """
    ends = [i for i, is_critical in enumerate(critical) if is_critical and due[i] == end]
    if not ends:
        return []
    path = [ends[0]]
    while not pinned[path[-1]]:
        current = path[-1]
        drivers = [d for d in deps_of[current] if critical[d] and due[d] == start[current]]
        if not drivers:
            break
        path.append(min(drivers))
    return path[::-1]
