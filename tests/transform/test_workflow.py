"""The milestone workflow, exit criteria, overrides, reassignment and rescheduling."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from rest_framework.test import APIClient

from core.errors import ApplicationError, ConflictError
from teams.models import MembershipRole, Organization, Role
from tests.builders import PlanWorld
from tests.factories import MembershipFactory, OrganizationRoleFactory, PersonFactory, UserFactory
from transform.models import EventKind, Milestone, MilestoneEvent, MilestoneStatus, Transformation
from transform.plans.services import (
    milestone_reschedule,
    milestone_transition,
    transformation_start,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2027, 1, 5)


@pytest.fixture
def plan(plan_world: PlanWorld) -> PlanWorld:
    return plan_world


def _transition(plan: PlanWorld, kind: str, key: str, to: str, **extra: Any) -> Any:
    milestone = plan.milestone(key)
    return plan.client(kind).post(
        f"/api/v1/milestones/{milestone.pk}/transition/", {"to": to, **extra}, format="json"
    )


def test_a_milestone_moves_from_planned_through_in_progress_to_done(plan: PlanWorld) -> None:
    kickoff = plan.milestone("kickoff")
    user = plan.world.users["plan_agent"]

    milestone_transition(milestone=kickoff, to_status="in_progress", actor=user, today=DAY)
    done = milestone_transition(
        milestone=kickoff, to_status="done", actor=user, reason="All hands held", today=DAY
    )

    assert done.status == MilestoneStatus.DONE
    assert done.started_on == DAY
    assert done.done_on == DAY
    events = list(MilestoneEvent.objects.filter(milestone=kickoff, kind=EventKind.STATUS))
    assert [(e.from_status, e.to_status) for e in events] == [
        ("planned", "in_progress"),
        ("in_progress", "done"),
    ]
    assert events[1].actor == user
    assert events[1].reason == "All hands held"
    assert events[1].at is not None


@pytest.mark.parametrize(
    ("path", "to", "allowed"),
    [
        ([], "done", "in progress, at risk, blocked"),
        (["in_progress", "done"], "in_progress", "none (done is final)"),
        ([("at_risk", "late")], "blocked", "in progress"),
        ([("blocked", "waiting")], "done", "in progress"),
    ],
)
def test_an_illegal_transition_is_refused_naming_from_to_and_allowed(
    plan: PlanWorld, path: list[Any], to: str, allowed: str
) -> None:
    kickoff = plan.milestone("kickoff")
    for step in path:
        status, reason = step if isinstance(step, tuple) else (step, "")
        milestone_transition(milestone=kickoff, to_status=status, reason=reason, actor=None)
    current = plan.milestone("kickoff").status

    with pytest.raises(ConflictError) as excinfo:
        milestone_transition(milestone=kickoff, to_status=to, actor=None, reason="x")

    # The message says statuses in words; the extra keeps the codes for programs.
    words = {"in_progress": "in progress", "at_risk": "at risk"}
    assert (
        f"cannot go from {words.get(current, current)} to {words.get(to, to)}"
        in excinfo.value.message
    )
    assert allowed in excinfo.value.message
    assert "_" not in excinfo.value.message.split(";", 1)[1]
    assert excinfo.value.extra["from"] == current
    assert excinfo.value.extra["to"] == to
    assert plan.milestone("kickoff").status == current


def test_the_api_answers_an_illegal_transition_with_409_and_the_allowed_statuses(
    plan: PlanWorld,
) -> None:
    response = _transition(plan, "plan_agent", "kickoff", "done")

    assert response.status_code == 409
    assert response.json()["extra"] == {
        "from": "planned",
        "to": "done",
        "allowed": ["in_progress", "at_risk", "blocked"],
    }
    assert not MilestoneEvent.objects.filter(kind=EventKind.STATUS).exists()


@pytest.mark.parametrize("status", ["at_risk", "blocked"])
def test_at_risk_and_blocked_need_a_reason(plan: PlanWorld, status: str) -> None:
    response = _transition(plan, "plan_agent", "kickoff", status, reason="  ")

    assert response.status_code == 400
    assert "reason" in response.json()["extra"]["fields"]
    assert plan.milestone("kickoff").status == "planned"


def test_a_blocked_milestone_carries_its_reason_until_cleared(plan: PlanWorld) -> None:
    blocked = _transition(plan, "plan_agent", "kickoff", "blocked", reason="No room booked")
    cleared = _transition(plan, "plan_agent", "kickoff", "in_progress", reason="Room found")

    assert blocked.status_code == 200
    assert blocked.json()["status_reason"] == "No room booked"
    assert cleared.json()["status"] == "in_progress"
    assert cleared.json()["status_reason"] == ""
    events = MilestoneEvent.objects.filter(kind=EventKind.STATUS).order_by("id")
    assert [(e.from_status, e.to_status, e.reason) for e in events] == [
        ("planned", "blocked", "No room booked"),
        ("blocked", "in_progress", "Room found"),
    ]


def test_done_is_refused_while_a_graph_criterion_fails(plan: PlanWorld) -> None:
    _transition(plan, "em", "buddies", "in_progress")

    response = _transition(plan, "em", "buddies", "done")

    assert response.status_code == 409
    body = response.json()
    assert "1 of 1 exit criteria do not pass" in body["message"]
    assert "Acme-Payments" in body["message"]  # the team's name; its slug is acme-payments
    assert body["extra"]["criteria"][0]["status"] == "fail"
    assert plan.milestone("buddies").status == "in_progress"


def test_done_is_refused_while_a_signal_criterion_has_no_data(plan: PlanWorld) -> None:
    milestone_transition(milestone=plan.milestone("wrap-up"), to_status="in_progress", actor=None)

    with pytest.raises(
        ConflictError, match=r"No data yet for platform satisfaction \(no verdict yet\)"
    ):
        milestone_transition(milestone=plan.milestone("wrap-up"), to_status="done", actor=None)


def test_done_is_allowed_once_the_graph_criterion_passes(plan: PlanWorld) -> None:
    for team in (plan.world.acme.team, plan.world.acme.other_team):
        MembershipFactory(team=team, role=MembershipRole.DEVOPS_BUDDY)
    for step in ("in_progress", "done"):  # its dependency first (docs/transformations.md)
        _transition(plan, "plan_agent", "kickoff", step)
    _transition(plan, "em", "buddies", "in_progress")

    response = _transition(plan, "em", "buddies", "done")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "done"
    assert response.json()["override"] is None


def test_done_is_blocked_by_a_missing_devops_buddy_on_the_demo(db: Any) -> None:
    call_command("load_demo", "--password", "x", stdout=io.StringIO())
    demo = Organization.objects.get(slug="demo")
    transformation = transformation_start(
        organization=demo,
        playbooks=["unify-ops-silos", "devops-buddy-programme"],
        start_date=dt.date(2027, 1, 4),
        owner_email="helen.park@democorp.example",
    )
    choose = transformation.milestones.get(key="choose-buddies")
    milestone_transition(milestone=choose, to_status="in_progress", actor=None)

    with pytest.raises(ConflictError) as excinfo:
        milestone_transition(milestone=choose, to_status="done", actor=None)

    assert "every_stream_team_has_devops_buddy" in json.dumps(excinfo.value.extra)
    for squad in ("Catalog Squad", "Payments Squad", "Delivery Tracking Squad", "Returns Squad"):
        assert squad in excinfo.value.message
    assert "(not met)" in excinfo.value.message
    assert "choose-buddies" not in excinfo.value.message
    assert transformation.milestones.get(key="choose-buddies").status == "in_progress"


def test_a_leader_overrides_failing_criteria_with_a_reason_visible_in_the_report(
    plan: PlanWorld,
) -> None:
    _transition(plan, "em", "buddies", "in_progress")

    response = _transition(
        plan, "leader", "buddies", "done", override=True, reason="Buddies start next week"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "done"
    assert response.json()["override"]["reason"] == "Buddies start next week"
    assert response.json()["override"]["by"] == "leader"
    event = MilestoneEvent.objects.get(kind=EventKind.OVERRIDE)
    assert (event.from_status, event.to_status) == ("in_progress", "done")
    assert event.actor == plan.world.users["leader"]
    assert event.data["criteria"][0]["status"] == "fail"

    report = plan.client("member").get(f"/api/v1/transformations/{plan.transformation.pk}/plan/")
    buddies = next(m for m in report.json()["milestones"] if m["key"] == "buddies")
    assert buddies["override"]["reason"] == "Buddies start next week"
    assert buddies["override"]["by"] == "leader"
    text = io.StringIO()
    call_command("plan_report", str(plan.transformation.pk), stdout=text)
    assert "OVERRIDE by leader: Buddies start next week" in text.getvalue()


def test_an_override_needs_a_written_reason(plan: PlanWorld) -> None:
    _transition(plan, "em", "buddies", "in_progress")

    response = _transition(plan, "admin", "buddies", "done", override=True, reason="")

    assert response.status_code == 400
    assert "reason" in response.json()["extra"]["fields"]
    assert plan.milestone("buddies").status == "in_progress"


def test_an_override_applies_only_to_done(plan: PlanWorld) -> None:
    response = _transition(plan, "leader", "buddies", "in_progress", override=True, reason="x")

    assert response.status_code == 400
    assert "override" in response.json()["extra"]["fields"]


def test_a_reassignment_is_recorded_with_the_old_and_new_owner(plan: PlanWorld) -> None:
    kickoff = plan.milestone("kickoff")

    response = plan.client("change_agent").post(
        f"/api/v1/milestones/{kickoff.pk}/reassign/",
        {"owner": "other-em@acme.test", "reason": "Closer to the teams"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["owner"]["email"] == "other-em@acme.test"
    event = MilestoneEvent.objects.get(milestone=kickoff, kind=EventKind.REASSIGNED)
    assert event.data == {"from": "plan_agent@acme.test", "to": "other-em@acme.test"}
    assert event.reason == "Closer to the teams"
    assert event.actor == plan.world.users["change_agent"]


def test_a_reassignment_by_person_id_works_and_other_organisations_people_do_not(
    plan: PlanWorld,
) -> None:
    kickoff = plan.milestone("kickoff")
    url = f"/api/v1/milestones/{kickoff.pk}/reassign/"
    client = plan.client("admin")

    by_id = client.post(url, {"owner": plan.people["member"].pk}, format="json")
    foreign = client.post(url, {"owner": plan.world.globex.person.pk}, format="json")
    foreign_email = client.post(url, {"owner": "alice@globex.test"}, format="json")
    same = client.post(url, {"owner": "member@acme.test"}, format="json")

    assert by_id.status_code == 200
    assert by_id.json()["owner"]["id"] == plan.people["member"].pk
    for response in (foreign, foreign_email, same):
        assert response.status_code == 400
        assert "owner" in response.json()["extra"]["fields"]
    assert plan.milestone("kickoff").owner == plan.people["member"]


def test_a_slip_moves_the_forecast_of_dependents_and_of_the_transformation(
    plan: PlanWorld,
) -> None:
    buddies = plan.milestone("buddies")

    response = plan.client("em").post(
        f"/api/v1/milestones/{buddies.pk}/reschedule/",
        {"forecast_due": "2027-01-25", "reason": "Two managers on leave"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["forecast_due"] == "2027-01-25"
    assert response.json()["planned_due"] == "2027-01-19"
    wrap_up = plan.milestone("wrap-up")
    assert wrap_up.forecast_start == dt.date(2027, 1, 25)
    assert wrap_up.forecast_due == dt.date(2027, 1, 27)
    assert wrap_up.planned_due == dt.date(2027, 1, 21)
    transformation = Transformation.objects.get(pk=plan.transformation.pk)
    assert transformation.planned_end == dt.date(2027, 1, 21)
    assert transformation.forecast_end == dt.date(2027, 1, 27)
    event = MilestoneEvent.objects.get(kind=EventKind.RESCHEDULED)
    assert event.data == {"from": "2027-01-19", "to": "2027-01-25"}
    assert event.reason == "Two managers on leave"
    assert event.actor == plan.world.users["em"]


def test_an_early_finish_pulls_dependents_forward(plan: PlanWorld) -> None:
    milestone_reschedule(
        milestone=plan.milestone("kickoff"),
        forecast_due=dt.date(2027, 1, 10),
        reason="Fewer teams than expected",
        actor=None,
        today=dt.date(2027, 1, 4),
    )

    assert plan.milestone("buddies").forecast_start == dt.date(2027, 1, 10)
    assert plan.milestone("side-quest").forecast_start == dt.date(2027, 1, 10)
    transformation = Transformation.objects.get(pk=plan.transformation.pk)
    assert transformation.forecast_end == dt.date(2027, 1, 17)
    assert transformation.planned_end == dt.date(2027, 1, 21)


def test_a_slip_off_the_critical_path_within_its_slack_keeps_the_end_date(
    plan: PlanWorld,
) -> None:
    milestone_reschedule(
        milestone=plan.milestone("side-quest"),
        forecast_due=dt.date(2027, 1, 19),
        reason="Leader travelling",
        actor=None,
    )

    transformation = Transformation.objects.get(pk=plan.transformation.pk)
    assert transformation.forecast_end == dt.date(2027, 1, 21)
    assert plan.milestone("side-quest").slack_days == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"forecast_due": "2027-01-20"}, "reason"),
        ({"forecast_due": "2027-01-20", "reason": "  "}, "reason"),
        ({"forecast_due": "someday", "reason": "x"}, "forecast_due"),
        ({"forecast_due": "2027-01-01", "reason": "before it starts"}, "forecast_due"),
        ({"forecast_due": "8999-12-31", "reason": "a slip of the keyboard"}, "forecast_due"),
        ({"reason": "x"}, "forecast_due"),
    ],
)
def test_a_bad_reschedule_is_a_400_naming_the_field(
    plan: PlanWorld, payload: dict[str, Any], field: str
) -> None:
    buddies = plan.milestone("buddies")

    response = plan.client("em").post(
        f"/api/v1/milestones/{buddies.pk}/reschedule/", payload, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert not MilestoneEvent.objects.filter(kind=EventKind.RESCHEDULED).exists()


def test_a_done_milestone_cannot_be_rescheduled(plan: PlanWorld) -> None:
    kickoff = plan.milestone("kickoff")
    milestone_transition(milestone=kickoff, to_status="in_progress", actor=None)
    milestone_transition(milestone=kickoff, to_status="done", actor=None)

    with pytest.raises(ConflictError, match="done milestone cannot be rescheduled"):
        milestone_reschedule(
            milestone=kickoff, forecast_due=dt.date(2027, 3, 1), reason="x", actor=None
        )


def test_the_events_endpoint_lists_every_change_in_order(plan: PlanWorld) -> None:
    _transition(plan, "em", "buddies", "at_risk", reason="Managers busy")
    buddies = plan.milestone("buddies")

    response = plan.client("member").get(f"/api/v1/milestones/{buddies.pk}/events/")

    assert response.status_code == 200
    events = response.json()["results"]
    assert [e["kind"] for e in events] == ["created", "reassigned", "status"]
    assert events[2]["actor"] == "em"
    assert events[2]["from_status"] == "planned"
    assert events[2]["to_status"] == "at_risk"
    assert events[2]["reason"] == "Managers busy"
    assert events[0]["actor"] is None  # started from set-up code, not by a login


def test_the_milestone_owner_must_belong_to_the_transformation_organisation(
    plan: PlanWorld,
) -> None:
    milestone = plan.milestone("kickoff")
    stranger: Any = PersonFactory(organization=plan.world.globex.org)
    milestone.owner = stranger

    with pytest.raises(ValidationError, match="owner must be a person"):
        milestone.full_clean()


def test_the_service_refuses_a_status_outside_the_workflow(plan: PlanWorld) -> None:
    with pytest.raises(ApplicationError, match="Unknown status 'finished'"):
        milestone_transition(milestone=plan.milestone("kickoff"), to_status="finished", actor=None)


def test_a_user_granted_leader_can_override_on_the_demo(db: Any) -> None:
    call_command("load_demo", "--password", "x", stdout=io.StringIO())
    demo = Organization.objects.get(slug="demo")
    leader: Any = UserFactory(username="ceo")
    OrganizationRoleFactory(organization=demo, user=leader, role=Role.LEADER)
    transformation = transformation_start(
        organization=demo,
        playbooks=["devops-buddy-programme"],
        start_date=dt.date(2027, 1, 4),
        owner_email="helen.park@democorp.example",
    )
    choose = transformation.milestones.get(key="choose-buddies")
    milestone_transition(milestone=choose, to_status="in_progress", actor=None)
    client = APIClient()
    client.force_login(leader)
    response = client.post(
        f"/api/v1/milestones/{choose.pk}/transition/",
        {"to": "done", "override": True, "reason": "Buddies named in the all-hands"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert Milestone.objects.get(pk=choose.pk).override_reason == "Buddies named in the all-hands"
    assert Milestone.objects.get(pk=choose.pk).overridden_by == leader
