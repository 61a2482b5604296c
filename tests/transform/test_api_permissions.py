"""Who may read and change transformations: the role matrix, and 404 across organisations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import PlanWorld
from transform.models import EventKind, MilestoneEvent, Transformation

pytestmark = pytest.mark.django_db

READERS = ["admin", "change_agent", "em", "other_em", "leader", "member", "plan_agent"]


@pytest.fixture
def plan(plan_world: PlanWorld) -> PlanWorld:
    return plan_world


def _read_paths(plan: PlanWorld, transformation: Transformation) -> list[str]:
    milestone = transformation.milestones.get(key="buddies")
    return [
        f"/api/v1/orgs/{transformation.organization.slug}/transformations/",
        f"/api/v1/transformations/{transformation.pk}/",
        f"/api/v1/transformations/{transformation.pk}/plan/",
        f"/api/v1/transformations/{transformation.pk}/milestones/",
        f"/api/v1/milestones/{milestone.pk}/",
        f"/api/v1/milestones/{milestone.pk}/events/",
    ]


@pytest.mark.parametrize("kind", READERS)
def test_every_role_holder_reads_every_transformation_endpoint(plan: PlanWorld, kind: str) -> None:
    client = plan.client(kind)

    for path in _read_paths(plan, plan.transformation):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)


def test_the_transformation_detail_shows_its_people_playbooks_and_dates(plan: PlanWorld) -> None:
    response = plan.client("member").get(f"/api/v1/transformations/{plan.transformation.pk}/")

    body = response.json()
    assert body["lead_change_agent"]["email"] == "plan_agent@acme.test"
    assert body["sponsor"]["email"] == "leader@acme.test"
    assert [p["email"] for p in body["change_agents"]] == ["plan_agent@acme.test"]
    assert body["playbooks"] == [{"key": "pilot-plan", "version": 1, "title": "Pilot plan"}]
    assert body["milestone_count"] == 4
    assert body["planned_end"] == "2027-01-21"
    assert body["critical_path"] == ["kickoff", "buddies", "wrap-up"]


def test_the_organisation_list_holds_only_its_own_transformations(plan: PlanWorld) -> None:
    response = plan.client("admin").get("/api/v1/orgs/acme/transformations/")

    assert [t["id"] for t in response.json()["results"]] == [plan.transformation.pk]


@pytest.mark.parametrize("kind", ["no_role", "admin"])
def test_another_organisations_transformation_is_404_everywhere(plan: PlanWorld, kind: str) -> None:
    # no_role is an admin of globex, not of acme; admin is an admin of acme, not of globex.
    target = plan.transformation if kind == "no_role" else plan.globex_transformation
    client = plan.client(kind)
    milestone = target.milestones.get(key="buddies")

    for path in _read_paths(plan, target):
        assert client.get(path).status_code == 404, path
    for action, payload in [
        ("transition", {"to": "in_progress"}),
        ("reassign", {"owner": "alice@acme.test"}),
        ("reschedule", {"forecast_due": "2027-03-01", "reason": "x"}),
    ]:
        response = client.post(
            f"/api/v1/milestones/{milestone.pk}/{action}/", payload, format="json"
        )
        assert response.status_code == 404, action
    start = client.post(
        f"/api/v1/orgs/{target.organization.slug}/transformations/",
        {"playbooks": ["pilot-plan"], "start_date": "2027-01-04", "owner": "alice@acme.test"},
        format="json",
    )
    assert start.status_code == 404
    assert (
        not MilestoneEvent.objects.exclude(kind=EventKind.CREATED)
        .exclude(kind=EventKind.REASSIGNED)
        .exists()
    )


@pytest.mark.parametrize("path", ["/api/v1/transformations/999999/", "/api/v1/milestones/abc/"])
def test_unknown_and_malformed_ids_are_404_with_the_error_shape(plan: PlanWorld, path: str) -> None:
    response = plan.client("admin").get(path)

    assert response.status_code == 404
    assert set(response.json()) == {"message", "extra"}


def test_an_anonymous_caller_gets_401(plan: PlanWorld) -> None:
    response = plan.client("anonymous").get(f"/api/v1/transformations/{plan.transformation.pk}/")

    assert response.status_code == 401


# (who, allowed) per write. "buddies" is owned by em; plan_agent is a member of acme who is a
# change agent of this transformation only.
START = {
    "admin": True,
    "change_agent": True,
    "plan_agent": False,
    "em": False,
    "leader": False,
    "member": False,
}
REASSIGN = {
    "admin": True,
    "change_agent": True,
    "plan_agent": True,
    "em": False,
    "other_em": False,
    "leader": False,
    "member": False,
}
STATUS = {
    "admin": True,
    "change_agent": True,
    "plan_agent": True,
    "em": True,
    "other_em": False,
    "leader": False,
    "member": False,
}
OVERRIDE = {
    "admin": True,
    "leader": True,
    "change_agent": False,
    "plan_agent": False,
    "em": False,
    "member": False,
}


@pytest.mark.parametrize(("kind", "allowed"), START.items())
def test_admins_and_change_agents_start_transformations(
    plan: PlanWorld, kind: str, allowed: bool
) -> None:
    response = plan.client(kind).post(
        "/api/v1/orgs/acme/transformations/",
        {
            "playbooks": ["pilot-plan@1"],
            "start_date": "2027-02-01",
            "owner": "change_agent@acme.test",
            "title": "Second wave",
        },
        format="json",
    )

    assert response.status_code == (201 if allowed else 403), response.content
    assert Transformation.objects.filter(title="Second wave").exists() == allowed
    if allowed:
        assert response.json()["milestone_count"] == 4
        assert response.json()["lead_change_agent"]["email"] == "change_agent@acme.test"
        started = Transformation.objects.get(pk=response.json()["id"])
        assert started.created_by == plan.world.users[kind]


@pytest.mark.parametrize(("kind", "allowed"), REASSIGN.items())
def test_plan_editors_reassign_milestones(plan: PlanWorld, kind: str, allowed: bool) -> None:
    buddies = plan.milestone("buddies")

    response = plan.client(kind).post(
        f"/api/v1/milestones/{buddies.pk}/reassign/", {"owner": "other-em@acme.test"}, format="json"
    )

    assert response.status_code == (200 if allowed else 403), response.content
    assert (plan.milestone("buddies").owner.email == "other-em@acme.test") == allowed


@pytest.mark.parametrize(("kind", "allowed"), STATUS.items())
def test_the_owner_and_plan_editors_change_a_milestones_status(
    plan: PlanWorld, kind: str, allowed: bool
) -> None:
    buddies = plan.milestone("buddies")

    response = plan.client(kind).post(
        f"/api/v1/milestones/{buddies.pk}/transition/", {"to": "in_progress"}, format="json"
    )

    assert response.status_code == (200 if allowed else 403), response.content
    assert (plan.milestone("buddies").status == "in_progress") == allowed


@pytest.mark.parametrize(("kind", "allowed"), STATUS.items())
def test_the_owner_and_plan_editors_reschedule_a_milestone(
    plan: PlanWorld, kind: str, allowed: bool
) -> None:
    buddies = plan.milestone("buddies")

    response = plan.client(kind).post(
        f"/api/v1/milestones/{buddies.pk}/reschedule/",
        {"forecast_due": "2027-01-30", "reason": "Slipping"},
        format="json",
    )

    assert response.status_code == (200 if allowed else 403), response.content
    assert (str(plan.milestone("buddies").forecast_due) == "2027-01-30") == allowed


@pytest.mark.parametrize(("kind", "allowed"), OVERRIDE.items())
def test_only_leaders_and_admins_override(plan: PlanWorld, kind: str, allowed: bool) -> None:
    buddies = plan.milestone("buddies")
    plan.client("em").post(
        f"/api/v1/milestones/{buddies.pk}/transition/", {"to": "in_progress"}, format="json"
    )

    response = plan.client(kind).post(
        f"/api/v1/milestones/{buddies.pk}/transition/",
        {"to": "done", "override": True, "reason": "Good enough"},
        format="json",
    )

    assert response.status_code == (200 if allowed else 403), response.content
    assert (plan.milestone("buddies").status == "done") == allowed


def test_an_engineering_manager_updates_only_the_milestones_they_own(plan: PlanWorld) -> None:
    client = plan.client("em")

    own = client.post(
        f"/api/v1/milestones/{plan.milestone('buddies').pk}/transition/",
        {"to": "in_progress"},
        format="json",
    )
    other = client.post(
        f"/api/v1/milestones/{plan.milestone('kickoff').pk}/transition/",
        {"to": "in_progress"},
        format="json",
    )

    assert own.status_code == 200
    assert other.status_code == 403
    kickoff = plan.milestone("kickoff").title
    assert f"Only the owner of milestone '{kickoff}'" in other.json()["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "playbooks"),
        (
            {"playbooks": "pilot-plan", "start_date": "2027-01-04", "owner": "admin@acme.test"},
            "playbooks",
        ),
        ({"playbooks": [], "start_date": "2027-01-04", "owner": "admin@acme.test"}, "playbooks"),
        (
            {"playbooks": ["nope"], "start_date": "2027-01-04", "owner": "admin@acme.test"},
            "playbooks",
        ),
        (
            {"playbooks": ["pilot-plan@0"], "start_date": "2027-01-04", "owner": "admin@acme.test"},
            "playbooks",
        ),
        (
            {"playbooks": ["pilot-plan"], "start_date": "2027-02-30", "owner": "admin@acme.test"},
            "start_date",
        ),
        (
            {"playbooks": ["pilot-plan"], "start_date": "2027-01-04", "owner": "not-an-email"},
            "owner",
        ),
        (
            {"playbooks": ["pilot-plan"], "start_date": "2027-01-04", "owner": "ghost@acme.test"},
            "owner",
        ),
        (
            {"playbooks": ["pilot-plan"], "start_date": "2027-01-04", "owner": "alice@globex.test"},
            "owner",
        ),
        (
            {
                "playbooks": ["pilot-plan"],
                "start_date": "2027-01-04",
                "owner": "admin@acme.test",
                "sponsor": "ghost@acme.test",
            },
            "sponsor",
        ),
    ],
)
def test_a_bad_start_payload_is_a_400_naming_the_field_and_stores_nothing(
    plan: PlanWorld, payload: dict[str, Any], field: str
) -> None:
    before = Transformation.objects.count()

    response = plan.client("admin").post(
        "/api/v1/orgs/acme/transformations/", payload, format="json"
    )

    assert response.status_code == 400, response.content
    assert field in response.json()["extra"]["fields"]
    assert Transformation.objects.count() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "to"), ({"to": "finished"}, "to"), ({"to": "done", "override": "perhaps"}, "override")],
)
def test_a_bad_transition_payload_is_a_400_naming_the_field(
    plan: PlanWorld, payload: dict[str, Any], field: str
) -> None:
    response = plan.client("admin").post(
        f"/api/v1/milestones/{plan.milestone('kickoff').pk}/transition/", payload, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
