"""Dates of a transformation plan: planned and forecast schedule, slack and critical path.

Pure computation on plain values: nothing here imports Django, so the rules are tested without a
database and the transformation services recompute a whole plan after every change. The rules are
documented with a worked example in ``docs/planning.md``; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

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


class Schedule(NamedTuple):
    """One milestone's dates, slack and whether it is on a critical chain.

    A named tuple, immutable and read by field name like the frozen dataclass it was: the planner
    builds one per milestone, and a named tuple is built in C where a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``, which was about a third of the
    time to plan 10,000 milestones (docs/planning.md, "Cost").
    """

    planned_start: dt.date
    planned_due: dt.date
    forecast_start: dt.date
    forecast_due: dt.date
    slack_days: int
    critical: bool


# ``Schedule._make`` without its Python-level call per row (``zip`` always gives the six fields):
# about a tenth of the time to plan 10,000 milestones.
_schedule_of_row: Callable[[Iterable[object]], Schedule] = partial(tuple.__new__, Schedule)


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
    # Dates are day numbers (``date.toordinal``) until the end, and a milestone's values sit at
    # its position in lists: int arithmetic and list indexing are several times cheaper than
    # ``date``/``timedelta`` and dicts, and the passes touch every dependency. O(items + deps).
    index = _positions(items)
    first = start.toordinal()
    # Day numbers start at 1 (``date.min``): 0 moves nothing when there is no ``today``.
    now = today.toordinal() if today is not None else 0
    planned = items
    given_position: Sequence[int] = range(len(items))
    try:
        days = _forward_pass(planned, index, first=first, now=now)
    except (KeyError, IndexError):
        # A dependency is unknown or not listed before its dependent: name the unknown ones or a
        # cycle, else plan the items in a topological order instead of the order given.
        order = _topological_order(items, index)
        planned = [items[position] for position in order]
        index = {item.key: position for position, item in enumerate(planned)}
        given_position = order
        days = _forward_pass(planned, index, first=first, now=now)

    planned_end = max(days.planned_due, default=first)
    forecast_end = max(days.forecast_due, default=first)
    latest_finish = _latest_finish(planned, index, days=days, end=forecast_end)
    # Slack is how much later an item could finish; a done item has none, and is never critical.
    slack = [
        0 if is_done else finish - due
        for finish, due, is_done in zip(latest_finish, days.forecast_due, days.done, strict=True)
    ]
    critical = [not spare and not is_done for spare, is_done in zip(slack, days.done, strict=True)]

    # A plan spans a few hundred distinct days: each becomes a ``date`` once.
    all_days = {first}.union(
        days.planned_start, days.planned_due, days.forecast_start, days.forecast_due
    )
    if max(all_days) > _LAST_DAY:
        # What date arithmetic raises, as before days were numbers; the API answers it with 400.
        raise OverflowError("date value out of range")
    date_of = {day: dt.date.fromordinal(day) for day in all_days}
    as_date = date_of.__getitem__
    rows = zip(
        map(as_date, days.planned_start),
        map(as_date, days.planned_due),
        map(as_date, days.forecast_start),
        map(as_date, days.forecast_due),
        slack,
        critical,
        strict=True,
    )
    # ``index`` lists the keys in planning order, the same as ``planned``.
    schedules = dict(zip(index, map(_schedule_of_row, rows), strict=True))
    if planned is not items:
        schedules = {item.key: schedules[item.key] for item in items}
    path = _critical_path(
        planned,
        index,
        critical=critical,
        days=days,
        end=forecast_end,
        given_position=given_position,
    )
    return PlanResult(
        schedules=schedules,
        planned_end=date_of[planned_end],
        forecast_end=date_of[forecast_end],
        critical_path=[planned[position].key for position in path],
    )


class _Days(NamedTuple):
    """The forward pass's answer: day numbers and facts, by position in the planned order."""

    planned_start: list[int]
    planned_due: list[int]
    forecast_start: list[int]
    forecast_due: list[int]
    done: list[bool]
    # Started or done: its start is a fact, no longer waiting on its dependencies.
    pinned: list[bool]


def _forward_pass(
    items: Sequence[PlanItem], index: dict[str, int], *, first: int, now: int
) -> _Days:
    """The planned and forecast start and due day of each item, in the order given.

    Assumes every item comes after its dependencies, as plans usually are listed, so nothing is
    sorted first: each list grows by one as an item is planned, and reading the dates of a
    dependency not planned yet (listed later, or the item itself) raises ``IndexError``. A
    dependency on an unknown key raises ``KeyError``.
    """
    planned_start: list[int] = []
    planned_due: list[int] = []
    forecast_start: list[int] = []
    forecast_due: list[int] = []
    done: list[bool] = []
    pinned: list[bool] = []
    for item in items:
        length = item.duration_days
        deps = item.depends_on
        # Planned dues never precede ``first`` (durations are not negative), so it can seed the
        # planned maximum; forecast dues can (an early done_on), so 0, below every day, seeds it.
        begins_planned = first
        begins = 0 if deps else first
        for dep in deps:
            position = index[dep]
            if planned_due[position] > begins_planned:
                begins_planned = planned_due[position]
            if forecast_due[position] > begins:
                begins = forecast_due[position]
        planned_start.append(begins_planned)
        planned_due.append(begins_planned + length)

        started_on, done_on = item.started_on, item.done_on
        if started_on is not None:
            begins = started_on.toordinal()
        is_done = done_on is not None or item.status == DONE
        if is_done:
            ends = done_on.toordinal() if done_on is not None else begins + length
            # A done item finished when it finished; a start after that is a stale estimate.
            if ends < begins:
                begins = ends
        else:
            reported = item.forecast_due
            ends = max(reported.toordinal(), begins) if reported is not None else begins + length
            if ends < now:
                ends = now
        forecast_start.append(begins)
        forecast_due.append(ends)
        done.append(is_done)
        pinned.append(is_done or started_on is not None)
    return _Days(planned_start, planned_due, forecast_start, forecast_due, done, pinned)


def _positions(items: Sequence[PlanItem]) -> dict[str, int]:
    """Each key's position in ``items``.

    Raises the documented ``ValueError`` for the first duplicate key or negative duration in the
    order given. The common case, a valid plan, is checked with whole-list operations; only a plan
    with a problem is walked item by item to name the first one.
    """
    index = {item.key: position for position, item in enumerate(items)}
    if len(index) < len(items) or min([item.duration_days for item in items], default=0) < 0:
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
    return index


def _unknown_dependencies(items: Sequence[PlanItem], index: dict[str, int]) -> ValueError:
    """The documented error for dependencies on unknown keys, every such item named, in order."""
    unknown = []
    for item in items:
        missing = {dep for dep in item.depends_on if dep not in index}
        if missing:
            unknown.append(f"{item.key} depends on {', '.join(sorted(missing))}")
    return ValueError(f"unknown milestone dependencies: {'; '.join(unknown)}")


def _topological_order(items: Sequence[PlanItem], index: dict[str, int]) -> list[int]:
    """Positions in an order where every item comes after its dependencies.

    Kahn's algorithm, seeded and expanded in the order given so the answer is deterministic; the
    dates, slack and critical path are the same in any dependency order. Raises the documented
    ``ValueError`` for dependencies on unknown keys, else for a cycle, which Kahn's algorithm
    detects (some items never become ready); only then is ``find_cycle`` asked to name it. A
    dependency listed twice is two edges, counted both ways.
    """
    dependents: list[list[int]] = [[] for _ in items]
    try:
        for position, item in enumerate(items):
            for dep in item.depends_on:
                dependents[index[dep]].append(position)
    except KeyError:
        raise _unknown_dependencies(items, index) from None
    waiting = [len(item.depends_on) for item in items]
    # Kahn's queue is ``order`` itself: a ``for`` loop over a list also visits what is appended
    # while it runs, so the list is the FIFO a deque would be, without popping.
    order = [position for position, count in enumerate(waiting) if not count]
    for position in order:
        for dependent in dependents[position]:
            waiting[dependent] -= 1
            if not waiting[dependent]:
                order.append(dependent)
    if len(order) < len(items):
        cycle = find_cycle((item.key, dep) for item in items for dep in item.depends_on)
        raise ValueError(f"milestone dependencies form a cycle: {cycle_text(cycle or [])}")
    return order


def _latest_finish(
    items: Sequence[PlanItem], index: dict[str, int], *, days: _Days, end: int
) -> list[int]:
    """The day each item could finish at the latest without moving ``end``; less its forecast
    due, its total slack.

    The backward pass of the critical path method over items listed after their dependencies:
    an item's latest finish is the plan's end when nothing depends on it, else the earliest
    latest start among its dependents, where a latest start is the latest finish minus the item's
    forecast length. Pinned dependents (started or done) are left out: their start no longer
    moves with their dependencies. Never before the forecast due: an unpinned dependent starts no
    earlier than each of its dependencies' forecast due. Each item, once final, lowers its
    dependencies' latest finish (seeded with ``end``, which no latest start exceeds, as forecast
    lengths are not negative), so no list of dependents is needed.
    """
    start, due, pinned = days.forecast_start, days.forecast_due, days.pinned
    latest_finish = [end] * len(items)
    for position in range(len(items) - 1, -1, -1):
        if pinned[position]:
            continue
        latest_start = latest_finish[position] - (due[position] - start[position])
        for dep in items[position].depends_on:
            dep_position = index[dep]
            if latest_start < latest_finish[dep_position]:
                latest_finish[dep_position] = latest_start
    return latest_finish


def _critical_path(
    items: Sequence[PlanItem],
    index: dict[str, int],
    *,
    critical: list[bool],
    days: _Days,
    end: int,
    given_position: Sequence[int],
) -> list[int]:
    """One chain of zero-slack open items ending at the plan's end, first item first.

    Walks back from the last critical item due on ``end`` through the dependency that drives
    each start (due exactly when it starts and also critical), stopping at an item that has
    started, since its start no longer waits on anything. When there are several, the one
    given first in the plan (the smallest ``given_position``) wins, so the answer is
    deterministic whatever order the items were planned in.
    """
    start, due, pinned = days.forecast_start, days.forecast_due, days.pinned
    first_given = given_position.__getitem__
    ends = [i for i, is_critical in enumerate(critical) if is_critical and due[i] == end]
    if not ends:
        return []
    path = [min(ends, key=first_given)]
    while not pinned[path[-1]]:
        current = path[-1]
        drivers = [
            dep
            for dep in map(index.__getitem__, items[current].depends_on)
            if critical[dep] and due[dep] == start[current]
        ]
        if not drivers:
            break
        path.append(min(drivers, key=first_given))
    return path[::-1]
