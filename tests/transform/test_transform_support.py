"""Shared set-up of the transformation tests (no tests here).

Builds on the organisation-graph API world (tests/teams/test_api_support.py: ``acme`` under test,
``globex`` another tenant, a login per role) and adds people for the logins, a small playbook of
the organisation's own (tests/transform/data/pilot-plan.yaml) and a transformation started from
it. ``plan_agent`` is a plain member of acme who is the lead change agent of that transformation:
a change agent of this transformation only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

from playbooks.models import Playbook
from playbooks.services import playbook_load
from teams.models import Organization, Person, Role
from tests.factories import OrganizationRoleFactory, UserFactory
from tests.teams.test_api_support import World, build_world
from transform.models import Milestone, Transformation
from transform.plans.services import milestone_reassign, transformation_start

DATA_DIR = Path(__file__).resolve().parent / "data"
PILOT_PATH = DATA_DIR / "pilot-plan.yaml"
START = dt.date(2027, 1, 4)


def pilot_playbook(organization: Organization) -> Playbook:
    """The pilot playbook stored as ``organization``'s own."""
    return playbook_load(
        organization=organization, path=str(PILOT_PATH), text=PILOT_PATH.read_text()
    )


def chain_playbook_text(*, key: str, count: int) -> str:
    """A valid playbook of ``count`` milestones, each after the previous one, every other one
    with a graph exit criterion: plans of any size for the query-count tests."""
    lines = [
        f"key: {key}",
        "version: 1",
        f"title: Chain of {count}",
        "summary: Generated for tests.",
        "phases:",
        "  - key: only",
        "    title: The only phase",
        "    milestones:",
    ]
    for index in range(count):
        lines += [
            f"      - key: step-{index}",
            f"        title: Step {index}",
            "        why: Because the test needs it.",
            "        how: By generating it.",
            "        duration_days: 3",
            f"        depends_on: [{'step-' + str(index - 1) if index else ''}]",
            "        owner_role: engineering_manager",
        ]
        if index % 2:
            lines += [
                "        exit_criteria:",
                "          - graph: every_stream_team_has_devops_buddy",
                "          - signal: westrum_score",
                "            op: '>='",
                "            value: 4",
            ]
    return "\n".join(lines) + "\n"


def chain_transformation(organization: Organization, *, count: int, owner: str) -> Transformation:
    key = f"chain-{count}"
    playbook_load(
        organization=organization,
        path=f"{key}.yaml",
        text=chain_playbook_text(key=key, count=count),
    )
    return transformation_start(
        organization=organization, playbooks=[key], start_date=START, owner_email=owner
    )


@dataclass
class PlanWorld:
    world: World
    people: dict[str, Any]  # login kind -> their Person in acme
    transformation: Transformation
    milestones: dict[str, Milestone]  # by key
    globex_transformation: Transformation

    def client(self, kind: str) -> APIClient:
        return self.world.client(kind)

    def milestone(self, key: str) -> Milestone:
        return Milestone.objects.get(transformation=self.transformation, key=key)


def build_plan_world() -> PlanWorld:
    """acme's pilot transformation led by ``plan_agent``; its "buddies" milestone is owned by
    ``em``; globex has a transformation of its own."""
    world = build_world()
    acme = world.acme.org
    plan_agent = UserFactory(username="plan_agent")
    OrganizationRoleFactory(organization=acme, user=plan_agent, role=Role.MEMBER)
    world.users["plan_agent"] = plan_agent
    people = {
        "em": Person.objects.get(organization=acme, email="em@acme.test"),
        "other_em": Person.objects.get(organization=acme, email="other-em@acme.test"),
    }
    for kind in ("admin", "change_agent", "leader", "member", "plan_agent"):
        people[kind] = Person.objects.create(
            organization=acme, email=f"{kind}@acme.test", name=kind.title(), user=world.users[kind]
        )
    pilot_playbook(acme)
    transformation = transformation_start(
        organization=acme,
        playbooks=["pilot-plan"],
        start_date=START,
        owner_email="plan_agent@acme.test",
        sponsor_email="leader@acme.test",
    )
    buddies = Milestone.objects.get(transformation=transformation, key="buddies")
    milestone_reassign(milestone=buddies, owner=people["em"], actor=None)

    pilot_playbook(world.globex.org)
    globex_transformation = transformation_start(
        organization=world.globex.org,
        playbooks=["pilot-plan"],
        start_date=START,
        owner_email="alice@globex.test",
    )
    return PlanWorld(
        world=world,
        people=people,
        transformation=transformation,
        milestones={m.key: m for m in transformation.milestones.all()},
        globex_transformation=globex_transformation,
    )
