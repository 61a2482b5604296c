"""What holds a person back from leaving (transform/plans/departures.py, registered in
transform/apps.py for teams.lifecycle), and owner suggestions that pass over leavers
(transform/plans/owners.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.errors import ApplicationError, ConflictError
from teams.lifecycle import departure_checks, person_delete, person_leave
from teams.models import MembershipRole, Organization, Person, Role, TeamType
from tests.builders import pilot_playbook
from tests.factories import (
    MembershipFactory,
    OrganizationRoleFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from transform.models import MilestoneStatus, Transformation
from transform.plans.departures import plan_departure_holds
from transform.plans.services import milestone_reassign, transformation_start

pytestmark = pytest.mark.django_db

START = dt.date(2027, 1, 4)


def start(organization: Organization, lead: str) -> Transformation:
    pilot_playbook(organization)
    return transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=START,
        owner_email=lead,
        today=START,
    )


def test_the_transform_app_registers_its_departure_check() -> None:
    assert plan_departure_holds in departure_checks
    assert departure_checks.count(plan_departure_holds) == 1


def test_open_milestones_and_led_transformations_hold_a_person_back(
    organization: Organization,
) -> None:
    lead: Any = PersonFactory(organization=organization, email="lead@acme.test")
    transformation = start(organization, "lead@acme.test")
    milestones = {m.key: m for m in transformation.milestones.all()}
    for key in ("kickoff", "buddies"):
        milestones[key].status = MilestoneStatus.DONE
        milestones[key].save(update_fields=["status"])

    holds = dict(plan_departure_holds(lead))

    assert [item["key"] for item in holds["open milestones"]] == ["side-quest", "wrap-up"]
    first = holds["open milestones"][0]
    assert first["title"] == milestones["side-quest"].title
    assert first["status"] == MilestoneStatus.PLANNED
    assert first["transformation"] == {"id": transformation.pk, "title": transformation.title}
    assert holds["transformations led"] == [
        {"id": transformation.pk, "title": transformation.title}
    ]


def test_person_leave_refuses_with_the_milestones_to_reassign(organization: Organization) -> None:
    lead: Any = PersonFactory(organization=organization, email="lead@acme.test")
    transformation = start(organization, "lead@acme.test")

    with pytest.raises(ConflictError) as excinfo:
        person_leave(person=lead, source="command")

    assert excinfo.value.status_code == 409
    assert "open milestones (4): 'Kick off the pilot'" in excinfo.value.message
    assert "and 1 more; transformations led (1): 'Pilot plan'." in excinfo.value.message
    extra = excinfo.value.extra
    assert len(extra["open_milestones"]) == 4
    assert extra["transformations_led"][0]["id"] == transformation.pk
    lead.refresh_from_db()
    assert lead.left_on is None


def test_done_milestones_and_other_roles_do_not_hold_anyone_back(
    organization: Organization,
) -> None:
    PersonFactory(organization=organization, email="lead@acme.test")
    agent: Any = PersonFactory(organization=organization, email="agent@acme.test")
    transformation = start(organization, "lead@acme.test")
    transformation.change_agents.add(agent)
    transformation.sponsor = agent
    transformation.save(update_fields=["sponsor"])
    milestone = transformation.milestones.get(key="kickoff")
    milestone.owner = agent
    milestone.status = MilestoneStatus.DONE
    milestone.save(update_fields=["owner", "status"])

    assert plan_departure_holds(agent) == []
    removal = person_delete(person=agent, source="command")

    assert removal.outcome == "left"
    agent.refresh_from_db()
    assert agent.left_on is not None


def test_milestones_are_not_suggested_to_leavers(organization: Organization) -> None:
    lead: Any = PersonFactory(organization=organization, email="lead@acme.test")
    manager: Any = PersonFactory(organization=organization, email="manager@acme.test")
    TeamFactory(organization=organization, slug="web", manager=manager)
    platform = TeamFactory(organization=organization, slug="platform", type=TeamType.PLATFORM)
    product_owner: Any = MembershipFactory(team=platform, role=MembershipRole.PRODUCT_OWNER).person
    leader_user = UserFactory()
    leader: Any = PersonFactory(organization=organization, email="boss@acme.test", user=leader_user)
    OrganizationRoleFactory(organization=organization, user=leader_user, role=Role.LEADER)
    Person.objects.filter(pk__in=[manager.pk, product_owner.pk, leader.pk]).update(left_on=START)

    transformation = start(organization, "lead@acme.test")

    assert {m.owner for m in transformation.milestones.all()} == {lead}


def test_a_leaver_can_neither_be_given_a_milestone_nor_lead_a_new_transformation(
    organization: Organization,
) -> None:
    PersonFactory(organization=organization, email="lead@acme.test")
    gone: Any = PersonFactory(organization=organization, email="gone@acme.test")
    transformation = start(organization, "lead@acme.test")
    Person.objects.filter(pk=gone.pk).update(left_on=START)
    gone.refresh_from_db()
    milestone = transformation.milestones.first()
    assert milestone is not None

    with pytest.raises(ApplicationError, match=r"gone@acme\.test left the organisation on"):
        milestone_reassign(milestone=milestone, owner=gone, actor=None)
    with pytest.raises(ApplicationError, match=r"gone@acme\.test left the organisation on"):
        start(organization, "gone@acme.test")

    milestone.refresh_from_db()
    assert milestone.owner.email == "lead@acme.test"
