"""Change without losing evidence, on the demo: enacting the plan's merge keeps every answer,
event, snapshot and check-in; evidence naming a merged or retired team is still accepted and
counts through lineage; the merged team's series shows its predecessors'; people who hold open
work cannot be deleted."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from teams.models import Organization, Person, Team, TeamLineageEvent
from teams.selectors import org_snapshot_get, team_attribution
from tests.builders import FIXTURES_DIR
from transform.evidence.selectors import ingested_readings
from transform.models import (
    CheckIn,
    Delivery,
    Milestone,
    MilestoneChange,
    MilestoneStatus,
    ReadinessSnapshot,
    Response,
    SignalEvent,
    Transformation,
)

SILOS = ("dba", "networking", "backend-ops")
EXAMPLE = FIXTURES_DIR / "signal-events.csv"


@pytest.fixture
def demo(db: Any) -> tuple[Organization, APIClient]:
    call_command("load_demo", "--password", "x", stdout=io.StringIO())
    call_command("seed_demo", "--password", "x", stdout=io.StringIO())
    client = APIClient()
    client.force_login(User.objects.get(username="demo"))
    return Organization.objects.get(slug="demo"), client


def _evidence_counts(organization: Organization) -> dict[str, int]:
    return {
        "signal events": SignalEvent.objects.filter(organization=organization).count(),
        "survey answers": Response.objects.filter(organization=organization).count(),
        "readiness snapshots": ReadinessSnapshot.objects.filter(organization=organization).count(),
        "check-ins": CheckIn.objects.filter(organization=organization).count(),
        "deliveries": Delivery.objects.filter(checkin__organization=organization).count(),
    }


def _enact_every_attached_change(client: APIClient, organization: Organization) -> None:
    transformation = Transformation.objects.get(organization=organization)
    milestones = sorted(
        {
            change.milestone
            for change in MilestoneChange.objects.filter(milestone__transformation=transformation)
        },
        key=lambda milestone: milestone.position,
    )
    assert milestones, "the demo attaches the merge of the silos to a milestone"
    for milestone in milestones:
        response = client.post(f"/api/v1/milestones/{milestone.pk}/enact/")
        assert response.status_code == 200, response.content


def test_enacting_every_attached_change_of_the_demo_keeps_every_piece_of_evidence(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    before = _evidence_counts(organization)
    assert before["signal events"] > 20  # the example file and four months of weekly events
    assert before["readiness snapshots"] > 0
    assert before["survey answers"] > 0

    _enact_every_attached_change(client, organization)

    assert _evidence_counts(organization) == before
    # The silos left the live graph, kept as retired teams merged into the platform team.
    assert not Team.objects.filter(organization=organization, slug__in=SILOS).exists()
    platform = Team.objects.get(organization=organization, slug="infrastructure-platform")
    merged = TeamLineageEvent.objects.filter(team__slug__in=SILOS, kind="merged")
    assert sorted(event.team.slug for event in merged) == sorted(SILOS)
    assert {event.successor for event in merged} == {platform}
    # The incident of the backend-ops silo is still attributed to it.
    incident = SignalEvent.objects.select_related("team").get(external_id="INC-301")
    assert incident.team is not None
    assert incident.team.slug == "backend-ops"


def test_after_the_merge_the_example_signals_ingest_again_unchanged(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    _enact_every_attached_change(client, organization)
    out = io.StringIO()

    call_command("ingest_signals", "--org", "demo", str(EXAMPLE), stdout=out)

    assert "for 'demo': 0 created, 0 updated, 20 unchanged." in out.getvalue()


def test_a_ticket_waiting_on_a_merged_silo_is_accepted_and_counts_under_its_successor(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    _enact_every_attached_change(client, organization)
    dba = Team.all_objects.get(organization=organization, slug="dba")
    platform = Team.objects.get(organization=organization, slug="infrastructure-platform")
    merged_at = TeamLineageEvent.objects.get(team=dba, kind="merged").occurred_at
    closed = (merged_at + dt.timedelta(hours=2)).isoformat()
    ticket = {
        "kind": "ticket",
        "id": "DBA-880",
        "team": "catalog",
        "occurred_at": "2026-08-25T09:00:00Z",
        "closed_at": closed,
        "waiting_on": "dba",
        "developers_waiting": 3,
    }
    after_merge = {
        "kind": "ticket",
        "id": "DBA-990",
        "team": "dba",
        "occurred_at": (merged_at + dt.timedelta(minutes=5)).isoformat(),
        "closed_at": None,
        "waiting_on": None,
        "developers_waiting": 2,
    }

    closing = client.post(
        "/api/v1/orgs/demo/signal-events/", {"records": [ticket, after_merge]}, format="json"
    )

    assert closing.status_code == 201, closing.content
    assert closing.json()["updated"] == 1
    assert closing.json()["created"] == 1
    # Stored as named: the ticket filed under dba after the merge stays dba's record ...
    assert SignalEvent.objects.get(external_id="DBA-990").team == dba
    # ... and counts under the platform team from the merge on.
    end = merged_at + dt.timedelta(days=1)
    readings = ingested_readings(organization=organization, start=merged_at, end=end)
    assert readings[platform.pk]["open_tickets"].value == 1
    assert dba.pk not in readings  # a retired team is no longer read as a live team
    # Only a slug the organisation never knew is refused.
    unknown = client.post(
        "/api/v1/orgs/demo/signal-events/", {**after_merge, "team": "dbx"}, format="json"
    )
    assert unknown.status_code == 400
    assert "no team 'dbx'" in unknown.content.decode()


def test_a_renamed_team_answers_to_its_former_slug(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    renamed = client.patch(
        "/api/v1/orgs/demo/teams/checkout/", {"slug": "checkout-squad"}, format="json"
    )
    assert renamed.status_code == 200, renamed.content
    team = Team.objects.get(organization=organization, slug="checkout-squad")

    response = client.post(
        "/api/v1/orgs/demo/signal-events/",
        {
            "kind": "deploy",
            "id": "deploy-after-rename",
            "team": "checkout",
            "occurred_at": "2026-10-02T12:00:00Z",
            "commit_times": ["2026-10-02T09:00:00Z"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert SignalEvent.objects.get(external_id="deploy-after-rename").team == team
    assert team_attribution(organization=organization).team_id_for("checkout") == team.pk
    listed = client.get(
        "/api/v1/orgs/demo/signal-events/",
        {"team": "checkout", "since": "2026-10-02T12:00:00Z", "until": "2026-10-02T12:00:01Z"},
    ).json()
    assert "deploy-after-rename" in {row["id"] for row in listed["results"]}


def test_the_merged_teams_readiness_history_shows_the_silos_earlier_rows_labelled(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    silo_rows = ReadinessSnapshot.objects.filter(team__slug__in=SILOS).count()
    assert silo_rows > 0
    _enact_every_attached_change(client, organization)

    history = client.get(
        "/api/v1/orgs/demo/readiness/history/", {"team": "infrastructure-platform", "limit": "500"}
    )

    assert history.status_code == 200, history.content
    rows = history.json()["results"]
    predecessors = [row for row in rows if row["team"] in SILOS]
    assert len(predecessors) == silo_rows
    assert {row["lineage"]["successor"] for row in predecessors} == {"infrastructure-platform"}
    assert {row["lineage"]["kind"] for row in predecessors} == {"merged"}
    assert all(row["lineage"] is None for row in rows if row["team"] not in SILOS)
    # A retired team's own history is still readable by its slug; an unknown slug is a 400.
    dba = client.get("/api/v1/orgs/demo/readiness/history/", {"team": "dba"})
    assert dba.status_code == 200
    assert {row["team"] for row in dba.json()["results"]} <= {"dba"}
    assert client.get("/api/v1/orgs/demo/readiness/history/", {"team": "nope"}).status_code == 400


def test_the_merged_teams_signal_events_include_the_silos(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    _enact_every_attached_change(client, organization)

    listed = client.get(
        "/api/v1/orgs/demo/signal-events/", {"team": "infrastructure-platform", "limit": "500"}
    )

    assert listed.status_code == 200
    ids = {row["id"]: row["team"] for row in listed.json()["results"]}
    assert ids["INC-301"] == "backend-ops"
    assert client.get("/api/v1/orgs/demo/signal-events/", {"team": "dba"}).status_code == 200


def test_the_as_of_graph_before_the_merge_shows_the_silos(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    before = timezone.now()
    _enact_every_attached_change(client, organization)

    then = {team.slug for team in org_snapshot_get(organization=organization, as_of=before).teams}
    now = {team.slug for team in org_snapshot_get(organization=organization).teams}

    assert set(SILOS) <= then
    assert not set(SILOS) & now
    lineage = client.get("/api/v1/orgs/demo/teams/infrastructure-platform/lineage/").json()
    assert sorted(row["team"] for row in lineage["predecessors"]) == sorted(SILOS)
    retired = client.get("/api/v1/orgs/demo/teams/dba/").json()
    assert retired["retired_at"] is not None


def test_deleting_a_milestone_owner_answers_409_with_the_milestones_to_reassign(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    agent = Person.objects.get(organization=organization, email="amara.nwosu@democorp.example")

    response = client.delete(f"/api/v1/orgs/demo/people/{agent.pk}/")

    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert "milestone" in body["message"].lower()
    open_milestones = Milestone.objects.filter(owner=agent).exclude(status=MilestoneStatus.DONE)
    assert len(body["extra"]["open_milestones"]) == open_milestones.count() > 0
    assert body["extra"]["transformations_led"][0]["title"] == "Demo: unify the ops silos"
    assert f"'{open_milestones.order_by('position')[0].title}" in body["message"]
    assert Person.objects.filter(pk=agent.pk, left_on__isnull=True).exists()


def test_the_leadership_heat_map_shows_the_silos_rows_under_the_platform_team(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    _enact_every_attached_change(client, organization)
    browser = Client()
    assert browser.login(username="demo-leader", password="x")

    page = browser.get("/o/demo/leadership/")
    html = page.content.decode()
    stored = ReadinessSnapshot.objects.filter(
        team__slug="dba", period_start__in=[period.start for period in page.context["periods"]]
    ).count()
    assert stored > 0

    rows = re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S)
    labels = [
        row for row in rows if "/teams/infrastructure-platform/" in row or "merged into" in row
    ]
    assert "/teams/infrastructure-platform/" in labels[0]
    silos = labels[1:]
    names = dict(Team.all_objects.filter(organization=organization).values_list("slug", "name"))
    shown = sorted(re.search(r"↳ </span>(.*?)<br>", row)[1] for row in silos)  # type: ignore[index]
    assert shown == sorted(names[slug] for slug in SILOS)
    assert all("merged into Infrastructure Platform on " in row for row in silos)
    dba = next(row for row in silos if f"</span>{names['dba']}<br>" in row)
    # Its stored periods are shown (scores or "suppressed"), not "no data".
    assert len(re.findall(r"lead-cell-(?:score|suppressed)", dba)) == stored


def test_leaving_through_the_api_keeps_the_history_and_refuses_a_day_after_today(
    demo: tuple[Organization, APIClient],
) -> None:
    organization, client = demo
    person = Person.objects.filter(organization=organization, memberships__isnull=False).exclude(
        email="amara.nwosu@democorp.example"
    )[0]
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()

    future = client.post(f"/api/v1/orgs/demo/people/{person.pk}/leave/", {"left_on": tomorrow})
    left = client.post(f"/api/v1/orgs/demo/people/{person.pk}/leave/", {"left_on": "2026-11-30"})

    assert future.status_code == 400
    assert "is after today" in future.json()["extra"]["fields"]["left_on"][0]
    assert left.status_code == 200, left.content
    assert left.json()["left_on"] == "2026-11-30"
    person.refresh_from_db()
    assert not person.memberships.exists()
    assert person.history.count() >= 2
    leavers = client.get("/api/v1/orgs/demo/people/", {"leaver": "true"}).json()["results"]
    assert [row["email"] for row in leavers] == [person.email]
