"""Plan dates, forecast, slack and critical path on plain items: no database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from playbooks.planning import PlanItem, Schedule, cycle_text, find_cycle, plan_schedule

START = dt.date(2027, 1, 4)


def day(month_day: str) -> dt.date:
    """``"01-14"`` -> 2027-01-14."""
    return dt.date.fromisoformat(f"2027-{month_day}")


def item(key: str, days: int, *deps: str, **facts: Any) -> PlanItem:
    return PlanItem(key=key, duration_days=days, depends_on=tuple(deps), **facts)


def diamond(**facts: dict[str, Any]) -> list[PlanItem]:
    """The worked example of docs/planning.md.

    a (10 d) -> b (5 d) -> d (4 d), a -> c (3 d) -> d, and e (2 d) on its own. Planned: a 01-04 to
    01-14, b 01-14 to 01-19, c 01-14 to 01-17, d 01-19 to 01-23, e 01-04 to 01-06. Slack: c can
    finish by 01-19 (2 days), e by 01-23 (17 days); a, b, d have none.
    """
    shape = {"a": (10, ()), "b": (5, ("a",)), "c": (3, ("a",)), "d": (4, ("b", "c")), "e": (2, ())}
    return [item(key, days, *deps, **facts.get(key, {})) for key, (days, deps) in shape.items()]


def dates(schedule: Schedule) -> tuple[str, str, str, str]:
    return (
        schedule.planned_start.isoformat()[5:],
        schedule.planned_due.isoformat()[5:],
        schedule.forecast_start.isoformat()[5:],
        schedule.forecast_due.isoformat()[5:],
    )


def test_a_ten_day_milestone_from_january_4_is_due_january_14_and_its_dependent_starts_then():
    result = plan_schedule([item("first", 10), item("second", 3, "first")], start=START)

    assert result.schedules["first"].planned_start == dt.date(2027, 1, 4)
    assert result.schedules["first"].planned_due == dt.date(2027, 1, 14)
    assert result.schedules["second"].planned_start == dt.date(2027, 1, 14)
    assert result.schedules["second"].planned_due == dt.date(2027, 1, 17)
    assert result.planned_end == result.forecast_end == dt.date(2027, 1, 17)


def test_a_dependent_of_a_diamond_starts_on_the_latest_due_date_of_its_dependencies():
    result = plan_schedule(diamond(), start=START)

    assert {key: dates(s)[:2] for key, s in result.schedules.items()} == {
        "a": ("01-04", "01-14"),
        "b": ("01-14", "01-19"),
        "c": ("01-14", "01-17"),
        "d": ("01-19", "01-23"),
        "e": ("01-04", "01-06"),
    }
    assert result.planned_end == day("01-23")


def test_every_milestone_without_dependencies_starts_on_the_start_date():
    result = plan_schedule(
        [item("x", 3), item("y", 7), item("z", 1, "x", "y"), item("w", 2)], start=START
    )

    assert [result.schedules[k].planned_start for k in ("x", "y", "w")] == [START] * 3
    assert result.schedules["z"].planned_start == day("01-11")
    assert result.planned_end == day("01-12")


def test_slack_and_critical_path_match_the_hand_computed_example():
    result = plan_schedule(diamond(), start=START)

    assert {key: s.slack_days for key, s in result.schedules.items()} == {
        "a": 0,
        "b": 0,
        "c": 2,
        "d": 0,
        "e": 17,
    }
    assert {key for key, s in result.schedules.items() if s.critical} == {"a", "b", "d"}
    assert result.critical_path == ["a", "b", "d"]


def test_equal_branches_are_all_critical_and_the_path_takes_the_first_given():
    items = [item("root", 2), item("left", 5, "root"), item("right", 5, "root")]
    items.append(item("join", 1, "right", "left"))

    result = plan_schedule(items, start=START)

    assert all(s.critical and s.slack_days == 0 for s in result.schedules.values())
    assert result.critical_path == ["root", "left", "join"]


def test_the_result_does_not_depend_on_the_order_dependencies_are_listed_in():
    forward = plan_schedule(diamond(), start=START)
    backward = plan_schedule(list(reversed(diamond())), start=START)

    assert forward.schedules == backward.schedules
    assert forward.critical_path == backward.critical_path == ["a", "b", "d"]


def test_a_reported_slip_moves_the_forecast_of_every_dependent_and_the_end():
    plan = diamond(
        a={"status": "done", "done_on": day("01-14")},
        b={"status": "in_progress", "started_on": day("01-14"), "forecast_due": day("01-22")},
    )

    result = plan_schedule(plan, start=START, today=day("01-16"))

    assert dates(result.schedules["b"]) == ("01-14", "01-19", "01-14", "01-22")
    assert dates(result.schedules["d"]) == ("01-19", "01-23", "01-22", "01-26")
    assert result.planned_end == day("01-23")
    assert result.forecast_end == day("01-26")
    assert result.schedules["c"].slack_days == 5
    assert result.critical_path == ["b", "d"]


def test_an_early_finish_pulls_the_forecast_of_dependents_earlier():
    plan = diamond(a={"status": "done", "started_on": day("01-04"), "done_on": day("01-10")})

    result = plan_schedule(plan, start=START, today=day("01-10"))

    assert dates(result.schedules["a"]) == ("01-04", "01-14", "01-04", "01-10")
    assert dates(result.schedules["b"]) == ("01-14", "01-19", "01-10", "01-15")
    assert dates(result.schedules["d"]) == ("01-19", "01-23", "01-15", "01-19")
    assert result.forecast_end == day("01-19")
    assert result.planned_end == day("01-23")


def test_a_late_finish_pushes_the_forecast_of_dependents_later():
    plan = diamond(a={"status": "done", "done_on": day("01-17")})

    result = plan_schedule(plan, start=START, today=day("01-20"))

    assert result.schedules["b"].forecast_start == day("01-17")
    assert result.forecast_end == day("01-26")


def test_an_unfinished_milestone_past_its_due_date_is_forecast_to_finish_today():
    plan = diamond(a={"status": "in_progress", "started_on": day("01-04")})

    result = plan_schedule(plan, start=START, today=day("01-20"))

    assert dates(result.schedules["a"]) == ("01-04", "01-14", "01-04", "01-20")
    assert dates(result.schedules["b"]) == ("01-14", "01-19", "01-20", "01-25")
    assert result.forecast_end == day("01-29")
    assert result.critical_path == ["a", "b", "d"]


def test_a_reported_due_date_already_past_is_forecast_today():
    plan = [item("a", 10, status="at_risk", forecast_due=day("01-12"))]

    result = plan_schedule(plan, start=START, today=day("01-15"))

    assert result.schedules["a"].forecast_due == day("01-15")


def test_without_today_nothing_is_moved_to_today():
    plan = [item("a", 10, status="in_progress", started_on=day("01-04"))]

    assert plan_schedule(plan, start=START).schedules["a"].forecast_due == day("01-14")


def test_a_done_milestone_is_not_moved_to_today_even_when_finished_long_ago():
    plan = [item("a", 10, status="done", done_on=day("01-08")), item("b", 1, "a")]

    result = plan_schedule(plan, start=START, today=day("03-01"))

    assert result.schedules["a"].forecast_due == day("01-08")
    assert result.schedules["b"].forecast_due == day("03-01")


def test_a_reported_due_date_before_the_forecast_start_is_raised_to_the_start():
    plan = diamond(
        a={"forecast_due": day("01-20")},
        b={"forecast_due": day("01-16")},
    )

    result = plan_schedule(plan, start=START)

    assert result.schedules["b"].forecast_start == day("01-20")
    assert result.schedules["b"].forecast_due == day("01-20")


def test_done_milestones_have_no_slack_and_are_never_critical():
    plan = diamond(a={"status": "done", "done_on": day("01-14")})

    result = plan_schedule(plan, start=START, today=day("01-14"))

    assert result.schedules["a"].critical is False
    assert result.schedules["a"].slack_days == 0
    assert result.critical_path == ["b", "d"]


def test_a_dependent_started_early_does_not_give_its_dependency_negative_slack():
    plan = [
        item("a", 10, status="in_progress", started_on=day("01-04")),
        item("b", 10, "a", status="in_progress", started_on=day("01-09")),
    ]

    result = plan_schedule(plan, start=START, today=day("01-10"))

    assert result.schedules["b"].forecast_due == day("01-19")
    assert result.schedules["a"].slack_days == 5
    assert result.critical_path == ["b"]


def test_an_empty_plan_ends_on_its_start_date():
    result = plan_schedule([], start=START)

    assert result.schedules == {}
    assert result.planned_end == result.forecast_end == START
    assert result.critical_path == []


def test_a_dependency_cycle_is_refused_and_named():
    plan = [item("a", 1, "b"), item("b", 1, "c"), item("c", 1, "a"), item("d", 1)]

    with pytest.raises(ValueError, match="form a cycle: a -> b -> c -> a"):
        plan_schedule(plan, start=START)


def test_unknown_dependencies_are_refused_and_named():
    plan = [item("a", 1, "ghost"), item("b", 1, "a", "phantom", "zombie")]

    with pytest.raises(ValueError, match="unknown") as caught:
        plan_schedule(plan, start=START)

    assert str(caught.value) == (
        "unknown milestone dependencies: a depends on ghost; b depends on phantom, zombie"
    )


def test_a_key_given_twice_is_refused():
    with pytest.raises(ValueError, match="'a' appears more than once"):
        plan_schedule([item("a", 1), item("a", 2)], start=START)


def test_find_cycle_returns_none_for_a_dag():
    assert find_cycle([("d", "b"), ("d", "c"), ("b", "a"), ("c", "a")]) is None


def test_find_cycle_names_the_same_cycle_whatever_order_the_edges_come_in():
    edges = [("b", "c"), ("c", "a"), ("a", "b"), ("x", "a")]

    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle(list(reversed(edges))) == ["a", "b", "c", "a"]
    assert cycle_text(["a", "b", "c", "a"]) == "a -> b -> c -> a"


def test_find_cycle_follows_depends_on_from_milestone_to_dependency():
    # "review" depends on "draft", "draft" depends on "review".
    assert find_cycle([("review", "draft"), ("draft", "review")]) == ["draft", "review", "draft"]


def test_find_cycle_reports_a_self_dependency():
    assert find_cycle([("a", "a")]) == ["a", "a"]


def test_a_schedule_is_read_only():
    schedule = plan_schedule([item("a", 1)], start=START).schedules["a"]

    with pytest.raises(AttributeError):
        schedule.slack_days = 3  # type: ignore[misc]  # the assignment under test is refused
