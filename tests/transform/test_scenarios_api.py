"""Scenarios through the API: attaching topology changes to milestones, previewing the analysis
before and after, and enacting a milestone's changes on the live graph."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from teams.lifecycle import team_retire
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    Organization,
    Team,
    TeamLineageEvent,
)
from teams.selectors import org_analysis_get
from tests.builders import START, PlanWorld
from transform.models import EventKind, Milestone, MilestoneChange, MilestoneEvent, Transformation
from transform.plans.changes import milestone_change_add
from transform.plans.services import transformation_start

pytestmark = pytest.mark.django_db

SILOS = ["dba", "networking", "backend-ops"]
MERGE_SILOS = {
    "kind": "merge_teams",
    "teams": SILOS,
    "into": "infrastructure-platform",
    "name": "Infrastructure Platform",
    "type": "platform",
}


@pytest.fixture
def plan(plan_world: PlanWorld) -> PlanWorld:
    return plan_world


@pytest.fixture
def demo(db: Any) -> tuple[Transformation, APIClient, User]:
    call_command("load_demo", "--password", "x", stdout=io.StringIO())
    organization = Organization.objects.get(slug="demo")
    transformation = transformation_start(
        organization=organization,
        playbooks=["unify-ops-silos"],
        start_date=START,
        owner_email="helen.park@democorp.example",
    )
    user = User.objects.get(username="demo")
    client = APIClient()
    client.force_login(user)
    return transformation, client, user


def _first(transformation: Transformation) -> Milestone:
    return transformation.milestones.order_by("position").first()  # type: ignore[return-value]


def _dba_to_service(organization: Organization) -> list[dict[str, Any]]:
    """Every ticket dependency on the DBA silo becomes x-as-a-service."""
    return [
        {
            "kind": "change_interaction_mode",
            "source": source,
            "target": "dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        }
        for source in Interaction.objects.filter(
            organization=organization, target__slug="dba", mode=InteractionMode.TICKET_DEPENDENCY
        )
        .order_by("source__slug")
        .values_list("source__slug", flat=True)
    ]


def _silos_to_service(organization: Organization) -> list[dict[str, Any]]:
    """Every ticket dependency on any of the three silos becomes x-as-a-service."""
    return [
        {
            "kind": "change_interaction_mode",
            "source": source,
            "target": target,
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        }
        for source, target in Interaction.objects.filter(
            organization=organization,
            target__slug__in=SILOS,
            mode=InteractionMode.TICKET_DEPENDENCY,
        )
        .order_by("target__slug", "source__slug")
        .values_list("source__slug", "target__slug")
    ]


def _attach(client: APIClient, milestone: Milestone, change: Any) -> Any:
    return client.post(f"/api/v1/milestones/{milestone.pk}/changes/", change, format="json")


# --- attaching ----------------------------------------------------------------------------------


def test_a_change_agent_attaches_a_valid_change_and_everyone_reads_it(plan: PlanWorld) -> None:
    kickoff = plan.milestones["kickoff"]
    response = _attach(
        plan.client("plan_agent"),
        kickoff,
        {"kind": "add_devops_buddy", "team": "acme-payments", "person": "Alice@acme.test"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["change"] == {
        "kind": "add_devops_buddy",
        "team": "acme-payments",
        "person": "alice@acme.test",
    }
    assert (body["position"], body["status"], body["created_by"]) == (1, "pending", "plan_agent")

    listed = plan.client("member").get(f"/api/v1/milestones/{kickoff.pk}/changes/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "merge_teams", "teams": ["acme-dba"], "into": "x"}, "teams"),
        ({"kind": "explode_team", "team": "acme-dba"}, "kind"),
        ({"team": "acme-dba"}, "kind"),
        (["not", "an", "object"], "non_field_errors"),
        (
            {
                "kind": "split_team",
                "team": "acme-search",
                "into": [{"slug": "s", "name": "S", "members": ["nope"]}],
            },
            "into.0.members.0",
        ),
        ({"kind": "add_devops_buddy", "team": "acme-payments", "person": "a@b.c", "x": 1}, "x"),
        (
            {
                "kind": "create_team",
                "slug": "p",
                "name": "P",
                "type": "platform",
                "specialty": "database",
            },
            "specialty",
        ),
    ],
)
def test_an_invalid_change_is_a_400_naming_the_field(
    plan: PlanWorld, change: Any, field: str
) -> None:
    response = _attach(plan.client("admin"), plan.milestones["kickoff"], change)
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert not MilestoneChange.objects.exists()


def test_a_change_that_would_not_apply_to_the_live_graph_is_refused(plan: PlanWorld) -> None:
    response = _attach(
        plan.client("admin"),
        plan.milestones["kickoff"],
        {"kind": "merge_teams", "teams": ["acme-dba", "ghost"], "into": "acme-dba"},
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"Milestone '{plan.milestones['kickoff'].title}', change 1 (merge, the new change) "
        "does not apply: "
        "teams: no team 'ghost'."
    )
    assert not MilestoneChange.objects.exists()


def test_a_change_may_use_what_an_earlier_milestone_creates_but_not_break_a_later_one(
    plan: PlanWorld,
) -> None:
    client = plan.client("admin")
    kickoff, buddies = plan.milestones["kickoff"], plan.milestones["buddies"]
    create = {"kind": "create_team", "slug": "platform", "name": "Platform", "type": "platform"}
    assert _attach(client, kickoff, create).status_code == 201
    owner = {"kind": "add_product_owner", "team": "platform", "person": "alice@acme.test"}
    assert _attach(client, buddies, owner).status_code == 201

    # Merging "platform" away in the earlier milestone would leave the product owner nowhere.
    merge = {"kind": "merge_teams", "teams": ["platform", "acme-dba"], "into": "acme-dba"}
    response = _attach(client, kickoff, merge)
    assert response.status_code == 400
    assert f"Milestone '{buddies.title}', change 1 (product owner" in response.json()["message"]
    assert "team: no team 'platform'" in response.json()["message"]
    assert MilestoneChange.objects.count() == 2


def test_a_pending_change_is_deleted_but_not_one_a_later_change_relies_on(plan: PlanWorld) -> None:
    client = plan.client("admin")
    kickoff, buddies = plan.milestones["kickoff"], plan.milestones["buddies"]
    create = _attach(
        client,
        kickoff,
        {"kind": "create_team", "slug": "platform", "name": "Platform", "type": "platform"},
    ).json()
    owner = _attach(
        client,
        buddies,
        {"kind": "add_product_owner", "team": "platform", "person": "alice@acme.test"},
    ).json()

    refused = client.delete(f"/api/v1/milestone-changes/{create['id']}/")
    assert refused.status_code == 400
    assert "would break a later change" in refused.json()["message"]

    assert client.delete(f"/api/v1/milestone-changes/{owner['id']}/").status_code == 204
    assert client.delete(f"/api/v1/milestone-changes/{create['id']}/").status_code == 204
    assert not MilestoneChange.objects.exists()


# --- preview ------------------------------------------------------------------------------------


def test_the_preview_shows_the_ops_silo_findings_gone_after_unifying_the_silos(
    demo: tuple[Transformation, APIClient, User],
) -> None:
    transformation, client, _user = demo
    organization = transformation.organization
    milestone = _first(transformation)
    # Merging alone is not enough: tickets on the merged platform still count as a queue.
    to_service = _silos_to_service(organization)
    for change in [*to_service, MERGE_SILOS]:
        assert _attach(client, milestone, change).status_code == 201

    response = client.get(f"/api/v1/transformations/{transformation.pk}/scenario/preview/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["before"] == org_analysis_get(organization=organization)
    before_kinds = {finding["kind"] for finding in body["before"]["findings"]}
    after_kinds = {finding["kind"] for finding in body["after"]["findings"]}
    assert "ops_silo" in before_kinds
    assert "ops_silo" not in after_kinds
    assert body["after"]["metrics"]["teams_by_type"]["ops_silo"] == 0
    flow = body["delta"]["metrics"]["flow_score"]
    assert flow["before"] > 0
    assert flow["after"] == 0
    assert {f["kind"] for f in body["delta"]["findings_resolved"]} >= {"ops_silo"}
    assert body["delta"]["topology"]["teams_deleted"] == sorted(SILOS)
    assert len(body["changes"]) == len(to_service) + 1
    # A preview changes nothing.
    assert Team.objects.filter(organization=organization, slug__in=SILOS).count() == 3


def test_the_preview_can_stop_at_a_milestone(plan: PlanWorld) -> None:
    client = plan.client("admin")
    kickoff, buddies = plan.milestones["kickoff"], plan.milestones["buddies"]
    _attach(client, kickoff, {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"})
    _attach(
        client, buddies, {"kind": "add_product_owner", "team": "p", "person": "alice@acme.test"}
    )
    path = f"/api/v1/transformations/{plan.transformation.pk}/scenario/preview/"

    up_to_kickoff = client.get(path, {"milestone": kickoff.pk}).json()
    everything = client.get(path).json()

    assert [c["milestone_key"] for c in up_to_kickoff["changes"]] == ["kickoff"]
    assert [c["milestone_key"] for c in everything["changes"]] == ["kickoff", "buddies"]
    assert {f["kind"] for f in up_to_kickoff["delta"]["findings_added"]} == {
        "missing_product_owner"
    }
    other_plan = _first(plan.globex_transformation)
    refused = client.get(path, {"milestone": other_plan.pk})
    assert refused.status_code == 400
    assert "milestone" in refused.json()["extra"]["fields"]


def test_a_preview_whose_changes_no_longer_apply_is_a_409_naming_the_change(
    plan: PlanWorld,
) -> None:
    client = plan.client("admin")
    change = _attach(
        client,
        plan.milestones["kickoff"],
        {"kind": "add_devops_buddy", "team": "acme-search", "person": "alice@acme.test"},
    ).json()
    team_retire(team=Team.objects.get(slug="acme-search"), source="api")

    response = client.get(f"/api/v1/transformations/{plan.transformation.pk}/scenario/preview/")

    assert response.status_code == 409
    assert response.json()["extra"]["change"] == change["id"]
    assert "team: no team 'acme-search'" in response.json()["message"]


def test_the_preview_and_the_change_list_run_a_fixed_number_of_queries(
    plan: PlanWorld, django_assert_num_queries: Any
) -> None:
    client = plan.client("member")
    kickoff = plan.milestones["kickoff"]
    preview = f"/api/v1/transformations/{plan.transformation.pk}/scenario/preview/"
    listing = f"/api/v1/milestones/{kickoff.pk}/changes/"
    milestone_change_add(
        milestone=kickoff,
        change={"kind": "create_team", "slug": "t0", "name": "T", "type": "platform"},
        actor=None,
    )
    counts = {}
    for path in (preview, listing):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts[path] = len(queries)
    for index in range(1, 8):
        milestone_change_add(
            milestone=kickoff,
            change={"kind": "create_team", "slug": f"t{index}", "name": "T", "type": "platform"},
            actor=plan.world.users["admin"],
        )
        milestone_change_add(
            milestone=kickoff,
            change={"kind": "add_devops_buddy", "team": f"t{index}", "person": "alice@acme.test"},
            actor=None,
        )

    for path in (preview, listing):
        with django_assert_num_queries(counts[path]):
            response = client.get(path)
        assert response.status_code == 200
    assert len(client.get(preview).json()["changes"]) == 15


# --- enacting -----------------------------------------------------------------------------------


def test_enacting_applies_the_changes_to_the_live_graph_with_history(
    demo: tuple[Transformation, APIClient, User],
) -> None:
    transformation, client, user = demo
    organization = transformation.organization
    milestone = _first(transformation)
    for change in [*_dba_to_service(organization), MERGE_SILOS]:
        _attach(client, milestone, change)
    preview = client.get(f"/api/v1/transformations/{transformation.pk}/scenario/preview/").json()

    response = client.post(f"/api/v1/milestones/{milestone.pk}/enact/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["enacted"]) == 8
    assert {row["status"] for row in body["enacted"]} == {"enacted"}
    assert {row["enacted_by"] for row in body["enacted"]} == {"demo"}
    assert not Team.objects.filter(organization=organization, slug__in=SILOS).exists()
    platform = Team.objects.get(organization=organization, slug="infrastructure-platform")
    assert platform.type == "platform"
    assert Membership.objects.filter(team=platform).count() == 4 + 3 + 5  # every silo member
    # The live analysis is now what the preview promised.
    assert org_analysis_get(organization=organization)["findings"] == preview["after"]["findings"]
    # The silos are retired, not deleted: kept with a lineage event naming where their work went,
    # and their retirement in the history carries the user.
    dba = Team.all_objects.get(organization=organization, slug="dba")
    assert dba.retired_at is not None
    assert not Team.history.filter(slug="dba", history_type="-").exists()
    retirement = Team.history.filter(slug="dba", retired_at__isnull=False).earliest("history_date")
    assert retirement.history_user == user
    merged = TeamLineageEvent.objects.get(team=dba, kind="merged")
    assert merged.successor == platform
    assert (merged.source, merged.reference) == ("milestone", f"milestone:{milestone.pk}")
    assert merged.recorded_by == user
    created = Team.history.filter(slug="infrastructure-platform", history_type="+").get()
    assert created.history_user == user
    event = MilestoneEvent.objects.get(milestone=milestone, kind=EventKind.ENACTED)
    assert event.actor == user
    assert len(event.data["changes"]) == 8
    assert "infrastructure-platform" in event.data["topology"]["teams_created"]
    events = client.get(f"/api/v1/milestones/{milestone.pk}/events/").json()["results"]
    assert events[-1]["kind"] == "enacted"


def test_a_mode_change_is_an_update_of_the_same_row_in_its_history(plan: PlanWorld) -> None:
    client = plan.client("admin")
    milestone = plan.milestones["kickoff"]
    interaction = plan.world.acme.interaction
    _attach(
        client,
        milestone,
        {
            "kind": "change_interaction_mode",
            "source": "acme-payments",
            "target": "acme-dba",
            "from_mode": "ticket_dependency",
            "to_mode": "x_as_a_service",
        },
    )
    assert client.post(f"/api/v1/milestones/{milestone.pk}/enact/").status_code == 200
    interaction.refresh_from_db()
    assert (interaction.mode, interaction.severity) == ("x_as_a_service", "")
    latest = interaction.history.first()
    assert (latest.history_type, latest.history_user) == ("~", plan.world.users["admin"])


def test_enacting_twice_does_nothing_the_second_time(plan: PlanWorld) -> None:
    client = plan.client("admin")
    milestone = plan.milestones["kickoff"]
    _attach(
        client, milestone, {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"}
    )
    assert client.post(f"/api/v1/milestones/{milestone.pk}/enact/").status_code == 200
    history_rows = Team.history.count()

    again = client.post(f"/api/v1/milestones/{milestone.pk}/enact/")

    assert again.status_code == 200
    assert again.json()["enacted"] == []
    assert Team.history.count() == history_rows
    assert MilestoneEvent.objects.filter(kind=EventKind.ENACTED).count() == 1
    deleted = client.delete(f"/api/v1/milestone-changes/{MilestoneChange.objects.get().pk}/")
    assert deleted.status_code == 409


def test_a_change_that_fails_at_enact_time_leaves_everything_unchanged(plan: PlanWorld) -> None:
    client = plan.client("admin")
    milestone = plan.milestones["kickoff"]
    for change in [
        {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"},
        {"kind": "add_devops_buddy", "team": "acme-search", "person": "alice@acme.test"},
        {"kind": "move_person", "person": "alice@acme.test", "to_team": "p"},
    ]:
        assert _attach(client, milestone, change).status_code == 201
    team_retire(
        team=Team.objects.get(slug="acme-search"), source="api"
    )  # the graph moved on meanwhile
    team_history = Team.history.count()

    response = client.post(f"/api/v1/milestones/{milestone.pk}/enact/")

    assert response.status_code == 409
    assert response.json()["message"].startswith(
        f"Milestone '{milestone.title}', change 2 (DevOps buddy, id "
    )
    assert "team: no team 'acme-search'" in response.json()["message"]
    assert not Team.objects.filter(slug="p").exists()
    assert Team.history.count() == team_history
    assert not MilestoneChange.objects.filter(enacted_at__isnull=False).exists()
    assert not MilestoneEvent.objects.filter(kind=EventKind.ENACTED).exists()


# --- permissions --------------------------------------------------------------------------------


def test_only_plan_editors_attach_and_delete_changes(plan: PlanWorld) -> None:
    change = {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"}
    for kind in ("member", "leader", "em"):
        assert _attach(plan.client(kind), plan.milestones["buddies"], change).status_code == 403
    row = _attach(plan.client("change_agent"), plan.milestones["buddies"], change).json()
    for kind in ("member", "em"):
        assert (
            plan.client(kind).delete(f"/api/v1/milestone-changes/{row['id']}/").status_code == 403
        )
    assert plan.client("member").get(f"/api/v1/milestone-changes/{row['id']}/").status_code == 200


def test_the_milestone_owner_and_plan_editors_enact_but_others_do_not(plan: PlanWorld) -> None:
    buddies = plan.milestones["buddies"]  # owned by "em"
    _attach(
        plan.client("admin"),
        buddies,
        {"kind": "create_team", "slug": "p", "name": "P", "type": "platform"},
    )
    for kind in ("member", "leader", "other_em"):
        response = plan.client(kind).post(f"/api/v1/milestones/{buddies.pk}/enact/")
        assert response.status_code == 403, kind
    assert not Team.objects.filter(slug="p").exists()
    assert plan.client("em").post(f"/api/v1/milestones/{buddies.pk}/enact/").status_code == 200
    assert Team.objects.filter(slug="p").exists()


def test_other_organisations_get_404_for_every_scenario_endpoint(plan: PlanWorld) -> None:
    row = milestone_change_add(
        milestone=plan.milestones["kickoff"],
        change={"kind": "create_team", "slug": "p", "name": "P", "type": "platform"},
        actor=None,
    )
    client = plan.client("no_role")
    milestone = plan.milestones["kickoff"].pk
    change = {"kind": "create_team", "slug": "q", "name": "Q", "type": "platform"}
    responses = [
        client.get(f"/api/v1/transformations/{plan.transformation.pk}/scenario/preview/"),
        client.get(f"/api/v1/milestones/{milestone}/changes/"),
        client.post(f"/api/v1/milestones/{milestone}/changes/", change, format="json"),
        client.post(f"/api/v1/milestones/{milestone}/enact/"),
        client.get(f"/api/v1/milestone-changes/{row.pk}/"),
        client.delete(f"/api/v1/milestone-changes/{row.pk}/"),
        client.get("/api/v1/milestone-changes/999999/"),
    ]
    assert [response.status_code for response in responses] == [404] * 7
    assert MilestoneChange.objects.count() == 1
    assert not Team.objects.filter(slug="p").exists()


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per scenario preview computed from now on, with an empty cache: a pass-through
    spy, the real preview is computed; only the number of times is recorded."""
    import transform.plans.selectors as plan_selectors

    cache.clear()
    counted: list[int] = []
    real = plan_selectors._scenario_preview_compute

    def counting(**kwargs: Any) -> Any:
        counted.append(1)
        return real(**kwargs)

    monkeypatch.setattr(plan_selectors, "_scenario_preview_compute", counting)
    return counted


def test_a_preview_is_computed_once_until_the_graph_or_the_changes_change(
    plan: PlanWorld, computed: list[int]
) -> None:
    client = plan.client("member")
    kickoff = plan.milestones["kickoff"]
    path = f"/api/v1/transformations/{plan.transformation.pk}/scenario/preview/"
    change = milestone_change_add(
        milestone=kickoff,
        change={"kind": "create_team", "slug": "t0", "name": "T", "type": "platform"},
        actor=None,
    )

    first, again = client.get(path).json(), client.get(path).json()
    assert (first, len(computed)) == (again, 1)
    # Up to a milestone: the same changes, so the same preview, saying which milestone.
    up_to = client.get(f"{path}?milestone={kickoff.pk}").json()
    assert (up_to["up_to_milestone"], up_to["delta"], len(computed)) == (
        kickoff.pk,
        first["delta"],
        1,
    )

    MilestoneChange.objects.filter(pk=change.pk).update(
        change={"kind": "create_team", "slug": "t1", "name": "T", "type": "platform"}
    )
    renamed = client.get(path).json()
    assert renamed["delta"]["topology"]["teams_created"] == ["t1"]

    Team.objects.create(organization=plan.transformation.organization, slug="new", name="New")
    grown = client.get(path).json()
    assert grown["before"]["metrics"]["teams"] == first["before"]["metrics"]["teams"] + 1
    assert len(computed) == 3


def test_a_preview_cached_by_other_preview_code_is_not_read(
    plan: PlanWorld, computed: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import transform.plans.selectors as plan_selectors

    milestone_change_add(
        milestone=plan.milestones["kickoff"],
        change={"kind": "create_team", "slug": "t0", "name": "T", "type": "platform"},
        actor=None,
    )

    plan_selectors.scenario_preview_get(transformation=plan.transformation)
    plan_selectors.scenario_preview_get(transformation=plan.transformation)
    # A deployment whose preview code differs (a new shape) computes its own preview.
    monkeypatch.setattr(plan_selectors, "_PREVIEW_CODE", "another-code")
    plan_selectors.scenario_preview_get(transformation=plan.transformation)

    assert len(computed) == 2
