"""Exit criteria read real signals: stored survey answers (above the anonymity threshold) and
ingested events, through ``signal_lookup_get``, by default in plans and the done transition."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from core.errors import ConflictError
from teams.models import Organization, Team
from tests.builders import (
    SURVEY_AT as AT,
)
from tests.builders import (
    SURVEY_PREVIOUS as PREVIOUS,
)
from tests.builders import (
    chain_transformation,
    make_person,
    make_team,
    survey,
    westrum,
)
from tests.factories import SignalEventFactory
from transform.models import CheckinSettings, Milestone, MilestoneStatus
from transform.plans.selectors import (
    milestone_criteria_evaluate,
    no_signals,
    transformation_plan_get,
)
from transform.plans.serializers import plan_report_data
from transform.plans.services import milestone_transition
from transform.readiness.report import local_day
from transform.readiness.selectors import signal_lookup_get
from transform.rhythm.periods import Period, survey_period

pytestmark = pytest.mark.django_db

WESTRUM_AT_LEAST_5 = {"signal": "westrum_score", "op": ">=", "value": 5}


@pytest.fixture
def web(organization: Organization) -> Team:
    return make_team(organization, "web")


@pytest.fixture
def milestone(organization: Organization) -> Milestone:
    make_person(organization, email="lead@acme.test")
    transformation = chain_transformation(organization, count=1, owner="lead@acme.test")
    step = transformation.milestones.get()
    step.exit_criteria = [WESTRUM_AT_LEAST_5]
    step.status = MilestoneStatus.IN_PROGRESS
    step.save()
    return step


def now_period(organization: Organization) -> Period:
    return survey_period(
        local_day(timezone.now()), settings=CheckinSettings(organization=organization)
    )


def status_of(organization: Organization, milestone: Milestone) -> tuple[str, dict[str, Any]]:
    [result] = milestone_criteria_evaluate(organization=organization, milestones=[milestone])[
        milestone.pk
    ]
    return result.status, result.evidence


def test_westrum_at_least_5_passes_on_five_answers_that_say_so(
    organization: Organization, web: Team, milestone: Milestone
) -> None:
    survey(web, westrum(5, 6, 5, 6, 5), period=now_period(organization))

    status, evidence = status_of(organization, milestone)

    assert status == "pass"
    assert evidence["value"] == 5.4
    assert evidence["respondents"] == 5


def test_westrum_at_least_5_fails_on_five_answers_below(
    organization: Organization, web: Team, milestone: Milestone
) -> None:
    survey(web, westrum(4, 5, 4, 5, 4), period=now_period(organization))

    status, evidence = status_of(organization, milestone)

    assert status == "fail"
    assert evidence["value"] == 4.4


def test_westrum_is_unknown_while_too_few_have_answered(
    organization: Organization, web: Team, milestone: Milestone
) -> None:
    survey(web, westrum(7, 7, 7, 7), period=now_period(organization))

    status, evidence = status_of(organization, milestone)

    # Four answers are suppressed: the criterion cannot see them, so it cannot pass on them.
    assert status == "unknown"
    assert evidence["value"] is None


def test_min_respondents_applies_to_the_stored_count(
    organization: Organization, web: Team, milestone: Milestone
) -> None:
    milestone.exit_criteria = [{**WESTRUM_AT_LEAST_5, "min_respondents": 6}]
    milestone.save()
    survey(web, westrum(7, 7, 7, 7, 7), period=now_period(organization))

    status, evidence = status_of(organization, milestone)

    assert status == "unknown"
    assert evidence["respondents"] == 5


def test_the_done_transition_uses_the_stored_signals(
    organization: Organization, web: Team, milestone: Milestone
) -> None:
    with pytest.raises(
        ConflictError, match=r"No data yet for Westrum culture score \(no verdict yet\)"
    ):
        milestone_transition(milestone=milestone, to_status="done", actor=None)
    survey(web, westrum(6, 6, 6, 6, 6), period=now_period(organization))

    done = milestone_transition(milestone=milestone, to_status="done", actor=None)

    assert done.status == MilestoneStatus.DONE
    assert done.override_reason == ""


def test_the_plan_report_shows_signal_results_and_an_explicit_lookup_still_wins(
    organization: Organization, web: Team, milestone: Milestone
) -> None:
    survey(web, westrum(6, 6, 6, 6, 6), period=now_period(organization))

    plan = plan_report_data(transformation_plan_get(transformation=milestone.transformation))
    without = plan_report_data(
        transformation_plan_get(transformation=milestone.transformation, signals=no_signals)
    )

    assert plan["milestones"][0]["exit_criteria"][0]["status"] == "pass"
    assert without["milestones"][0]["exit_criteria"][0]["status"] == "unknown"


def test_the_lookup_falls_back_to_the_previous_period_for_a_kind_without_data(
    organization: Organization, web: Team
) -> None:
    survey(web, westrum(6, 6, 6, 6, 6), period=PREVIOUS)

    lookup = signal_lookup_get(organization=organization, at=AT)

    reading = lookup("westrum_score")
    assert reading is not None
    assert reading.value == 6.0
    assert reading.respondents == 5
    # As of the end of the period it was measured in.
    assert reading.as_of == dt.datetime(2026, 12, 28, tzinfo=dt.UTC)
    assert lookup("platform_satisfaction") is None


def test_the_lookup_reads_ingested_signals(organization: Organization, web: Team) -> None:
    for index in range(3):
        SignalEventFactory(
            organization=organization,
            kind="deploy",
            external_id=f"d{index}",
            team=web,
            occurred_at=dt.datetime(2027, 1, 2 + index, tzinfo=dt.UTC),
            data={"commit_times": [], "caused_failure": index == 0, "is_rework": False},
        )

    lookup = signal_lookup_get(organization=organization, at=AT)

    reading = lookup("change_failure_rate")
    assert reading is not None
    assert reading.value == pytest.approx(1 / 3)
    assert reading.respondents is None


def test_criteria_read_the_signals_at_the_start_of_the_hour() -> None:
    from transform.plans.selectors import criteria_readings_time

    assert criteria_readings_time(dt.datetime(2026, 12, 6, 23, 41, 7, 5, tzinfo=dt.UTC)) == (
        dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC)
    )


def test_an_open_ticket_gives_the_same_verdict_on_two_loads_within_the_hour(
    organization: Organization, web: Team, milestone: Milestone
) -> None:
    # A ticket still waiting: its blocked hours grow with the clock. Read at the bare "now",
    # the figure on the milestone page changed between two loads.
    hour = dt.datetime(2027, 1, 6, 15, 0, tzinfo=dt.UTC)
    SignalEventFactory(
        organization=organization,
        kind="ticket",
        external_id="t1",
        team=web,
        occurred_at=hour - dt.timedelta(hours=60),
        data={"closed_at": None, "waiting_on": None, "developers_waiting": 3},
    )
    milestone.exit_criteria = [{"signal": "blocked_developer_hours", "op": "<=", "value": 400}]
    milestone.save()

    results = []
    for minute in (10, 50):
        with mock.patch.object(timezone, "now", return_value=hour.replace(minute=minute)):
            [result] = milestone_criteria_evaluate(
                organization=organization, milestones=[milestone]
            )[milestone.pk]
        results.append(result)

    one, two = results
    assert (
        one.evidence["value"] == two.evidence["value"] == 36.0
    )  # blocked from 48 h on: 12 h x 3 developers
    assert one.message == two.message
    assert "so far (to 2027-01-06 15:00 UTC)" in one.message
