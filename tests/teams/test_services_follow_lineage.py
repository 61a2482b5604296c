"""Services follow lineage: a merge hands the merged teams' services to the final successor (in
the service history, with who and why); a split parent keeps its own; a team retired without a
successor keeps its services, which leave the live graph with it (docs/scenarios.md, "Lineage")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from teams.lifecycle import team_retire, topology_changes_enact
from teams.models import Organization, Service, Team
from teams.scenarios import change_parse
from teams.selectors import org_snapshot_get
from tests.factories import MembershipFactory, PersonFactory, TeamFactory, UserFactory
from transform.evidence.services import signal_events_ingest
from transform.models import SignalEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(organization: Organization) -> Organization:
    for slug, services in [
        ("dba", [("component", "database"), ("api", "backups")]),
        ("netops", [("system", "network")]),
        ("sysops", [("component", "hosts")]),
        ("checkout", [("component", "cart")]),
    ]:
        team: Any = TeamFactory(organization=organization, slug=slug)
        for person in range(2):
            MembershipFactory(
                team=team,
                person=PersonFactory(organization=organization, email=f"{slug}{person}@acme.test"),
            )
        for kind, service in services:
            Service.objects.create(organization=organization, team=team, kind=kind, slug=service)
    return organization


def enact(organization: Organization, *changes: dict[str, Any], user: Any = None) -> None:
    topology_changes_enact(
        organization=organization,
        changes=[change_parse(change) for change in changes],
        user=user,
        reference="milestone:7",
    )


def owners(organization: Organization) -> dict[str, str | None]:
    return {
        service.ref: service.team.slug if service.team else None
        for service in Service.objects.filter(organization=organization).select_related("team")
    }


def live_services(organization: Organization) -> dict[str, tuple[str, ...]]:
    return {team.slug: team.services for team in org_snapshot_get(organization=organization).teams}


def test_a_merge_hands_the_merged_teams_services_to_the_kept_team(acme: Organization) -> None:
    enact(acme, {"kind": "merge_teams", "teams": ["dba", "netops", "sysops"], "into": "sysops"})

    assert owners(acme) == {
        "api:backups": "sysops",
        "component:cart": "checkout",
        "component:database": "sysops",
        "component:hosts": "sysops",
        "system:network": "sysops",
    }
    assert live_services(acme)["sysops"] == (
        "api:backups",
        "component:database",
        "component:hosts",
        "system:network",
    )


def test_a_merge_into_a_new_team_hands_it_every_merged_teams_services(
    acme: Organization,
) -> None:
    enact(
        acme,
        {
            "kind": "merge_teams",
            "teams": ["dba", "netops"],
            "into": "infrastructure",
            "name": "Infrastructure",
            "type": "platform",
        },
    )

    assert live_services(acme)["infrastructure"] == (
        "api:backups",
        "component:database",
        "system:network",
    )
    assert set(live_services(acme)) == {"checkout", "infrastructure", "sysops"}


def test_chained_merges_hand_the_services_to_the_final_successor(acme: Organization) -> None:
    enact(
        acme,
        {"kind": "merge_teams", "teams": ["dba", "netops"], "into": "netops"},
        {"kind": "merge_teams", "teams": ["netops", "sysops"], "into": "sysops"},
    )

    assert {ref for ref, owner in owners(acme).items() if owner == "sysops"} == {
        "api:backups",
        "component:database",
        "component:hosts",
        "system:network",
    }


def test_the_service_history_records_who_merged_it_why_and_the_owner_before(
    acme: Organization,
) -> None:
    agent: Any = UserFactory(username="agent")
    before = timezone.now()
    enact(acme, {"kind": "merge_teams", "teams": ["dba", "sysops"], "into": "sysops"}, user=agent)

    database = Service.objects.get(slug="database")
    latest = database.history.latest()
    assert (latest.history_user, latest.history_change_reason, latest.team_id) == (
        agent,
        "dba merged into sysops (command)",
        Team.objects.get(slug="sysops").pk,
    )
    # The graph as of before the merge still shows the database with dba.
    then = {t.slug: t.services for t in org_snapshot_get(organization=acme, as_of=before).teams}
    assert then["dba"] == ("api:backups", "component:database")


def test_a_split_parent_keeps_its_services_and_the_parts_start_with_none(
    acme: Organization,
) -> None:
    enact(
        acme,
        {
            "kind": "split_team",
            "team": "dba",
            "into": [{"slug": "dba-cloud", "name": "DBA Cloud", "members": ["dba1@acme.test"]}],
        },
    )

    assert live_services(acme)["dba"] == ("api:backups", "component:database")
    assert live_services(acme)["dba-cloud"] == ()


def test_a_team_retired_without_successor_keeps_its_services_off_the_live_graph(
    acme: Organization,
) -> None:
    before = timezone.now()
    team_retire(team=Team.objects.get(slug="dba"), source="api")

    assert owners(acme)["component:database"] == "dba"
    services = live_services(acme)
    assert set(services) == {"checkout", "netops", "sysops"}
    assert "component:database" not in {ref for refs in services.values() for ref in refs}
    then = {t.slug: t.services for t in org_snapshot_get(organization=acme, as_of=before).teams}
    assert then["dba"] == ("api:backups", "component:database")


def test_a_service_of_a_merged_team_names_its_successor_in_new_signal_events(
    acme: Organization,
) -> None:
    enact(acme, {"kind": "merge_teams", "teams": ["dba", "sysops"], "into": "sysops"})
    signal_events_ingest(
        organization=acme,
        records=[
            {
                "kind": "deploy",
                "id": "d1",
                "service": "component:database",
                "occurred_at": "2026-03-02T10:00:00Z",
            }
        ],
        source="the test",
        at=dt.datetime(2026, 3, 10, tzinfo=dt.UTC),
    )

    event: Any = SignalEvent.objects.select_related("team").get()
    assert event.team.slug == "sysops"
