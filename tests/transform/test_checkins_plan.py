"""Planning the rhythm (transform/checkins/planning.py and services.py): who gets which check-in
when, reminders, escalations, the weekly digest, event-triggered surveys, idempotency and query
counts."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from teams.models import Organization, Person, Role, Team, TeamType
from tests.builders import RhythmWorld, build_rhythm_world, chain_transformation
from tests.factories import (
    CheckinSettingsFactory,
    DeliveryFactory,
    MembershipFactory,
    MilestoneEventFactory,
    OrganizationFactory,
    OrganizationRoleFactory,
    PersonFactory,
    ResponseFactory,
    SignalEventFactory,
    TeamFactory,
    UserFactory,
)
from transform.checkins import planning as checkins_module
from transform.checkins import services as checkin_services
from transform.checkins.planning import PlanSummary, checkins_plan
from transform.checkins.services import event_surveys_trigger, reminders_count_up
from transform.instruments.selectors import instrument_get
from transform.models import (
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    SignalEvent,
    Transformation,
)
from transform.outbox.messages import Message, delivery_message
from transform.outbox.tasks import dispatch_deliveries
from transform.plans.services import milestone_transition
from transform.rhythm.periods import period_containing
from transform.rhythm.selectors import checkin_settings_get

pytestmark = pytest.mark.django_db

START = dt.date(2027, 1, 4)  # a Monday
UTC = dt.UTC


def moment(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def days(count: int, hour: int = 9) -> dt.datetime:
    """``count`` days after START, at ``hour`` UTC."""
    return moment(START + dt.timedelta(days=count), hour)


AT = days(0)
# The default 14-day survey periods run every other Monday from 2024-01-01
# (transform/rhythm/periods.py): the one containing START began the Monday before.
SURVEY_START = dt.date(2026, 12, 28)


@pytest.fixture
def world(rhythm_world: RhythmWorld) -> RhythmWorld:
    return rhythm_world


def settings_for(org: Organization, **fields: Any) -> CheckinSettings:
    row: Any = CheckinSettingsFactory(organization=org, **fields)
    return row


def version(org: Organization, key: str) -> int:
    return instrument_get(organization=org, key=key).version


def checkins(kind: str, **filters: Any) -> list[CheckIn]:
    return list(CheckIn.objects.filter(kind=kind, **filters).order_by("id"))


# --- milestone status -------------------------------------------------------------------------


def test_an_in_progress_milestone_owner_is_asked_every_n_days_and_not_before(
    world: RhythmWorld,
) -> None:
    kickoff = world.set_milestone(
        "kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START, checkin_every_days=7
    )

    first = checkins_plan(at=AT)
    early = checkins_plan(at=days(6, hour=23))
    second = checkins_plan(at=days(7))

    assert (first.status_checkins, early.status_checkins, second.status_checkins) == (1, 0, 1)
    rows = checkins(CheckInKind.MILESTONE_STATUS)
    assert [row.period for row in rows] == ["2027-01-04", "2027-01-11"]
    row = rows[0]
    assert row.recipient_id == kickoff.owner_id == world.people["lead"].pk
    assert row.subject == f"milestone:{kickoff.pk}"
    assert (row.milestone_id, row.transformation_id, row.team_id) == (
        kickoff.pk,
        world.transformation.pk,
        None,
    )
    assert row.instruments == [["milestone-status", version(world.org, "milestone-status")]]
    assert row.period_start == SURVEY_START
    assert row.created_at == AT
    assert row.expires_at == AT + dt.timedelta(days=7)
    assert row.answered_at is None
    assert len(row.link_nonce) >= 16
    assert rows[0].link_nonce != rows[1].link_nonce
    delivery = Delivery.objects.get(dedupe_key=f"checkin:{row.pk}")
    assert (delivery.kind, delivery.recipient_id, delivery.checkin_id) == (
        DeliveryKind.CHECKIN,
        row.recipient_id,
        row.pk,
    )
    assert (delivery.channel, delivery.payload, delivery.status) == ("email", {}, "pending")
    assert delivery.created_at == delivery.next_attempt_at == AT


def test_an_at_risk_milestone_without_a_start_day_counts_from_the_transformation_start(
    world: RhythmWorld,
) -> None:
    world.set_milestone(
        "buddies", status=MilestoneStatus.AT_RISK, status_reason="late", checkin_every_days=5
    )

    checkins_plan(at=days(12))

    (row,) = checkins(CheckInKind.MILESTONE_STATUS)
    assert row.period == "2027-01-14"  # START + 10: the third 5-day period from the start
    assert row.recipient_id == world.milestone("buddies").owner_id


def test_the_owner_of_a_milestone_starting_later_is_not_asked_before_it_starts(
    world: RhythmWorld,
) -> None:
    world.set_milestone(
        "kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START + dt.timedelta(days=3)
    )

    assert checkins_plan(at=days(2)).status_checkins == 0
    assert checkins_plan(at=days(3)).status_checkins == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"status": MilestoneStatus.PLANNED},
        {"status": MilestoneStatus.DONE, "done_on": START, "started_on": START},
        {"status": MilestoneStatus.BLOCKED, "status_reason": "waiting", "started_on": START},
    ],
    ids=["planned", "done", "blocked"],
)
def test_planned_done_and_blocked_milestones_get_no_status_checkin(
    world: RhythmWorld, fields: dict[str, Any]
) -> None:
    world.set_milestone("kickoff", **fields)
    world.set_milestone("side-quest", status=MilestoneStatus.IN_PROGRESS, started_on=START)

    summary = checkins_plan(at=days(3))

    assert summary.status_checkins == 1
    (row,) = checkins(CheckInKind.MILESTONE_STATUS)
    assert row.milestone_id == world.milestone("side-quest").pk


# --- pulse surveys ----------------------------------------------------------------------------


def test_every_member_gets_one_pulse_survey_per_period_for_their_primary_team(
    world: RhythmWorld,
) -> None:
    summary = checkins_plan(at=AT)

    rows = checkins(CheckInKind.PULSE_SURVEY)
    primary = {row.recipient.email: row.team.slug for row in rows if row.team is not None}
    assert summary.pulse_checkins == 4
    # Highest allocation wins (bob); a tie goes to the first team by slug (dave).
    assert primary == {
        "alice@acme.test": "payments",
        "bob@acme.test": "payments",
        "carol@acme.test": "platform",
        "dave@acme.test": "payments",
    }
    assert {(row.subject, row.period, row.period_start) for row in rows} == {
        ("pulse", SURVEY_START.isoformat(), SURVEY_START)
    }
    assert Delivery.objects.filter(kind=DeliveryKind.CHECKIN, checkin__in=rows).count() == 4


def test_members_of_a_platform_team_are_not_asked_to_rate_the_platform(world: RhythmWorld) -> None:
    checkins_plan(at=AT)

    asked = {row.recipient.email: row.instruments for row in checkins(CheckInKind.PULSE_SURVEY)}
    everything = [
        [key, version(world.org, key)] for key in ("westrum", "adkar", "platform-satisfaction")
    ]
    assert asked["alice@acme.test"] == everything
    for platform_member in ("bob@acme.test", "carol@acme.test", "dave@acme.test"):
        assert asked[platform_member] == everything[:2]


def test_the_next_pulse_survey_waits_for_the_next_survey_period(world: RhythmWorld) -> None:
    settings_for(world.org, survey_every_days=7)

    counts = [checkins_plan(at=at).pulse_checkins for at in (AT, days(6), days(7))]

    assert counts == [4, 0, 4]
    assert sorted({row.period for row in checkins(CheckInKind.PULSE_SURVEY)}) == [
        "2027-01-04",
        "2027-01-11",
    ]


def test_the_configured_pulse_instruments_are_asked_and_unknown_ones_skipped(
    world: RhythmWorld,
) -> None:
    settings_for(world.org, pulse_instruments=["westrum", "no-such-survey"])

    checkins_plan(at=AT)

    rows = checkins(CheckInKind.PULSE_SURVEY)
    assert {tuple(map(tuple, row.instruments)) for row in rows} == {
        (("westrum", version(world.org, "westrum")),)
    }


def test_an_organisation_without_an_active_transformation_is_not_asked_anything(
    world: RhythmWorld,
) -> None:
    world.transformation.milestones.update(status=MilestoneStatus.DONE, done_on=START)

    summary = checkins_plan(at=AT)

    assert summary == PlanSummary()
    assert not CheckIn.objects.exists()
    assert not Delivery.objects.exists()


# --- topology verification --------------------------------------------------------------------


def test_managers_are_asked_to_verify_their_team_once_per_cadence(world: RhythmWorld) -> None:
    settings_for(world.org, topology_verify_every_days=30)
    period = period_containing(START, every_days=30)

    counts = [checkins_plan(at=at).topology_checkins for at in (AT, days(1))]
    counts.append(checkins_plan(at=moment(period.end)).topology_checkins)

    assert counts == [1, 0, 1]
    rows = checkins(CheckInKind.TOPOLOGY_VERIFICATION)
    payments = world.teams["payments"]
    assert {(row.recipient_id, row.team_id, row.subject) for row in rows} == {
        (world.people["em"].pk, payments.pk, f"team:{payments.pk}")
    }
    assert [row.period for row in rows] == [period.key, period.end.isoformat()]
    assert rows[0].instruments == [
        ["topology-verification", version(world.org, "topology-verification")]
    ]
    # The platform team has no manager: nobody is asked about it.
    assert not CheckIn.objects.filter(team=world.teams["platform"], kind="topology_verification")


# --- reminders --------------------------------------------------------------------------------


def test_unanswered_checkins_are_reminded_every_n_days_up_to_the_cap(world: RhythmWorld) -> None:
    settings_for(
        world.org,
        reminder_after_days=2,
        max_reminders=2,
        link_valid_days=10,
        survey_every_days=28,  # no new pulse round during the test
    )
    checkins_plan(at=AT)
    sent = list(CheckIn.objects.order_by("id"))
    answered = sent[0]
    CheckIn.objects.filter(pk=answered.pk).update(answered_at=days(1))

    counts = [checkins_plan(at=days(n)).reminders for n in (1, 2, 3, 4, 5, 6, 9)]

    others = len(sent) - 1
    assert counts == [0, others, 0, others, 0, 0, 0]
    keys = set(Delivery.objects.filter(kind="reminder").values_list("dedupe_key", flat=True))
    assert keys == {f"reminder:{c.pk}:{n}" for c in sent[1:] for n in (1, 2)}
    assert set(
        CheckIn.objects.exclude(pk=answered.pk).values_list("reminders_sent", flat=True)
    ) == {2}
    assert CheckIn.objects.get(pk=answered.pk).reminders_sent == 0
    reminder = Delivery.objects.get(dedupe_key=f"reminder:{sent[1].pk}:2")
    assert (reminder.checkin_id, reminder.recipient_id, reminder.payload) == (
        sent[1].pk,
        sent[1].recipient_id,
        {},
    )
    assert reminder.created_at == reminder.next_attempt_at == days(4)


def test_the_next_reminder_counts_from_the_last_message_not_from_the_checkin(
    world: RhythmWorld,
) -> None:
    settings_for(
        world.org,
        reminder_after_days=2,
        max_reminders=3,
        link_valid_days=30,
        survey_every_days=28,  # no new pulse round during the test
    )
    checkins_plan(at=AT)
    total = CheckIn.objects.count()

    # The planner did not run for a week: one reminder now, the next two days later.
    assert checkins_plan(at=days(7)).reminders == total
    assert checkins_plan(at=days(8)).reminders == 0
    assert checkins_plan(at=days(9)).reminders == total


def test_an_expired_checkin_is_not_reminded(world: RhythmWorld) -> None:
    settings_for(world.org, reminder_after_days=2, max_reminders=2, link_valid_days=2)
    checkins_plan(at=AT)

    assert checkins_plan(at=days(2)).reminders == 0
    assert not Delivery.objects.filter(kind=DeliveryKind.REMINDER).exists()


def test_a_reminder_already_counted_by_another_planner_is_not_counted_again(
    world: RhythmWorld,
) -> None:
    settings_for(world.org, reminder_after_days=2, max_reminders=2)
    checkins_plan(at=AT)
    first = CheckIn.objects.order_by("id").first()
    assert first is not None
    # Another planner reminded this one already (count and message), as of the same moment.
    CheckIn.objects.filter(pk=first.pk).update(reminders_sent=1)
    DeliveryFactory(
        organization=world.org,
        kind=DeliveryKind.REMINDER,
        dedupe_key=f"reminder:{first.pk}:1",
        recipient=first.recipient,
        checkin=first,
        channel="email",
        next_attempt_at=days(2),
        created_at=days(2),
    )

    checkins_plan(at=days(2))

    assert CheckIn.objects.get(pk=first.pk).reminders_sent == 1
    assert Delivery.objects.filter(checkin=first, kind=DeliveryKind.REMINDER).count() == 1


def test_a_reminder_counted_by_another_planner_after_our_read_is_not_counted_again(
    world: RhythmWorld,
) -> None:
    checkins_plan(at=AT)
    first, second = CheckIn.objects.order_by("id")[:2]
    # Both were read with 0 reminders; meanwhile another planner counted the first one.
    CheckIn.objects.filter(pk=first.pk).update(reminders_sent=1)

    counted = reminders_count_up([(first.pk, 0), (second.pk, 0)])

    assert counted == 1
    assert CheckIn.objects.get(pk=first.pk).reminders_sent == 1
    assert CheckIn.objects.get(pk=second.pk).reminders_sent == 1


# --- escalation -------------------------------------------------------------------------------


def rendered(delivery: Delivery, *, at: dt.datetime) -> Message:
    """The message the outbox would send for ``delivery`` at ``at`` (rendered at send time)."""
    return delivery_message(
        delivery, at=at, settings_row=checkin_settings_get(organization=delivery.organization)
    )


def block(world: RhythmWorld, key: str, *, reason: str, at: dt.datetime) -> MilestoneEvent:
    milestone_transition(
        milestone=world.milestone(key), to_status="blocked", reason=reason, actor=None
    )
    event = MilestoneEvent.objects.filter(milestone__key=key, to_status="blocked").latest("id")
    MilestoneEvent.objects.filter(pk=event.pk).update(at=at)
    event.refresh_from_db()
    return event


def test_a_milestone_blocked_longer_than_the_limit_escalates_to_the_sponsor_once(
    world: RhythmWorld,
) -> None:
    settings_for(world.org, escalate_blocked_after_days=7)
    event = block(world, "kickoff", reason="No room for the all-hands", at=AT)

    counts = [checkins_plan(at=at).escalations for at in (days(7), days(7, hour=10), days(9))]

    assert counts == [0, 1, 0]
    escalation = Delivery.objects.get(kind=DeliveryKind.ESCALATION)
    kickoff = world.milestone("kickoff")
    assert escalation.dedupe_key == f"escalation:milestone:{kickoff.pk}:event:{event.pk}"
    assert escalation.recipient_id == world.people["sponsor"].pk
    assert escalation.checkin_id is None
    assert escalation.channel == "email"
    assert escalation.created_at == days(7, hour=10)
    assert escalation.payload == {
        "transformation": world.transformation.pk,
        "milestone": world.milestone("kickoff").pk,
        "event": event.pk,
    }
    message = rendered(escalation, at=days(7, hour=10))
    subject, text = message.subject, message.body
    assert subject == "Blocked for 7 days: Kick off the pilot (Pilot plan)"
    assert "Kick off the pilot" in text
    assert "(kickoff)" in text
    assert "Owner: Lead <lead@acme.test>" in text
    assert "Reason: No room for the all-hands" in text
    assert "blocked for 7 days, since 2027-01-04" in text
    assert f"/o/acme/plans/{world.transformation.pk}/" in text


def test_a_new_blocking_episode_escalates_again(world: RhythmWorld) -> None:
    settings_for(world.org, escalate_blocked_after_days=3)
    first = block(world, "kickoff", reason="No room", at=AT)
    checkins_plan(at=days(4))
    milestone_transition(
        milestone=world.milestone("kickoff"), to_status="in_progress", reason="ok", actor=None
    )
    second = block(world, "kickoff", reason="Speaker ill", at=days(5))

    counts = [checkins_plan(at=at).escalations for at in (days(6), days(8, hour=10))]

    assert counts == [0, 1]
    keys = list(
        Delivery.objects.filter(kind=DeliveryKind.ESCALATION)
        .order_by("id")
        .values_list("dedupe_key", flat=True)
    )
    kickoff_id = world.milestone("kickoff").pk
    assert keys == [
        f"escalation:milestone:{kickoff_id}:event:{first.pk}",
        f"escalation:milestone:{kickoff_id}:event:{second.pk}",
    ]
    latest = Delivery.objects.filter(kind=DeliveryKind.ESCALATION).latest("id")
    assert "Reason: Speaker ill" in rendered(latest, at=days(8, hour=10)).body


def test_without_a_sponsor_the_lead_change_agent_is_told(db: Any) -> None:
    world = build_rhythm_world(sponsor=False)
    block(world, "kickoff", reason="No room", at=AT)

    assert checkins_plan(at=days(8, hour=10)).escalations == 1

    escalation = Delivery.objects.get(kind=DeliveryKind.ESCALATION)
    assert escalation.recipient_id == world.people["lead"].pk
    assert "lead change agent" in rendered(escalation, at=days(8, hour=10)).body


# --- weekly digest ----------------------------------------------------------------------------


def test_the_weekly_digest_goes_to_leaders_and_sponsors_once_a_week_from_its_weekday(
    world: RhythmWorld,
) -> None:
    settings_for(world.org, digest_weekday=2)  # Wednesday

    counts = [checkins_plan(at=days(n)).digests for n in (0, 1, 2, 3, 6, 7, 8, 9)]

    # Mon, Tue: not yet; Wed: sent; Thu, Sun: already sent; next Mon, Tue: not yet; Wed: sent.
    assert counts == [0, 0, 2, 0, 0, 0, 0, 2]
    keys = set(Delivery.objects.filter(kind="digest").values_list("dedupe_key", flat=True))
    people = [world.people["boss"].pk, world.people["sponsor"].pk]
    assert keys == {f"digest:{pk}:{week}" for pk in people for week in ("2027-W01", "2027-W02")}


def test_the_digest_reports_milestones_dates_checkins_and_failures_but_no_scores(
    world: RhythmWorld,
) -> None:
    settings_for(world.org, digest_weekday=3)
    world.set_milestone("kickoff", status=MilestoneStatus.DONE, started_on=START, done_on=START)
    world.set_milestone("buddies", status=MilestoneStatus.IN_PROGRESS, started_on=START)
    block(world, "side-quest", reason="Sponsor on leave", at=AT)
    Transformation.objects.filter(pk=world.transformation.pk).update(
        planned_end=dt.date(2027, 2, 1), forecast_end=dt.date(2027, 2, 4)
    )
    checkins_plan(at=AT)
    status_checkin = checkins(CheckInKind.MILESTONE_STATUS)[0]
    CheckIn.objects.filter(pk=status_checkin.pk).update(answered_at=days(1))
    failed = Delivery.objects.filter(checkin__kind=CheckInKind.PULSE_SURVEY).first()
    assert failed is not None
    Delivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    ResponseFactory(
        organization=world.org,
        kind="survey",
        team=world.teams["payments"],
        period_start=SURVEY_START,
        submitted_on=START,
        scores={"westrum_score": 6.25},
    )

    assert checkins_plan(at=days(3)).digests == 2

    digest = Delivery.objects.filter(kind="digest").first()
    assert digest is not None
    assert digest.payload == {"week": "2027-W01"}
    message = rendered(digest, at=days(3))
    text = message.body
    assert message.subject == "Transformation digest 2027-W01: Acme"
    assert "Milestones: 1 of 4 done, 1 in progress, 0 at risk, 1 blocked, 1 planned" in text, text
    assert "End: forecast 2027-02-04, planned 2027-02-01 (3 days late)" in text
    assert "Status check-ins: 1 of 1 answered" in text
    assert "Blocked: Tell leadership how it goes (owner " in text
    assert "Sponsor on leave" in text
    assert "All check-ins and surveys: 1 of 6 answered; failed deliveries: 1." in text
    assert f"/o/acme/plans/{world.transformation.pk}/" in text
    assert "6.25" not in text
    assert "westrum" not in text.lower()


# --- idempotency, transactions, query counts --------------------------------------------------


def make_everything_due(world: RhythmWorld) -> None:
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)
    block(world, "side-quest", reason="Sponsor on leave", at=AT - dt.timedelta(days=30))


def test_planning_twice_at_the_same_moment_creates_nothing_new(world: RhythmWorld) -> None:
    make_everything_due(world)

    first = checkins_plan(at=AT)
    rows = (CheckIn.objects.count(), Delivery.objects.count())
    second = checkins_plan(at=AT)

    assert first.as_dict() == {
        "status_checkins": 1,
        "pulse_checkins": 4,
        "topology_checkins": 1,
        "reminders": 0,
        "escalations": 1,
        "digests": 2,
        "interaction_overruns": 0,
    }
    assert second == PlanSummary()
    assert (CheckIn.objects.count(), Delivery.objects.count()) == rows == (6, 9)


def test_planning_again_later_in_the_same_periods_creates_nothing_new(world: RhythmWorld) -> None:
    make_everything_due(world)
    checkins_plan(at=AT)

    again = checkins_plan(at=AT + dt.timedelta(hours=5))

    assert again == PlanSummary()


class FakeDispatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def apply_async(self, *, kwargs: dict[str, Any], retry: bool = True) -> None:
        self.calls.append(kwargs)


def test_deliveries_are_dispatched_only_after_the_planning_commits(
    world: RhythmWorld, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    fake = FakeDispatch()
    monkeypatch.setattr(dispatch_deliveries, "apply_async", fake.apply_async)
    make_everything_due(world)

    with django_capture_on_commit_callbacks() as callbacks:
        checkins_plan(at=AT)
        assert Delivery.objects.filter(status="pending").count() == 9
        assert fake.calls == []

    assert callbacks
    for callback in callbacks:
        callback()
    assert fake.calls
    assert all(call == {"at": AT.isoformat()} for call in fake.calls)


def test_a_failed_planning_leaves_no_checkin_without_its_delivery(
    world: RhythmWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_everything_due(world)

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the outbox is unavailable")

    monkeypatch.setattr(checkin_services, "deliveries_queue", broken)
    monkeypatch.setattr(checkins_module, "deliveries_queue", broken)

    with pytest.raises(RuntimeError):
        checkins_plan(at=AT)

    assert not CheckIn.objects.exists()


def test_one_organisation_failing_does_not_stop_the_others(
    world: RhythmWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_everything_due(world)
    globex = sized_world(1, slug="globex")  # planned after acme (by slug)
    real = checkin_services.deliveries_queue

    def broken_for_acme(rows: Any, *, at: dt.datetime) -> int:
        rows = list(rows)
        if any(row.organization_id == world.org.pk for row in rows):
            raise RuntimeError("acme's outbox is broken")
        return real(rows, at=at)

    monkeypatch.setattr(checkin_services, "deliveries_queue", broken_for_acme)
    monkeypatch.setattr(checkins_module, "deliveries_queue", broken_for_acme)

    with pytest.raises(RuntimeError, match="acme's outbox"):
        checkins_plan(at=AT)

    assert not CheckIn.objects.filter(organization=world.org).exists()
    assert not Delivery.objects.filter(organization=world.org).exists()
    assert CheckIn.objects.filter(organization=globex).count() == 4
    assert Delivery.objects.filter(organization=globex).count() == 7


def sized_world(size: int, *, slug: str) -> Organization:
    """An organisation with ``size`` teams (each managed), people, and milestones in progress,
    one more blocked for weeks, one sponsor and one leader: every kind of row is due."""
    org: Any = OrganizationFactory(slug=slug)
    lead: Any = PersonFactory(organization=org, email=f"lead@{slug}.test")
    sponsor = PersonFactory(organization=org, email=f"sponsor@{slug}.test")
    leader_user = UserFactory(username=f"leader-{slug}")
    OrganizationRoleFactory(organization=org, user=leader_user, role=Role.LEADER)
    PersonFactory(organization=org, email=f"leader@{slug}.test", user=leader_user)
    for index in range(size):
        manager = PersonFactory(organization=org, email=f"em{index}@{slug}.test")
        team_type = TeamType.PLATFORM if index % 2 else TeamType.STREAM_ALIGNED
        team = TeamFactory(organization=org, slug=f"t{index}", manager=manager, type=team_type)
        MembershipFactory(team=team, person=manager)
        MembershipFactory(team=team, organization=org)
    transformation = chain_transformation(org, count=size + 1, owner=lead.email)
    Transformation.objects.filter(pk=transformation.pk).update(sponsor=sponsor)
    milestones = list(transformation.milestones.order_by("position"))
    Milestone.objects.filter(pk__in=[m.pk for m in milestones[:-1]]).update(
        status=MilestoneStatus.IN_PROGRESS, started_on=START
    )
    blocked = milestones[-1]
    Milestone.objects.filter(pk=blocked.pk).update(
        status=MilestoneStatus.BLOCKED, status_reason="stuck"
    )
    event: Any = MilestoneEventFactory(
        milestone=blocked, kind=EventKind.STATUS, from_status="planned", to_status="blocked"
    )
    MilestoneEvent.objects.filter(pk=event.pk).update(at=AT - dt.timedelta(days=30))
    CheckinSettingsFactory(organization=org, reminder_after_days=1)
    return org


def count_queries(at: dt.datetime) -> tuple[int, PlanSummary]:
    with CaptureQueriesContext(connection) as queries:
        summary = checkins_plan(at=at)
    return len(queries), summary


def test_planning_runs_as_many_queries_for_many_people_and_milestones_as_for_few(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    # 12 stays under SQLite's insert batch (66 rows of check-ins or deliveries): beyond a batch,
    # one more INSERT per batch is the only growth.
    measured: dict[int, tuple[int, int]] = {}
    for size in (2, 12):
        org = sized_world(size, slug=f"size-{size}")
        first, created = count_queries(AT)
        second, reminded = count_queries(days(1))
        measured[size] = (first, second)
        assert created.status_checkins == size
        assert created.pulse_checkins == 2 * size
        assert created.topology_checkins == size
        assert (created.escalations, created.digests) == (1, 2)
        assert reminded.reminders == 4 * size
        # Only one organisation active at a time, so each measure covers one organisation.
        Milestone.objects.filter(transformation__organization=org).update(
            status=MilestoneStatus.DONE, done_on=START, status_reason=""
        )

    assert measured[2] == measured[12], measured
    sized_world(12, slug="again")
    with django_assert_max_num_queries(measured[2][0]):
        checkins_plan(at=AT)


# --- event-triggered surveys ------------------------------------------------------------------


def first_deploy(world: RhythmWorld, *, team: Team | None, external_id: str = "d1") -> SignalEvent:
    event: Any = SignalEventFactory(
        organization=world.org,
        kind="first_deploy",
        external_id=external_id,
        team=team,
        occurred_at=AT,
    )
    return event


def test_a_first_deploy_asks_every_member_of_the_team_how_it_went(world: RhythmWorld) -> None:
    event = first_deploy(world, team=world.teams["payments"])

    created = event_surveys_trigger(events=[event], at=days(1))

    assert created == 3
    rows = checkins(CheckInKind.EVENT_SURVEY)
    assert {row.recipient.email for row in rows} == {
        "alice@acme.test",
        "bob@acme.test",
        "dave@acme.test",
    }
    key = f"event:{event.pk}"
    assert {(row.subject, row.period, row.team_id) for row in rows} == {
        (key, key, world.teams["payments"].pk)
    }
    assert {row.period_start for row in rows} == {SURVEY_START}
    assert {row.created_at for row in rows} == {days(1)}
    assert [row.instruments for row in rows] == [
        [["platform-satisfaction", version(world.org, "platform-satisfaction")]]
    ] * 3
    assert Delivery.objects.filter(kind="checkin", checkin__in=rows).count() == 3


def test_an_event_triggers_its_survey_once(world: RhythmWorld) -> None:
    event = first_deploy(world, team=world.teams["payments"])

    counts = [event_surveys_trigger(events=[event], at=at) for at in (AT, AT, days(2))]

    assert counts == [3, 0, 0]
    assert Delivery.objects.count() == 3


def test_a_platform_teams_own_event_does_not_ask_it_to_rate_its_platform(
    world: RhythmWorld,
) -> None:
    event = first_deploy(world, team=world.teams["platform"])

    assert event_surveys_trigger(events=[event], at=AT) == 0
    assert not CheckIn.objects.exists()


def test_events_not_configured_or_without_a_team_trigger_nothing(world: RhythmWorld) -> None:
    no_team = first_deploy(world, team=None)
    deploy: Any = SignalEventFactory(
        organization=world.org,
        kind="deploy",
        external_id="x",
        team=world.teams["payments"],
        occurred_at=AT,
    )

    assert event_surveys_trigger(events=[no_team, deploy], at=AT) == 0
    assert not CheckIn.objects.exists()


def test_an_organisation_configures_which_events_ask_what(world: RhythmWorld) -> None:
    settings_for(
        world.org,
        event_surveys=[
            {"event": "incident", "instrument": "westrum"},
            {"event": "incident", "instrument": "adkar"},
        ],
    )
    incident: Any = SignalEventFactory(
        organization=world.org,
        kind="incident",
        external_id="inc-1",
        team=world.teams["platform"],
        occurred_at=AT,
    )
    deploy = first_deploy(world, team=world.teams["platform"])

    assert event_surveys_trigger(events=[incident, deploy], at=AT) == 3

    rows = checkins(CheckInKind.EVENT_SURVEY)
    assert {row.subject for row in rows} == {f"event:{incident.pk}"}
    assert rows[0].instruments == [
        ["westrum", version(world.org, "westrum")],
        ["adkar", version(world.org, "adkar")],
    ]


def test_event_surveys_run_inside_the_callers_transaction(
    world: RhythmWorld, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    fake = FakeDispatch()
    monkeypatch.setattr(dispatch_deliveries, "apply_async", fake.apply_async)
    event = first_deploy(world, team=world.teams["payments"])

    with django_capture_on_commit_callbacks() as callbacks:
        event_surveys_trigger(events=[event], at=AT)
        assert fake.calls == []

    for callback in callbacks:
        callback()
    assert fake.calls == [{"at": AT.isoformat()}]


# --- two planners racing (PostgreSQL: real concurrent transactions) ---------------------------


def race(at: dt.datetime) -> PlanSummary:
    """Two planners started together at (almost) the same moment; their summaries added up."""
    from django.db import connections

    barrier = threading.Barrier(2)
    summaries: list[PlanSummary] = []
    errors: list[BaseException] = []

    def plan(moment: dt.datetime) -> None:
        try:
            barrier.wait(timeout=10)
            summaries.append(checkins_plan(at=moment))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=plan, args=(moment,))
        for moment in (at, at + dt.timedelta(seconds=1))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(summaries) == 2
    total = PlanSummary()
    for summary in summaries:
        total.add(summary)
    return total


@pytest.mark.django_db(transaction=True)
def test_two_planners_racing_create_and_count_every_row_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch_deliveries, "apply_async", FakeDispatch().apply_async)
    world = build_rhythm_world()
    make_everything_due(world)

    planned = race(AT)
    reminded = race(days(4))  # every check-in is 3 days old: one reminder each

    assert planned.as_dict() == {
        "status_checkins": 1,
        "pulse_checkins": 4,
        "topology_checkins": 1,
        "reminders": 0,
        "escalations": 1,
        "digests": 2,
        "interaction_overruns": 0,
    }
    assert reminded == PlanSummary(reminders=6)
    assert CheckIn.objects.count() == 6
    assert Delivery.objects.filter(kind="checkin").count() == 6
    assert Delivery.objects.filter(kind="reminder").count() == 6
    assert Delivery.objects.count() == 15
    assert set(CheckIn.objects.values_list("reminders_sent", flat=True)) == {1}


def test_a_person_without_a_team_gets_no_pulse_survey(world: RhythmWorld) -> None:
    loner: Any = PersonFactory(organization=world.org, email="loner@acme.test")

    checkins_plan(at=AT)

    assert not CheckIn.objects.filter(recipient=loner).exists()


# --- leavers ----------------------------------------------------------------------------------


def leave(world: RhythmWorld, *names: str) -> None:
    """Mark people as leavers by the column alone (their memberships and managed teams stay), so
    the planner's own filter is what keeps them out."""
    emails = [world.people[name].email for name in names]
    Person.objects.filter(organization=world.org, email__in=emails).update(left_on=START)


def test_leavers_get_no_status_checkin_pulse_survey_or_topology_verification(
    world: RhythmWorld,
) -> None:
    world.set_milestone("kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START)
    leave(world, "lead", "alice", "em")

    summary = checkins_plan(at=AT)

    assert (summary.status_checkins, summary.pulse_checkins, summary.topology_checkins) == (
        0,
        3,
        0,
    )
    asked = {row.recipient.email for row in CheckIn.objects.all()}
    assert asked == {"bob@acme.test", "carol@acme.test", "dave@acme.test"}
    checkin_deliveries = Delivery.objects.filter(kind=DeliveryKind.CHECKIN)
    assert set(checkin_deliveries.values_list("recipient__email", flat=True)) == asked


def test_a_leaver_is_not_reminded_of_a_checkin_sent_before_they_left(world: RhythmWorld) -> None:
    settings_for(world.org, reminder_after_days=2, max_reminders=2, survey_every_days=28)
    checkins_plan(at=AT)
    total = CheckIn.objects.count()
    leave(world, "alice")

    assert checkins_plan(at=days(2)).reminders == total - 1
    reminded = set(
        Delivery.objects.filter(kind=DeliveryKind.REMINDER).values_list(
            "recipient__email", flat=True
        )
    )
    assert "alice@acme.test" not in reminded
    assert CheckIn.objects.get(recipient=world.people["alice"]).reminders_sent == 0


def test_a_blocked_milestone_escalates_to_the_lead_change_agent_when_the_sponsor_left(
    world: RhythmWorld,
) -> None:
    settings_for(world.org, escalate_blocked_after_days=7)
    block(world, "kickoff", reason="No room", at=AT)
    leave(world, "sponsor")

    assert checkins_plan(at=days(8)).escalations == 1

    escalation = Delivery.objects.get(kind=DeliveryKind.ESCALATION)
    assert escalation.recipient_id == world.people["lead"].pk
    body = rendered(escalation, at=days(8)).body
    assert "the lead change agent (the sponsor has left)" in body


def test_leavers_get_no_weekly_digest(world: RhythmWorld) -> None:
    settings_for(world.org, digest_weekday=0)
    leave(world, "boss")

    assert checkins_plan(at=AT).digests == 1
    assert list(Delivery.objects.filter(kind="digest").values_list("recipient", flat=True)) == [
        world.people["sponsor"].pk
    ]

    leave(world, "sponsor")
    assert checkins_plan(at=days(7)).digests == 0
