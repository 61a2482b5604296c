"""The organisation's zone decides its days (docs/time-zones.md): which day a status check-in
period or the digest's weekday falls on, when unfinished work is overdue, the day a milestone
starts and an answer is counted, and the times messages show, named with their zone.

At 23:30 UTC it is already the next morning in Asia/Tokyo (UTC+9, no DST), so each test compares
a Tokyo organisation with the same one in UTC at the same moment. "Now" is pinned by replacing
``django.utils.timezone.now`` (the project has no time-freezing library)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from core.zones import zone_get
from teams.models import Organization, Person
from teams.zones import organization_today
from tests.builders import CheckinRig, RhythmWorld
from tests.factories import CheckinSettingsFactory
from transform.checkins.planning import checkins_plan
from transform.models import CheckIn, CheckInKind, Delivery, DeliveryKind, MilestoneStatus
from transform.outbox.messages import delivery_message
from transform.plans.services import milestone_transition, transformation_schedule_refresh
from transform.rhythm.selectors import checkin_settings_get

pytestmark = pytest.mark.django_db

START = dt.date(2027, 1, 4)  # a Monday
TOKYO = "Asia/Tokyo"


def days(count: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """``count`` days after START at ``hour``:``minute`` UTC."""
    day = START + dt.timedelta(days=count)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def zone_set(organization: Organization, zone: str) -> None:
    Organization.objects.filter(pk=organization.pk).update(time_zone=zone)
    organization.refresh_from_db()


def now_pinned(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture(params=["UTC", TOKYO])
def zone(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(rhythm_world: RhythmWorld, zone: str) -> RhythmWorld:
    zone_set(rhythm_world.org, zone)
    return rhythm_world


def test_the_organisations_day_is_its_zones_day_across_the_date_line(world: RhythmWorld) -> None:
    late_sunday = days(6, hour=23, minute=30)  # Sunday 23:30 UTC, Monday 08:30 in Tokyo

    expected = {"UTC": START + dt.timedelta(days=6), TOKYO: START + dt.timedelta(days=7)}
    assert organization_today(world.org, late_sunday) == expected[world.org.time_zone]


def test_a_weekly_status_checkin_is_due_on_the_organisations_monday_morning(
    world: RhythmWorld,
) -> None:
    world.set_milestone(
        "kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START, checkin_every_days=7
    )
    checkins_plan(at=days(0))

    late_sunday = checkins_plan(at=days(6, hour=23, minute=30))

    # Monday 08:30 in Tokyo: its second weekly period has begun; still Sunday in UTC.
    assert late_sunday.status_checkins == {"UTC": 0, TOKYO: 1}[world.org.time_zone]
    periods = CheckIn.objects.filter(kind=CheckInKind.MILESTONE_STATUS).values_list(
        "period", flat=True
    )
    expected = {"UTC": ["2027-01-04"], TOKYO: ["2027-01-04", "2027-01-11"]}
    assert sorted(periods) == expected[world.org.time_zone]


def test_the_weekly_digest_goes_out_on_the_organisations_weekday(world: RhythmWorld) -> None:
    CheckinSettingsFactory(organization=world.org, digest_weekday=0)  # Monday
    checkins_plan(at=days(0))

    digests = checkins_plan(at=days(6, hour=23, minute=30)).digests

    assert digests == {"UTC": 0, TOKYO: 2}[world.org.time_zone]
    weeks = {
        payload["week"]
        for payload in Delivery.objects.filter(kind=DeliveryKind.DIGEST).values_list(
            "payload", flat=True
        )
    }
    assert weeks == {"UTC": {"2027-W01"}, TOKYO: {"2027-W01", "2027-W02"}}[world.org.time_zone]


def test_unfinished_work_due_today_in_tokyo_is_already_late_at_23_30_utc(
    world: RhythmWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    kickoff = world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)
    transformation_schedule_refresh(transformation=world.transformation, today=START)
    kickoff.refresh_from_db()
    due = kickoff.forecast_due
    assert due is not None
    late_on_the_due_day = dt.datetime.combine(due, dt.time(23, 30), tzinfo=dt.UTC)
    now_pinned(monkeypatch, late_on_the_due_day)

    transformation_schedule_refresh(transformation=world.transformation)

    kickoff.refresh_from_db()
    # In UTC it is still the due day: on time. In Tokyo the due day is over: it slips a day.
    slip = {"UTC": 0, TOKYO: 1}[world.org.time_zone]
    assert kickoff.forecast_due == due + dt.timedelta(days=slip)


def test_a_milestone_started_late_in_the_utc_evening_starts_on_the_organisations_day(
    world: RhythmWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    now_pinned(monkeypatch, days(2, hour=23, minute=30))

    started = milestone_transition(
        milestone=world.milestone("kickoff"), to_status=MilestoneStatus.IN_PROGRESS, actor=None
    )

    expected = {"UTC": START + dt.timedelta(days=2), TOKYO: START + dt.timedelta(days=3)}
    assert started.started_on == expected[world.org.time_zone]


# --- messages ---------------------------------------------------------------------------------


def _status_message(world: RhythmWorld) -> str:
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)
    checkins_plan(at=days(0))
    delivery = (
        Delivery.objects.select_related("checkin__recipient", "checkin__organization", "recipient")
        .filter(kind=DeliveryKind.CHECKIN, checkin__kind=CheckInKind.MILESTONE_STATUS)
        .get()
    )
    settings_row = checkin_settings_get(organization=world.org)
    return delivery_message(delivery, at=days(0), settings_row=settings_row).body


def test_a_checkin_message_shows_its_expiry_in_the_organisations_zone_with_its_name(
    world: RhythmWorld,
) -> None:
    body = _status_message(world)

    # Created Monday 09:00 UTC, valid 7 days: Monday 11 January 09:00 UTC, 18:00 in Tokyo.
    expected = {
        "UTC": "expires on Monday 11 January 2027 at 09:00 (UTC)",
        TOKYO: "expires on Monday 11 January 2027 at 18:00 (Asia/Tokyo)",
    }
    assert expected[world.org.time_zone] in body


def test_a_checkin_message_follows_the_recipients_own_zone(world: RhythmWorld) -> None:
    Person.objects.filter(pk=world.people["lead"].pk).update(time_zone="America/New_York")

    body = _status_message(world)

    assert "expires on Monday 11 January 2027 at 04:00 (America/New_York)" in body


def test_an_answer_is_counted_on_the_organisations_day(world: RhythmWorld) -> None:
    from tests.builders import pulse_answers
    from transform.answers.services import checkin_answer
    from transform.models import Response

    checkins_plan(at=days(0))
    pulse = CheckIn.objects.filter(kind=CheckInKind.PULSE_SURVEY).order_by("id").first()
    assert pulse is not None

    checkin_answer(checkin=pulse, answers=pulse_answers(), at=days(2, hour=23, minute=30))

    # Survey answers are not linked to their check-in (anonymity): the world's only answer.
    response: Any = Response.objects.get(organization=world.org)
    expected = {"UTC": START + dt.timedelta(days=2), TOKYO: START + dt.timedelta(days=3)}
    assert response.submitted_on == expected[world.org.time_zone]


# --- readiness --------------------------------------------------------------------------------


def test_the_current_survey_period_turns_over_at_the_organisations_midnight(
    world: RhythmWorld,
) -> None:
    from transform.readiness.report import period_closed
    from transform.readiness.selectors import readiness_report_get

    # 14-day periods start every other Monday: one began on 28 December, the next on 11 January.
    late_sunday = days(6, hour=23, minute=30)

    report = readiness_report_get(organization=world.org, at=late_sunday)

    expected = {"UTC": dt.date(2026, 12, 28), TOKYO: dt.date(2027, 1, 11)}
    assert report.period.start == expected[world.org.time_zone]
    before = report.period.previous() if world.org.time_zone == TOKYO else report.period
    closed = period_closed(before, at=late_sunday, zone=zone_get(world.org.time_zone))
    assert closed is (world.org.time_zone == TOKYO)


def test_with_a_checkin_hour_each_organisation_is_reached_in_its_own_morning(
    world: RhythmWorld, settings: Any
) -> None:
    settings.TRANSFORM_CHECKIN_HOUR = 8
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)

    # Monday 00:30 UTC is 09:30 in Tokyo; the UTC organisation waits for its 08:00.
    night = checkins_plan(at=days(0, hour=0, minute=30))
    morning = checkins_plan(at=days(0, hour=8, minute=5))

    in_tokyo = world.org.time_zone == TOKYO
    assert night.status_checkins == (1 if in_tokyo else 0)
    assert morning.status_checkins == (0 if in_tokyo else 1)
    assert CheckIn.objects.filter(kind=CheckInKind.MILESTONE_STATUS).count() == 1


def test_the_digest_names_the_zone_its_dates_are_days_of(world: RhythmWorld) -> None:
    CheckinSettingsFactory(organization=world.org, digest_weekday=0)
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)
    checkins_plan(at=days(0))
    digest = Delivery.objects.filter(kind=DeliveryKind.DIGEST).order_by("id").first()
    assert digest is not None
    settings_row = checkin_settings_get(organization=world.org)

    body = delivery_message(digest, at=days(0, hour=23, minute=30), settings_row=settings_row).body

    # 23:30 UTC on Monday 4 January is already Tuesday 5 January in Tokyo.
    expected = {
        "UTC": "2027-01-04; dates are days in UTC",
        TOKYO: "2027-01-05; dates are days in Asia/Tokyo",
    }
    assert f"figures for the 7 days to {expected[world.org.time_zone]})" in body


def test_the_answer_page_shows_the_links_expiry_in_the_recipients_zone(
    checkin_rig: CheckinRig,
) -> None:
    from zoneinfo import ZoneInfo

    from django.test import Client

    from transform.rhythm import links

    Organization.objects.filter(pk=checkin_rig.org.pk).update(time_zone=TOKYO)
    # The page uses the real clock: a check-in created an hour ago is open.
    checkin = checkin_rig.checkin(
        CheckInKind.PULSE_SURVEY, created=timezone.now() - dt.timedelta(hours=1)
    )
    in_tokyo = checkin.expires_at.astimezone(ZoneInfo(TOKYO))

    html = Client().get(f"/c/{links.checkin_token(checkin)}/").content.decode()

    assert f"{in_tokyo.day} {in_tokyo:%B %Y, %H:%M} (Asia/Tokyo)" in html
