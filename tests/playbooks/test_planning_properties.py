"""The linear-time planner, as properties: on random dependency DAGs it gives the dates, slack and
critical path an independent networkx computation gives, and, with done, started and forecast
milestones and a ``today``, exactly what the previous networkx-based planner gave (copied below as
the oracle, unchanged but for names). Errors (duplicate keys, negative durations, unknown
dependencies, cycles) read the same as the oracle's. No database (docs/planning.md).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playbooks.planning import (
    DONE,
    PlanItem,
    PlanResult,
    Schedule,
    cycle_text,
    find_cycle,
    plan_schedule,
)

START = dt.date(2027, 1, 4)

# No example database, so a run leaves no files behind.
settings.register_profile(
    "planning-properties",
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile("planning-properties")


# --- the oracle: playbooks/planning.py before it was made linear (networkx, quadratic check) ---


def oracle_plan_schedule(
    items: Sequence[PlanItem], *, start: dt.date, today: dt.date | None = None
) -> PlanResult:
    by_key = _oracle_validated(items)
    graph = nx.DiGraph()
    graph.add_nodes_from(by_key)
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
        if _oracle_is_done(item):
            ends = item.done_on or begins + length
            begins = min(begins, ends)
        else:
            ends = max(item.forecast_due, begins) if item.forecast_due else begins + length
            if today is not None and ends < today:
                ends = today
        forecast_start[key] = begins
        forecast_due[key] = ends

    planned_end = max(planned_due.values(), default=start)
    forecast_end = max(forecast_due.values(), default=start)
    pinned = {key for key, item in by_key.items() if item.started_on or _oracle_is_done(item)}
    slack = _oracle_slack(
        graph, order=order, pinned=pinned, start=forecast_start, due=forecast_due, end=forecast_end
    )
    open_critical = {k for k in by_key if slack[k] == 0 and not _oracle_is_done(by_key[k])}
    schedules = {
        key: Schedule(
            planned_start=planned_start[key],
            planned_due=planned_due[key],
            forecast_start=forecast_start[key],
            forecast_due=forecast_due[key],
            slack_days=0 if _oracle_is_done(by_key[key]) else slack[key],
            critical=key in open_critical,
        )
        for key in by_key
    }
    return PlanResult(
        schedules=schedules,
        planned_end=planned_end,
        forecast_end=forecast_end,
        critical_path=_oracle_critical_path(
            graph,
            critical=open_critical,
            pinned=pinned,
            position=position,
            start=forecast_start,
            due=forecast_due,
            end=forecast_end,
        ),
    )


def _oracle_is_done(item: PlanItem) -> bool:
    return item.status == DONE or item.done_on is not None


def _oracle_validated(items: Sequence[PlanItem]) -> dict[str, PlanItem]:
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


def _oracle_slack(
    graph: nx.DiGraph,
    *,
    order: list[str],
    pinned: set[str],
    start: dict[str, dt.date],
    due: dict[str, dt.date],
    end: dt.date,
) -> dict[str, int]:
    latest_finish: dict[str, dt.date] = {}
    latest_start: dict[str, dt.date] = {}
    for key in reversed(order):
        latest_finish[key] = min(
            (latest_start[s] for s in graph.successors(key) if s not in pinned), default=end
        )
        latest_start[key] = latest_finish[key] - (due[key] - start[key])
    return {key: (latest_start[key] - start[key]).days for key in order}


def _oracle_critical_path(
    graph: nx.DiGraph,
    *,
    critical: set[str],
    pinned: set[str],
    position: dict[str, int],
    start: dict[str, dt.date],
    due: dict[str, dt.date],
    end: dt.date,
) -> list[str]:
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


# --- random plans ---------------------------------------------------------------------------------


def some_day(draw: st.DrawFn) -> dt.date:
    return START + dt.timedelta(days=draw(st.integers(-20, 80)))


@st.composite
def dags(
    draw: st.DrawFn, *, facts: bool, max_items: int = 25, shuffled: bool = True
) -> list[PlanItem]:
    """A random DAG of milestones; each depends on up to 3 earlier-made ones (a dependency
    sometimes listed twice). In a random order, or with ``shuffled=False`` listed dependencies
    first, the order the planner takes without sorting. With ``facts``, some are done, started,
    or have a reported due date."""
    count = draw(st.integers(0, max_items))
    keys = [f"k{i}" for i in range(count)]
    items = []
    for i, key in enumerate(keys):
        deps = draw(st.lists(st.sampled_from(keys[:i]), max_size=3)) if i else []
        extra: dict[str, Any] = {}
        if facts:
            state = draw(st.sampled_from(["planned", "in_progress", "at_risk", DONE, "done_on"]))
            if state != "planned":
                extra["status"] = DONE if state == DONE else "in_progress"
            if state != "planned" and draw(st.booleans()):
                extra["started_on"] = some_day(draw)
            if state == "done_on" or (state == DONE and draw(st.booleans())):
                extra["done_on"] = some_day(draw)
            if state in ("planned", "in_progress", "at_risk") and draw(st.booleans()):
                extra["forecast_due"] = some_day(draw)
        items.append(
            PlanItem(
                key=key,
                duration_days=draw(st.integers(0, 20)),
                depends_on=tuple(deps),
                **extra,
            )
        )
    return draw(st.permutations(items)) if shuffled else items


# --- an independent reference: longest paths with networkx, for plans with no facts yet ----------


def networkx_reference(items: Sequence[PlanItem]) -> tuple[dict[str, int], dict[str, int], int]:
    """Each key's earliest start and slack in days from the plan's start, and the plan's length.

    The earliest start of a milestone is the longest path to it over its ancestors, edges
    weighing their dependency's duration; its tail is the longest path from it over its
    descendants, edges weighing their dependent's duration; slack is what the longest path
    through it leaves of the longest path of the whole plan.
    """
    duration = {item.key: item.duration_days for item in items}
    graph = nx.DiGraph()
    graph.add_nodes_from(duration)
    for item in items:
        for dep in item.depends_on:
            graph.add_edge(dep, item.key, before=duration[dep], after=duration[item.key])
    earliest = {
        key: nx.dag_longest_path_length(graph.subgraph({key, *nx.ancestors(graph, key)}), "before")
        for key in graph
    }
    tail = {
        key: nx.dag_longest_path_length(graph.subgraph({key, *nx.descendants(graph, key)}), "after")
        for key in graph
    }
    length = max((earliest[key] + duration[key] for key in graph), default=0)
    slack = {key: length - earliest[key] - duration[key] - tail[key] for key in graph}
    return earliest, slack, length


def days(date: dt.date) -> int:
    return (date - START).days


@settings(PROFILE)
@given(dags(facts=False))
def test_dates_slack_and_critical_path_match_longest_paths_in_networkx(
    items: list[PlanItem],
) -> None:
    result = plan_schedule(items, start=START)
    earliest, slack, length = networkx_reference(items)
    duration = {item.key: item.duration_days for item in items}

    for key, schedule in result.schedules.items():
        assert days(schedule.planned_start) == days(schedule.forecast_start) == earliest[key]
        assert schedule.planned_due == schedule.forecast_due
        assert days(schedule.planned_due) == earliest[key] + duration[key]
        assert schedule.slack_days == slack[key]
        assert schedule.critical is (slack[key] == 0)
    assert days(result.planned_end) == days(result.forecast_end) == length

    path = result.critical_path
    graph = nx.DiGraph((dep, item.key) for item in items for dep in item.depends_on)
    assert (path == []) is (items == [])
    assert all(result.schedules[key].critical for key in path)
    assert all(graph.has_edge(dep, key) for dep, key in itertools.pairwise(path))
    if path:
        assert result.schedules[path[0]].planned_start == START
        assert sum(duration[key] for key in path) == length
        # A source before every milestone, so each edge can weigh the duration it leads into.
        graph.add_edges_from(("^", key) for key in duration)
        for dep, key in graph.edges:
            graph.edges[dep, key]["weight"] = duration[key]
        longest = nx.dag_longest_path(graph, weight="weight")
        assert sum(duration[key] for key in longest[1:]) == length


@settings(PROFILE)
@given(
    dags(facts=True),
    st.one_of(st.none(), st.builds(lambda n: START + dt.timedelta(days=n), st.integers(-5, 90))),
)
def test_with_done_started_and_reported_milestones_the_result_is_the_previous_planners(
    items: list[PlanItem], today: dt.date | None
) -> None:
    result = plan_schedule(items, start=START, today=today)

    assert result == oracle_plan_schedule(items, start=START, today=today)
    assert list(result.schedules) == [item.key for item in items]


@settings(PROFILE)
@given(
    dags(facts=True, shuffled=False),
    st.one_of(st.none(), st.builds(lambda n: START + dt.timedelta(days=n), st.integers(-5, 90))),
)
def test_listed_dependencies_first_the_result_is_the_previous_planners(
    items: list[PlanItem], today: dt.date | None
) -> None:
    result = plan_schedule(items, start=START, today=today)

    assert result == oracle_plan_schedule(items, start=START, today=today)
    assert list(result.schedules) == [item.key for item in items]


def error_of(plan: Any, items: Sequence[PlanItem]) -> str | None:
    try:
        plan(items, start=START)
    except ValueError as error:
        return str(error)
    return None


@settings(PROFILE)
@given(dags(facts=False, max_items=12), st.data())
def test_unknown_dependencies_cycles_duplicates_and_negative_durations_read_as_before(
    items: list[PlanItem], data: st.DataObject
) -> None:
    keys = [item.key for item in items] or ["k0"]
    broken = []
    for item in items:
        extra = data.draw(st.lists(st.sampled_from([*keys, "ghost", "phantom"]), max_size=2))
        key = data.draw(st.sampled_from([item.key, item.key, item.key, keys[0]]))
        duration = data.draw(st.sampled_from([item.duration_days] * 5 + [-1]))
        broken.append(
            PlanItem(key=key, duration_days=duration, depends_on=item.depends_on + tuple(extra))
        )

    assert error_of(plan_schedule, broken) == error_of(oracle_plan_schedule, broken)


def test_a_plan_listed_dependents_first_is_planned_as_one_listed_dependencies_first() -> None:
    chain = [
        PlanItem(key=f"k{i}", duration_days=i, depends_on=(f"k{i - 1}",) * bool(i))
        for i in range(50)
    ]

    forward = plan_schedule(chain, start=START)
    backward = plan_schedule(chain[::-1], start=START)

    assert forward.schedules == backward.schedules
    assert forward.critical_path == backward.critical_path == [f"k{i}" for i in range(50)]


def test_a_self_dependency_and_a_long_cycle_are_named_as_before() -> None:
    alone = [PlanItem(key="a", duration_days=1, depends_on=("a",))]
    ring = [
        PlanItem(key=f"k{i:02d}", duration_days=1, depends_on=(f"k{(i + 1) % 30:02d}",))
        for i in range(30)
    ]

    assert error_of(plan_schedule, alone) == "milestone dependencies form a cycle: a -> a"
    assert error_of(plan_schedule, ring) == error_of(oracle_plan_schedule, ring)
    assert str(error_of(plan_schedule, ring)).startswith(
        "milestone dependencies form a cycle: k00 -> k01 -> k02"
    )


def test_a_plan_past_the_last_representable_date_overflows_as_before() -> None:
    for days in (3_000_000, 10**9):
        items = [PlanItem(key="a", duration_days=days), PlanItem(key="b", duration_days=0)]

        for plan in (plan_schedule, oracle_plan_schedule):
            with pytest.raises(OverflowError):
                plan(items, start=START)
