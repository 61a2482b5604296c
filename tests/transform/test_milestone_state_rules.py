"""Check-ins follow milestone state, and dependencies are respected (issue 12): a done milestone's
open status check-ins close with a reason (link page, link API, "Your open check-ins", outbox),
the status form and link API offer exactly what the workflow allows, and a milestone done before
its dependencies needs a leader's or admin's recorded override."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.builders import CheckinRig, PlanWorld, RhythmWorld, reloaded
from tests.factories import CheckinSettingsFactory, DeliveryFactory
from transform.checkins.planning import checkins_plan
from transform.models import (
    CheckIn,
    CheckInKind,
    Delivery,
    DeliveryKind,
    EventKind,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
)
from transform.outbox.services import deliver_batch
from transform.plans.services import milestone_transition
from transform.rhythm import links

pytestmark = pytest.mark.django_db

START = dt.date(2027, 1, 4)  # a Monday
UTC = dt.UTC


def days(count: int, hour: int = 9) -> dt.datetime:
    day = START + dt.timedelta(days=count)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _open(rig: CheckinRig) -> CheckIn:
    """A status check-in of "kickoff" (owned by Ada), open now (the views use the real clock)."""
    return rig.checkin(CheckInKind.MILESTONE_STATUS, created=timezone.now() - dt.timedelta(hours=1))


def _done(milestone: Milestone, *, actor: Any, day: dt.date) -> Milestone:
    milestone_transition(milestone=milestone, to_status="in_progress", actor=actor, today=day)
    return milestone_transition(
        milestone=milestone, to_status="done", actor=actor, reason="Held", today=day
    )


def _closed_text(rig: CheckinRig, day: dt.date) -> str:
    return (
        f"This check-in is closed: '{rig.milestone().title}' was marked done on "
        f"{day.isoformat()} by Ada Lovelace. Nothing more is needed."
    )


def _page_text(response: Any) -> str:
    """The page's text with tags dropped and entities (quotes) decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


# --- a done milestone's check-ins close ----------------------------------------------------------


@pytest.fixture
def rig(checkin_rig: CheckinRig) -> CheckinRig:
    return checkin_rig


def test_marking_a_milestone_done_closes_its_open_status_checkin_saying_when_and_by_whom(
    rig: CheckinRig,
) -> None:
    checkin = _open(rig)
    day = timezone.localdate()

    _done(rig.milestone(), actor=rig.user, day=day)

    stored = reloaded(checkin)
    assert stored.closed_at is not None
    assert stored.answered_at is None
    assert stored.closed_reason == (
        f"'{rig.milestone().title}' was marked done on {day.isoformat()} by Ada Lovelace."
    )


def test_a_closed_checkins_link_shows_the_friendly_closed_page_instead_of_a_409(
    rig: CheckinRig,
) -> None:
    checkin = _open(rig)
    day = timezone.localdate()
    _done(rig.milestone(), actor=rig.user, day=day)
    url = f"/c/{links.checkin_token(checkin)}/"

    shown = Client().get(url)
    answered = Client().post(
        url, {"milestone-status.status": "on_track", "milestone-status.confidence": "5"}
    )

    assert shown.status_code == answered.status_code == 410
    assert _closed_text(rig, day) in _page_text(shown)
    assert _closed_text(rig, day) in _page_text(answered)
    assert "409" not in _page_text(answered)
    assert reloaded(checkin).answered_at is None


def test_the_link_api_answers_a_closed_checkin_with_410_and_the_reason(rig: CheckinRig) -> None:
    checkin = _open(rig)
    day = timezone.localdate()
    _done(rig.milestone(), actor=rig.user, day=day)
    url = f"/api/v1/checkin-links/{links.checkin_token(checkin)}/"
    answers = {"milestone-status": {"status": "on_track", "confidence": 5}}

    read = APIClient().get(url)
    answer = APIClient().post(url, {"answers": answers}, format="json")

    for response in (read, answer):
        assert response.status_code == 410
        body = response.json()
        assert body["message"] == _closed_text(rig, day)
        assert body["extra"] == {"state": "closed", "reason": reloaded(checkin).closed_reason}


def test_your_open_checkins_no_longer_list_a_closed_checkin(rig: CheckinRig) -> None:
    checkin = _open(rig)
    client = APIClient()
    client.force_authenticate(rig.user)
    before = [row["id"] for row in client.get("/api/v1/me/checkins/").json()["results"]]

    _done(rig.milestone(), actor=rig.user, day=timezone.localdate())

    after = [row["id"] for row in client.get("/api/v1/me/checkins/").json()["results"]]
    assert checkin.pk in before
    assert checkin.pk not in after


def test_a_pending_delivery_of_a_closed_checkin_is_skipped_with_the_reason(
    rig: CheckinRig, mailoutbox: list[Any]
) -> None:
    checkin = _open(rig)
    row: Any = DeliveryFactory(
        organization=rig.org,
        kind=DeliveryKind.REMINDER,
        dedupe_key=f"reminder:{checkin.pk}:1",
        recipient=rig.person,
        checkin=checkin,
        channel="email",
        payload={},
        next_attempt_at=checkin.created_at,
        created_at=checkin.created_at,
    )
    _done(rig.milestone(), actor=rig.user, day=timezone.localdate())

    result = deliver_batch(delivery_ids=[row.pk], at=timezone.now(), claimed_by="t1")

    assert mailoutbox == []
    assert result.skipped == {"reminder": 1}
    assert Delivery.objects.get(pk=row.pk).last_error == (
        f"skipped: the check-in was closed: {reloaded(checkin).closed_reason}"
    )


def test_a_done_milestone_gets_no_more_status_checkins_or_reminders(
    rhythm_world: RhythmWorld,
) -> None:
    world = rhythm_world
    CheckinSettingsFactory(
        organization=world.org, reminder_after_days=2, max_reminders=2, link_valid_days=10
    )
    kickoff = world.set_milestone(
        "kickoff", status=MilestoneStatus.IN_PROGRESS, started_on=START, checkin_every_days=7
    )
    assert checkins_plan(at=days(0)).status_checkins == 1
    first = CheckIn.objects.get(kind=CheckInKind.MILESTONE_STATUS, milestone=kickoff)

    milestone_transition(milestone=kickoff, to_status="done", actor=None, today=START)
    for count in (2, 4, 7, 14):
        checkins_plan(at=days(count))

    assert list(CheckIn.objects.filter(kind=CheckInKind.MILESTONE_STATUS, milestone=kickoff)) == [
        first
    ]
    assert reloaded(first).closed_reason == f"'{kickoff.title}' was marked done on 2027-01-04."
    assert not Delivery.objects.filter(checkin=first, kind=DeliveryKind.REMINDER).exists()


# --- the status form and the link API offer what the workflow allows ----------------------------


def _offered_in_form(rig: CheckinRig, checkin: CheckIn) -> list[str]:
    html = Client().get(f"/c/{links.checkin_token(checkin)}/").content.decode()
    return re.findall(r'name="milestone-status\.status"[^>]*value="([a-z_]+)"', html) or re.findall(
        r'value="([a-z_]+)"[^>]*name="milestone-status\.status"', html
    )


def _offered_by_api(checkin: CheckIn) -> list[str]:
    body = APIClient().get(f"/api/v1/checkin-links/{links.checkin_token(checkin)}/").json()
    (instrument,) = body["instruments"]
    (status,) = [q for q in instrument["questions"] if q["key"] == "status"]
    return [option["value"] for option in status["options"]]


@pytest.mark.parametrize(
    ("path", "offered"),
    [
        ([("in_progress", "")], ["on_track", "at_risk", "blocked"]),
        ([("at_risk", "Late")], ["on_track", "at_risk"]),
        ([("blocked", "Waiting")], ["on_track", "blocked"]),
    ],
)
def test_the_status_form_and_link_api_offer_exactly_the_statuses_the_workflow_allows(
    rig: CheckinRig, path: list[tuple[str, str]], offered: list[str]
) -> None:
    for status, reason in path:
        milestone_transition(milestone=rig.milestone(), to_status=status, actor=None, reason=reason)
    checkin = _open(rig)

    assert _offered_in_form(rig, checkin) == offered
    assert _offered_by_api(checkin) == offered


def test_an_at_risk_milestones_status_answer_not_offered_is_refused_by_the_api_and_the_form(
    rig: CheckinRig,
) -> None:
    milestone_transition(milestone=rig.milestone(), to_status="at_risk", actor=None, reason="Late")
    checkin = _open(rig)
    token = links.checkin_token(checkin)

    api = APIClient().post(
        f"/api/v1/checkin-links/{token}/",
        {"answers": {"milestone-status": {"status": "blocked", "confidence": 1, "note": "Stuck"}}},
        format="json",
    )
    form = Client().post(
        f"/c/{token}/",
        {
            "milestone-status.status": "blocked",
            "milestone-status.confidence": "1",
            "milestone-status.note": "Stuck",
        },
    )
    allowed = APIClient().post(
        f"/api/v1/checkin-links/{token}/",
        {"answers": {"milestone-status": {"status": "on_track", "confidence": 4}}},
        format="json",
    )

    assert api.status_code == form.status_code == 409
    assert api.json()["extra"]["offered"] == ["on_track", "at_risk"]
    assert "this check-in offers: on track, at risk" in _page_text(form)
    assert allowed.status_code == 201
    assert allowed.json()["milestone"]["status"] == "in_progress"


# --- dependencies ------------------------------------------------------------------------------


def _transition(plan: PlanWorld, kind: str, key: str, to: str, **extra: Any) -> Any:
    return plan.client(kind).post(
        f"/api/v1/milestones/{plan.milestone(key).pk}/transition/",
        {"to": to, **extra},
        format="json",
    )


def _plan_page(plan: PlanWorld, *, board: bool = False) -> str:
    client = Client()
    client.force_login(plan.world.users["plan_agent"])
    org = plan.transformation.organization.slug
    suffix = "board/" if board else ""
    response = client.get(f"/o/{org}/plans/{plan.transformation.pk}/{suffix}")
    assert response.status_code == 200
    return _page_text(response)


def _milestone_page(plan: PlanWorld, key: str) -> str:
    client = Client()
    client.force_login(plan.world.users["plan_agent"])
    org = plan.transformation.organization.slug
    response = client.get(f"/o/{org}/milestones/{plan.milestone(key).pk}/")
    assert response.status_code == 200
    return _page_text(response)


def test_a_milestone_may_start_before_its_dependencies_and_then_says_so(
    plan_world: PlanWorld,
) -> None:
    started = _transition(plan_world, "plan_agent", "side-quest", "in_progress")
    report = plan_world.client("plan_agent").get(
        f"/api/v1/transformations/{plan_world.transformation.pk}/plan/"
    )

    assert started.status_code == 200
    assert started.json()["started_before_dependencies"] == ["kickoff"]
    by_key = {m["key"]: m for m in report.json()["milestones"]}
    assert by_key["side-quest"]["started_before_dependencies"] == ["kickoff"]
    assert by_key["kickoff"]["started_before_dependencies"] == []
    assert "Started before its dependencies: Kick off the pilot" in _plan_page(plan_world)
    assert "Started before its dependencies: Kick off the pilot" in _plan_page(
        plan_world, board=True
    )
    # The milestone's own page names the dependency by its title too, and shows no keys.
    page = _milestone_page(plan_world, "side-quest")
    assert "Started before its dependencies: Kick off the pilot was not done" in page
    assert "kickoff" not in page
    assert "side-quest" not in page


def test_a_milestone_started_after_its_dependencies_were_done_has_no_warning(
    plan_world: PlanWorld,
) -> None:
    _transition(plan_world, "plan_agent", "kickoff", "in_progress")
    _transition(plan_world, "plan_agent", "kickoff", "done", reason="Held")

    started = _transition(plan_world, "plan_agent", "side-quest", "in_progress")

    assert started.json()["started_before_dependencies"] == []
    assert "Started before its dependencies" not in _plan_page(plan_world)


def test_a_milestone_cannot_be_done_before_its_dependencies_409_naming_them(
    plan_world: PlanWorld,
) -> None:
    _transition(plan_world, "plan_agent", "side-quest", "in_progress")

    response = _transition(plan_world, "plan_agent", "side-quest", "done", reason="Finished")

    assert response.status_code == 409
    kickoff = plan_world.milestone("kickoff").title
    assert (
        f"cannot be done before its dependencies are done: '{kickoff}' (planned)"
        in (response.json()["message"])
    )
    assert response.json()["extra"]["dependencies"] == [
        {"key": "kickoff", "title": plan_world.milestone("kickoff").title, "status": "planned"}
    ]
    assert plan_world.milestone("side-quest").status == MilestoneStatus.IN_PROGRESS


@pytest.mark.parametrize("kind", ["leader", "admin"])
def test_a_leader_or_admin_overrides_unfinished_dependencies_with_a_recorded_reason(
    plan_world: PlanWorld, kind: str
) -> None:
    _transition(plan_world, "plan_agent", "side-quest", "in_progress")

    response = _transition(
        plan_world, kind, "side-quest", "done", override=True, reason="Kick-off held informally"
    )

    assert response.status_code == 200
    override = response.json()["override"]
    assert (override["reason"], override["by"], override["dependencies"]) == (
        "Kick-off held informally",
        kind,
        ["kickoff"],
    )
    event = MilestoneEvent.objects.get(
        milestone=plan_world.milestone("side-quest"), kind=EventKind.OVERRIDE
    )
    assert event.reason == "Kick-off held informally"
    assert event.data["dependencies"] == ["kickoff"]
    assert "Done by override before its dependencies: Kick off the pilot" in _plan_page(plan_world)


def test_an_override_needs_a_reason_for_unfinished_dependencies_too(plan_world: PlanWorld) -> None:
    _transition(plan_world, "plan_agent", "side-quest", "in_progress")

    response = _transition(plan_world, "leader", "side-quest", "done", override=True, reason=" ")

    assert response.status_code == 400
    assert plan_world.milestone("side-quest").status == MilestoneStatus.IN_PROGRESS


def test_an_engineering_manager_cannot_override_unfinished_dependencies(
    plan_world: PlanWorld,
) -> None:
    _transition(plan_world, "plan_agent", "side-quest", "in_progress")

    response = _transition(plan_world, "em", "side-quest", "done", override=True, reason="Please")

    assert response.status_code == 403
    assert plan_world.milestone("side-quest").status == MilestoneStatus.IN_PROGRESS
    assert not MilestoneEvent.objects.filter(kind=EventKind.OVERRIDE).exists()
