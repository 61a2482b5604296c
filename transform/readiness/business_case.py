"""The business case of a transformation in money: pure computation, no Django, no database.

Two savings, each from an ingested signal and a few assumptions (docs/business-case.md has the
formulas, every assumption and where its default comes from):

- **Waiting**: developers blocked on other teams' queues (``blocked_developer_hours``, measured in
  wall-clock hours) cost their working share of those hours; the transformation removes a share.
- **Onboarding**: days a newcomer needs to their first production deploy
  (``time_to_first_deploy``) beyond a target are working days not yet contributing.

The defaults are placeholders: an organisation must set its own engineer cost and shares before
the numbers mean anything, and the page says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Final

HOURS_PER_WEEK: Final = 168.0
# A calendar day of a newcomer's wait holds 5/7 of a working day (weekends are not working days).
WORKING_DAYS_PER_CALENDAR_DAY: Final = 5 / 7
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What the organisation must decide; every default is a placeholder (docs/business-case.md)."""

    engineer_cost_per_hour: float = 100.0
    currency: str = "EUR"
    share_removed: float = 0.5  # 0..1 of the blocked hours the transformation removes
    working_hours_per_year: float = 1_720.0
    newcomers_per_year: float = 10.0
    target_days_to_first_deploy: float = 5.0
    hours_per_working_day: float = 8.0


@dataclass(frozen=True, slots=True)
class Field:
    """How one assumption is entered: its query parameter, label, unit and bounds."""

    name: str
    label: str
    help: str
    minimum: float
    maximum: float
    percent: bool = False  # entered and shown as 0..100, kept as 0..1


FIELDS: Final[tuple[Field, ...]] = (
    Field(
        "engineer_cost_per_hour",
        "Engineer cost per hour",
        "Fully loaded: salary, taxes, benefits, equipment, office.",
        0,
        100_000,
    ),
    Field(
        "share_removed",
        "Share of blocked hours the transformation removes (%)",
        "How much of today's waiting the plan's changes take away.",
        0,
        100,
        percent=True,
    ),
    Field(
        "working_hours_per_year",
        "Working hours per engineer per year",
        "Contract hours minus holidays and leave.",
        1,
        8_766,
    ),
    Field(
        "newcomers_per_year",
        "Newcomers per year",
        "People (or new teams) who make a first production deploy each year.",
        0,
        1_000_000,
    ),
    Field(
        "target_days_to_first_deploy",
        "Target days to first deploy",
        "The time to first deploy the transformation aims for.",
        0,
        365,
    ),
    Field(
        "hours_per_working_day",
        "Hours per working day",
        "Working hours in one working day.",
        1,
        24,
    ),
)
CURRENCY_HELP: Final = "Three capital letters, e.g. EUR, USD, GBP."


@dataclass(frozen=True, slots=True)
class BusinessCase:
    """The computed case; amounts are per year in ``assumptions.currency``, None without data."""

    assumptions: Assumptions
    blocked_hours_per_week: float | None
    time_to_first_deploy_days: float | None
    working_hours_lost_per_year: float | None
    cost_of_waiting_per_year: float | None
    waiting_savings_per_year: float | None
    onboarding_working_days_saved: float | None  # per newcomer
    onboarding_savings_per_year: float | None
    total_savings_per_year: float | None  # the sum of the savings that have data


def currency_is_valid(code: str) -> bool:
    """Whether ``code`` is three capital letters (an ISO 4217 code's shape)."""
    return bool(_CURRENCY.fullmatch(code))


def assumptions_with(values: Mapping[str, object]) -> Assumptions:
    """The default assumptions with ``values`` (assumption name -> value) in their place."""
    return replace(Assumptions(), **values)  # type: ignore[arg-type]


def assumptions_form_values(assumptions: Assumptions) -> dict[str, str]:
    """Each assumption as the text its form field shows (shares as percentages)."""
    shown: dict[str, str] = {"currency": assumptions.currency}
    for spec in FIELDS:
        value = float(getattr(assumptions, spec.name))
        shown[spec.name] = f"{value * 100 if spec.percent else value:g}"
    return shown


def is_default(assumptions: Assumptions) -> bool:
    """True while every assumption still has its placeholder default."""
    return all(getattr(assumptions, item.name) == item.default for item in fields(Assumptions))


def business_case_compute(
    *,
    blocked_hours_per_week: float | None,
    time_to_first_deploy_days: float | None,
    assumptions: Assumptions,
) -> BusinessCase:
    """The yearly cost of waiting and the projected savings (docs/business-case.md).

    ``blocked_hours_per_week`` are wall-clock developer hours (the signal's unit); only their
    working share, ``working_hours_per_year / 168`` weeks' worth, costs money:
    ``lost = blocked_hours_per_week * working_hours_per_year / 168``. Onboarding saves
    ``max(0, time_to_first_deploy - target) * 5/7`` working days per newcomer. A missing signal
    leaves its part None; the total adds the parts that have data (None when neither has).
    """
    a = assumptions
    lost = cost = waiting_savings = None
    if blocked_hours_per_week is not None:
        lost = max(0.0, blocked_hours_per_week) * a.working_hours_per_year / HOURS_PER_WEEK
        cost = lost * a.engineer_cost_per_hour
        waiting_savings = cost * a.share_removed
    days_saved = onboarding = None
    if time_to_first_deploy_days is not None:
        calendar_days = max(0.0, time_to_first_deploy_days - a.target_days_to_first_deploy)
        days_saved = calendar_days * WORKING_DAYS_PER_CALENDAR_DAY
        onboarding = (
            days_saved * a.hours_per_working_day * a.engineer_cost_per_hour * a.newcomers_per_year
        )
    parts = [part for part in (waiting_savings, onboarding) if part is not None]
    return BusinessCase(
        assumptions=a,
        blocked_hours_per_week=blocked_hours_per_week,
        time_to_first_deploy_days=time_to_first_deploy_days,
        working_hours_lost_per_year=lost,
        cost_of_waiting_per_year=cost,
        waiting_savings_per_year=waiting_savings,
        onboarding_working_days_saved=days_saved,
        onboarding_savings_per_year=onboarding,
        total_savings_per_year=sum(parts) if parts else None,
    )


def money(amount: float | None, currency: str) -> str:
    """``EUR 84,000`` (whole units); ``no data`` for None."""
    if amount is None:
        return "no data"
    return f"{currency} {round(amount):,}"
