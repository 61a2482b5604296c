"""The merge trick of issue 13 on the demo organisation: merging the ops silos into one team typed
``platform`` must not pass the ticket-dependency exit criterion while the tickets still wait."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from playbooks.criteria import evaluate_criteria
from teams.models import Organization, Team
from teams.scenarios import apply_changes, change_parse
from teams.selectors import org_snapshot_get
from tests.factories import TeamFactory
from transform.plans.selectors import former_silos_get

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def merged_demo():
    call_command("load_demo", "--password", "x", stdout=StringIO())
    snapshot = org_snapshot_get(organization=Organization.objects.get(slug="demo"))
    silos = sorted(team.slug for team in snapshot.teams if team.type == "ops_silo")
    assert len(silos) == 3
    merge = {
        "kind": "merge_teams",
        "teams": silos,
        "into": "ops-platform",
        "name": "Ops platform",
        "type": "platform",
    }
    return apply_changes(snapshot, [change_parse(merge)])


def judge(snapshot, name: str):
    [result] = evaluate_criteria([{"graph": name}], snapshot=snapshot, signals=lambda kind: None)
    return result


@pytest.mark.parametrize(
    "name", ["no_ticket_dependencies_on_gatekeepers", "no_ticket_dependencies_on_ops_silos"]
)
def test_merging_the_silos_into_a_platform_fails_the_criterion_naming_the_8_tickets(name):
    merged = merged_demo()

    result = judge(merged, name)

    assert result.status == "fail"
    assert result.evidence["count"] == 8
    assert result.evidence["teams"] == ["ops-platform"]
    assert result.evidence["ops_silos"] == 0
    assert len(result.evidence["dependencies"]) == 8
    # The message names the teams; the evidence keeps their slugs.
    names = {team.slug: team.name for team in merged.teams}
    assert result.message.startswith(
        "8 ticket dependencies still wait on Ops platform (platform team)"
    )
    assert "ops-platform" not in result.message
    for dependency in result.evidence["dependencies"]:
        assert f"{names[dependency['source']]} → Ops platform" in result.message


def test_turning_the_tickets_into_x_as_a_service_passes_the_criterion():
    merged = merged_demo()
    sources = sorted(
        edge.source
        for edge in merged.interactions
        if edge.mode == "ticket_dependency" and edge.target == "ops-platform"
    )
    changes = [
        change_parse(
            {
                "kind": "change_interaction_mode",
                "source": source,
                "target": "ops-platform",
                "from_mode": "ticket_dependency",
                "to_mode": "x_as_a_service",
            }
        )
        for source in sources
    ]

    result = judge(apply_changes(merged, changes), "no_ticket_dependencies_on_gatekeepers")

    assert result.status == "pass"
    assert result.evidence["count"] == 0


def test_a_retyped_former_silo_is_still_a_gatekeeper(organization):
    TeamFactory(organization=organization, slug="dba", type="ops_silo", specialty="database")
    TeamFactory(organization=organization, slug="pay", type="stream_aligned")
    # Renamed and retyped since: only its history says it was a silo.
    Team.objects.filter(slug="dba").update(slug="data-platform", type="enabling", specialty="")
    Team.objects.get(slug="data-platform").save()

    assert former_silos_get(organization=organization) == {"data-platform"}
