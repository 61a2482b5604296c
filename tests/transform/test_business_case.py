"""The business case in money: hand-worked numbers (docs/business-case.md), no database."""

from __future__ import annotations

import pytest

from transform.readiness.business_case import (
    Assumptions,
    assumptions_form_values,
    business_case_compute,
    is_default,
    money,
)
from transform.web.forms import AssumptionsForm

WORKED = Assumptions(
    engineer_cost_per_hour=100,
    currency="EUR",
    share_removed=0.5,
    working_hours_per_year=1_680,
    newcomers_per_year=10,
    target_days_to_first_deploy=5,
    hours_per_working_day=8,
)


def test_the_worked_example_of_the_docs_adds_up() -> None:
    case = business_case_compute(
        blocked_hours_per_week=84, time_to_first_deploy_days=12, assumptions=WORKED
    )

    # 84 wall-clock hours a week x 1,680 / 168 = 840 working hours a year.
    assert case.working_hours_lost_per_year == pytest.approx(840)
    assert case.cost_of_waiting_per_year == pytest.approx(84_000)
    assert case.waiting_savings_per_year == pytest.approx(42_000)
    # 12 - 5 = 7 calendar days = 5 working days, x 8 h x 100 x 10 newcomers.
    assert case.onboarding_working_days_saved == pytest.approx(5)
    assert case.onboarding_savings_per_year == pytest.approx(40_000)
    assert case.total_savings_per_year == pytest.approx(82_000)


def test_a_first_deploy_already_within_target_saves_nothing() -> None:
    case = business_case_compute(
        blocked_hours_per_week=0, time_to_first_deploy_days=3, assumptions=WORKED
    )

    assert case.onboarding_savings_per_year == 0
    assert case.cost_of_waiting_per_year == 0
    assert case.total_savings_per_year == 0


def test_a_missing_signal_leaves_its_part_without_data_and_out_of_the_total() -> None:
    only_waiting = business_case_compute(
        blocked_hours_per_week=168, time_to_first_deploy_days=None, assumptions=WORKED
    )
    nothing = business_case_compute(
        blocked_hours_per_week=None, time_to_first_deploy_days=None, assumptions=WORKED
    )

    assert only_waiting.onboarding_savings_per_year is None
    assert only_waiting.total_savings_per_year == pytest.approx(84_000)  # 1,680 h x 100 / 2
    assert nothing.cost_of_waiting_per_year is None
    assert nothing.total_savings_per_year is None


def assumptions_parse(params: dict[str, str]) -> tuple[Assumptions, dict[str, str]]:
    return AssumptionsForm(params).assumptions()


def test_assumptions_come_from_query_parameters_with_shares_in_percent() -> None:
    assumptions, errors = assumptions_parse(
        {"engineer_cost_per_hour": "1,250.5", "share_removed": "25", "currency": " usd "}
    )

    assert errors == {}
    assert assumptions.engineer_cost_per_hour == 1250.5
    assert assumptions.share_removed == 0.25
    assert assumptions.currency == "USD"
    assert assumptions.working_hours_per_year == Assumptions().working_hours_per_year
    assert assumptions_form_values(assumptions)["share_removed"] == "25"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("engineer_cost_per_hour", "lots"),
        ("engineer_cost_per_hour", "-1"),
        ("share_removed", "101"),
        ("working_hours_per_year", "0"),
        ("newcomers_per_year", "nan"),
        ("hours_per_working_day", "inf"),
        ("currency", "euro"),
        ("currency", "€"),
    ],
)
def test_a_wrong_assumption_is_named_and_keeps_its_default(name: str, text: str) -> None:
    assumptions, errors = assumptions_parse({name: text})

    assert list(errors) == [name]
    assert "default is used" in errors[name]
    assert assumptions == Assumptions()


def test_empty_parameters_keep_the_defaults_which_are_placeholders() -> None:
    assumptions, errors = assumptions_parse({"engineer_cost_per_hour": "", "currency": ""})

    assert errors == {}
    assert is_default(assumptions)
    assert not is_default(WORKED)


def test_money_is_whole_units_with_thousands_separators() -> None:
    assert money(84_000.4, "EUR") == "EUR 84,000"
    assert money(1_234_567.5, "USD") == "USD 1,234,568"
    assert money(None, "EUR") == "no data"
