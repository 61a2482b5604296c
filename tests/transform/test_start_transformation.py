"""Starting a transformation: the command and the service, on the demo and on small worlds."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.errors import ApplicationError
from playbooks.selectors import playbook_get
from playbooks.services import playbook_load
from teams.models import MembershipRole, Organization, OrganizationRole, Role, Specialty, TeamType
from tests.builders import PILOT_PATH, pilot_playbook
from tests.factories import (
    MembershipFactory,
    OrganizationRoleFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from transform.models import EventKind, Milestone, MilestoneEvent, Transformation
from transform.plans.services import transformation_start

pytestmark = pytest.mark.django_db

LEAD = "helen.park@democorp.example"
TWO_PLAYBOOKS = ["unify-ops-silos", "devops-buddy-programme"]


@pytest.fixture
def demo(db: Any) -> Organization:
    call_command("load_demo", "--password", "x", stdout=io.StringIO())
    return Organization.objects.get(slug="demo")


def _start(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("start_transformation", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _start_demo(*extra: str) -> Transformation:
    playbook_args = [arg for key in TWO_PLAYBOOKS for arg in ("--playbook", key)]
    out, _err = _start(
        "--org", "demo", *playbook_args, "--start", "2027-01-04", "--owner", LEAD, *extra
    )
    return Transformation.objects.get(pk=int(out.strip()))


def _nothing_stored() -> bool:
    return not (
        Transformation.objects.exists()
        or Milestone.objects.exists()
        or MilestoneEvent.objects.exists()
    )


def test_it_combines_two_built_in_playbooks_into_one_dated_plan_on_the_demo(
    demo: Organization,
) -> None:
    transformation = _start_demo("--sponsor", "marcus.reed@democorp.example")

    specs = [playbook_get(organization=demo, key=key).spec for key in TWO_PLAYBOOKS]
    expected_keys = {m.key for spec in specs for phase in spec.phases for m in phase.milestones}
    milestones = {m.key: m for m in transformation.milestones.all()}
    assert set(milestones) == expected_keys
    assert sorted(p.key for p in transformation.playbooks.all()) == sorted(TWO_PLAYBOOKS)
    assert transformation.lead_change_agent.email == LEAD
    assert transformation.sponsor is not None
    assert transformation.sponsor.email == "marcus.reed@democorp.example"
    assert list(transformation.change_agents.all()) == [transformation.lead_change_agent]
    # The example: a 10-day milestone starting 2027-01-04 is due 2027-01-14, and a
    # milestone depending only on it starts then.
    assert milestones["map-infra-dependencies"].planned_start == dt.date(2027, 1, 4)
    assert milestones["map-infra-dependencies"].planned_due == dt.date(2027, 1, 14)
    assert milestones["agree-compliance-boundaries"].planned_start == dt.date(2027, 1, 14)
    assert transformation.planned_end == max(
        m.planned_due or dt.date.min for m in milestones.values()
    )
    assert transformation.forecast_end == transformation.planned_end


def test_the_combined_plan_has_a_critical_path_of_zero_slack_milestones(
    demo: Organization,
) -> None:
    transformation = _start_demo()

    milestones = {m.key: m for m in transformation.milestones.all()}
    path = transformation.critical_path
    assert len(path) >= 2
    assert all(milestones[key].critical and milestones[key].slack_days == 0 for key in path)
    assert milestones[path[-1]].planned_due == transformation.planned_end
    assert any(m.slack_days > 0 and not m.critical for m in milestones.values())


def test_every_milestone_gets_a_created_event_and_one_owner_of_the_organisation(
    demo: Organization,
) -> None:
    transformation = _start_demo()

    milestones = list(transformation.milestones.all())
    assert all(m.owner.organization_id == demo.pk for m in milestones)
    events = MilestoneEvent.objects.filter(milestone__transformation=transformation)
    assert events.count() == len(milestones)
    assert set(events.values_list("kind", flat=True)) == {EventKind.CREATED}


def test_it_prints_the_transformation_id_alone_on_stdout(demo: Organization) -> None:
    out, err = _start(
        "--org", "demo", "--playbook", "unify-ops-silos", "--start", "2027-01-04", "--owner", LEAD
    )

    assert out.strip() == str(Transformation.objects.get().pk)
    assert "plan_report" in err


def test_a_pinned_version_is_used(demo: Organization) -> None:
    transformation = transformation_start(
        organization=demo,
        playbooks=["unify-ops-silos@2"],
        start_date=dt.date(2027, 1, 4),
        owner_email=LEAD,
    )

    assert [(p.key, p.version) for p in transformation.playbooks.all()] == [("unify-ops-silos", 2)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--playbook", "no-such-playbook"], "no-such-playbook"),
        (["--playbook", "unify-ops-silos@7"], "version 7"),
        (["--playbook", "unify-ops-silos@zero"], "whole number"),
        (["--playbook", "unify-ops-silos", "--playbook", "unify-ops-silos"], "more than once"),
    ],
)
def test_a_bad_playbook_reference_stores_nothing(
    demo: Organization, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        _start("--org", "demo", *args, "--start", "2027-01-04", "--owner", LEAD)

    assert _nothing_stored()


def test_an_unknown_owner_email_stores_nothing(demo: Organization) -> None:
    with pytest.raises(CommandError, match=r"nobody@democorp\.example"):
        _start(
            "--org",
            "demo",
            "--playbook",
            "unify-ops-silos",
            "--start",
            "2027-01-04",
            "--owner",
            "nobody@democorp.example",
        )

    assert _nothing_stored()


def test_an_unknown_sponsor_email_stores_nothing(demo: Organization) -> None:
    with pytest.raises(CommandError, match="sponsor"):
        _start_demo("--sponsor", "ghost@democorp.example")

    assert _nothing_stored()


@pytest.mark.parametrize("value", ["2027-02-30", "04/01/2027", "2027-1-4", "soon"])
def test_a_bad_start_date_stores_nothing(demo: Organization, value: str) -> None:
    with pytest.raises(CommandError, match="--start: expected a date YYYY-MM-DD"):
        _start("--org", "demo", "--playbook", "unify-ops-silos", "--start", value, "--owner", LEAD)

    assert _nothing_stored()


def test_an_unknown_organisation_is_a_command_error(db: Any) -> None:
    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        _start("--org", "nope", "--playbook", "x", "--start", "2027-01-04", "--owner", LEAD)


def test_a_milestone_key_used_by_two_playbooks_is_qualified_by_the_playbook_key(
    organization: Organization,
) -> None:
    pilot_playbook(organization)
    playbook_load(
        organization=organization,
        path="pilot-copy.yaml",
        text=PILOT_PATH.read_text().replace("key: pilot-plan", "key: pilot-copy"),
    )
    PersonFactory(organization=organization, email="lead@acme.test")

    transformation = transformation_start(
        organization=organization,
        playbooks=["pilot-plan", "pilot-copy"],
        start_date=dt.date(2027, 1, 4),
        owner_email="lead@acme.test",
    )

    milestones = {m.key: m for m in transformation.milestones.all()}
    assert "pilot-plan/kickoff" in milestones
    assert "pilot-copy/kickoff" in milestones
    assert "kickoff" not in milestones
    assert milestones["pilot-copy/kickoff"].source_key == "kickoff"
    assert [d.key for d in milestones["pilot-copy/buddies"].depends_on.all()] == [
        "pilot-copy/kickoff"
    ]


def test_milestones_go_to_people_who_hold_their_owner_role(organization: Organization) -> None:
    lead = PersonFactory(organization=organization, email="lead@acme.test")
    manager = PersonFactory(organization=organization, email="manager@acme.test")
    TeamFactory(organization=organization, slug="web", manager=manager)
    TeamFactory(organization=organization, slug="app", manager=manager)
    platform = TeamFactory(organization=organization, slug="platform", type=TeamType.PLATFORM)
    product_owner = MembershipFactory(team=platform, role=MembershipRole.PRODUCT_OWNER).person
    leader_user = UserFactory()
    leader = PersonFactory(organization=organization, email="boss@acme.test", user=leader_user)
    OrganizationRoleFactory(organization=organization, user=leader_user, role=Role.LEADER)
    pilot_playbook(organization)

    transformation = transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email="lead@acme.test",
    )

    owners = {m.key: m.owner for m in transformation.milestones.all()}
    assert owners == {
        "kickoff": lead,  # change_agent: the lead change agent
        "buddies": manager,  # engineering_manager of the stream-aligned teams it is about
        "side-quest": leader,  # leader: a person whose login holds the leader role
        "wrap-up": product_owner,  # platform_product_owner
    }


def test_without_a_known_role_holder_the_lead_change_agent_owns_the_milestone(
    organization: Organization,
) -> None:
    lead = PersonFactory(organization=organization, email="lead@acme.test")
    # Two managers of stream-aligned teams: no single engineering manager is "the" one.
    TeamFactory(organization=organization, manager=PersonFactory(organization=organization))
    TeamFactory(organization=organization, manager=PersonFactory(organization=organization))
    TeamFactory(
        organization=organization,
        type=TeamType.OPS_SILO,
        specialty=Specialty.DATABASE,
        manager=PersonFactory(organization=organization),
    )
    pilot_playbook(organization)

    transformation = transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email="lead@acme.test",
    )

    assert {m.owner for m in transformation.milestones.all()} == {lead}


def test_the_lead_change_agent_gets_the_role_for_this_transformation_only(
    organization: Organization,
) -> None:
    user: Any = UserFactory()
    OrganizationRoleFactory(organization=organization, user=user, role=Role.MEMBER)
    PersonFactory(organization=organization, email="lead@acme.test", user=user)
    pilot_playbook(organization)

    transformation = transformation_start(
        organization=organization,
        playbooks=["pilot-plan"],
        start_date=dt.date(2027, 1, 4),
        owner_email="LEAD@acme.test ",
    )

    assert transformation.change_agents.get().email == "lead@acme.test"
    assert list(
        OrganizationRole.objects.filter(organization=organization, user=user).values_list(
            "role", flat=True
        )
    ) == [Role.MEMBER]


def test_the_service_refuses_a_person_of_another_organisation_as_owner(
    organization: Organization,
) -> None:
    PersonFactory(email="stranger@other.test")  # in a new organisation
    pilot_playbook(organization)

    with pytest.raises(ApplicationError) as excinfo:
        transformation_start(
            organization=organization,
            playbooks=["pilot-plan"],
            start_date=dt.date(2027, 1, 4),
            owner_email="stranger@other.test",
        )

    assert excinfo.value.extra["fields"]["owner"]
    assert _nothing_stored()


def test_the_plan_report_command_prints_text_and_json(demo: Organization) -> None:
    transformation = _start_demo()

    text = io.StringIO()
    call_command("plan_report", str(transformation.pk), stdout=text)
    raw = io.StringIO()
    call_command("plan_report", str(transformation.pk), "--format", "json", stdout=raw)

    plan = json.loads(raw.getvalue())
    assert plan["id"] == transformation.pk
    assert plan["planned_end"] == transformation.planned_end.isoformat()  # type: ignore[union-attr]
    assert plan["forecast_end"] == transformation.forecast_end.isoformat()  # type: ignore[union-attr]
    keys = [m["key"] for m in plan["milestones"]]
    assert "choose-buddies" in keys
    choose = next(m for m in plan["milestones"] if m["key"] == "choose-buddies")
    assert choose["depends_on"] == ["define-buddy-role", "map-infra-dependencies"]
    assert choose["exit_criteria"][0]["status"] == "fail"
    assert "Returns Squad" in choose["exit_criteria"][0]["message"]
    assert f"planned end {plan['planned_end']}" in text.getvalue()
    assert "choose-buddies" in text.getvalue()
    assert "[fail]" in text.getvalue()


def test_the_plan_report_command_refuses_an_unknown_id(db: Any) -> None:
    with pytest.raises(CommandError, match="No transformation with id '999'"):
        call_command("plan_report", "999", stdout=io.StringIO())
