"""The audit trail API (transform/audit/): what it lists, for whom, filtered how, and what it never
shows (docs/audit.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from teams.models import Invitation
from tests.builders import PlanWorld, build_plan_world, fresh, module_world, survey
from tests.factories import TeamFactory
from transform.audit.export import CSV_COLUMNS, cell_neutralised
from transform.audit.selectors import AuditFilters, audit_entry_list
from transform.models import CheckinSettings, Response, ResponseKind

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/orgs/acme/audit/"
AUDIT_CSV = "/api/v1/orgs/acme/audit.csv"
WEBHOOK = "https://hooks.example.com/services/T000/B000/very-secret-path"


@pytest.fixture(scope="module")
def plan_world_built(django_db_setup: None, django_db_blocker: Any) -> Iterator[PlanWorld]:
    yield from module_world(django_db_blocker, build_plan_world)


@pytest.fixture
def world(plan_world_built: PlanWorld, db: None) -> PlanWorld:
    return fresh(plan_world_built)


def _changes(world: PlanWorld) -> None:
    """As acme's admin, through the API: a milestone status change, a role grant and a check-in
    settings change (min_group_size 5 -> 7 and a webhook URL)."""
    admin = world.client("admin")
    kickoff = world.milestones["kickoff"]
    moved = admin.post(
        f"/api/v1/milestones/{kickoff.pk}/transition/", {"to": "in_progress"}, format="json"
    )
    assert moved.status_code == 200, moved.content
    granted = admin.post(
        "/api/v1/orgs/acme/roles/", {"user": "member", "role": "leader"}, format="json"
    )
    assert granted.status_code == 201, granted.content
    settings = admin.patch(
        "/api/v1/orgs/acme/checkin-settings/",
        {"min_group_size": 7, "channel": "webhook", "webhook_url": WEBHOOK},
        format="json",
    )
    assert settings.status_code == 200, settings.content


def _results(client: APIClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(AUDIT + query)
    assert response.status_code == 200, response.content
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _change(entry: dict[str, Any], name: str) -> tuple[str | None, str | None]:
    found = [c for c in entry["changes"] if c["field"] == name]
    assert found, f"no change of {name} in {entry}"
    return found[0]["before"], found[0]["after"]


def test_it_lists_a_milestone_status_change_a_role_grant_and_a_settings_change(
    world: PlanWorld,
) -> None:
    _changes(world)
    results = _results(world.client("leader"))

    status = next(e for e in results if e["object_type"] == "milestone" and e["action"] == "status")
    assert status["object_id"] == world.milestones["kickoff"].pk
    assert status["actor"] == "admin"
    assert _change(status, "status") == ("planned", "in_progress")

    grant = next(e for e in results if e["object_type"] == "role" and e["action"] == "created")
    assert grant["actor"] == "admin"
    assert grant["object_label"] == "member as leader"
    assert _change(grant, "role") == (None, "leader")
    assert _change(grant, "user") == (None, "member")

    settings_changes = [e for e in results if e["object_type"] == "checkin_settings"]
    changed = next(e for e in settings_changes if e["action"] == "changed")
    assert changed["actor"] == "admin"
    assert changed["object_label"] == "check-in settings"
    assert _change(changed, "min_group_size") == ("5", "7")
    assert _change(changed, "channel") == ("email", "webhook")
    # The URL is a credential: its scheme and host only.
    assert _change(changed, "webhook_url") == ("", "https://hooks.example.com/…")
    assert "very-secret-path" not in json.dumps(results)
    # Newest first: the settings were changed last.
    assert results[0]["object_type"] == "checkin_settings"
    assert [e["at"] for e in results] == sorted((e["at"] for e in results), reverse=True)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("admin", 200),
        ("change_agent", 200),
        ("leader", 200),
        ("em", 403),
        ("member", 403),
        ("no_role", 404),
        ("anonymous", 401),
    ],
)
def test_admins_change_agents_and_leaders_read_it_and_nobody_else(
    world: PlanWorld, kind: str, status: int
) -> None:
    client = world.client(kind)
    for url in (AUDIT, AUDIT_CSV):
        response = client.get(url)
        assert response.status_code == status, (url, response.content)
        if status != 200:
            assert set(response.json()) == {"message", "extra"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_can_edit_it(world: PlanWorld, method: str) -> None:
    admin = world.client("admin")
    for url in (AUDIT, AUDIT_CSV):
        response = getattr(admin, method)(url, {}, format="json")
        assert response.status_code == 405, (url, response.content)
        assert set(response.json()) == {"message", "extra"}


def test_it_filters_by_object_type_and_object(world: PlanWorld) -> None:
    _changes(world)
    leader = world.client("leader")
    settings = _results(leader, "?object_type=checkin_settings")
    assert settings
    assert {e["object_type"] for e in settings} == {"checkin_settings"}

    team = world.world.acme.team
    other = world.world.acme.other_team
    team.name = "Payments Renamed"
    team.save()
    other.name = "Search Renamed"
    other.save()
    only_team = _results(leader, f"?object_type=team&object_id={team.pk}")
    assert only_team
    assert {(e["object_type"], e["object_id"]) for e in only_team} == {("team", team.pk)}
    assert _change(only_team[0], "name")[1] == "Payments Renamed"


def test_it_filters_by_actor(world: PlanWorld) -> None:
    _changes(world)
    team = world.world.acme.team
    team.description = "changed by the system"
    team.save()  # no request, no user: the system
    leader = world.client("leader")
    by_admin = _results(leader, "?actor=admin")
    assert by_admin
    assert {e["actor"] for e in by_admin} == {"admin"}
    everything = _results(leader, "?page_size=500")
    assert any(e["actor"] is None and e["actor_name"] == "system" for e in everything)
    assert len(everything) > len(by_admin)
    assert _results(leader, "?actor=nobody-by-this-name") == []


def test_it_filters_by_days_both_included(world: PlanWorld) -> None:
    _changes(world)
    history = CheckinSettings.history.model
    history.objects.filter(organization=world.world.acme.org).update(
        history_date=timezone.make_aware(dt.datetime(2026, 3, 10, 12, 0))
    )
    leader = world.client("leader")
    query = "?object_type=checkin_settings"
    on_the_day = _results(leader, f"{query}&since=2026-03-10&until=2026-03-10")
    assert len(on_the_day) == 2  # created, then changed
    assert _results(leader, f"{query}&since=2026-03-11") == []
    assert _results(leader, f"{query}&until=2026-03-09") == []
    today = timezone.localdate().isoformat()
    assert {e["object_type"] for e in _results(leader, f"?since={today}")} >= {"milestone", "role"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("object_type=bogus", "object_type"),
        ("object_type=team&object_id=abc", "object_id"),
        ("object_type=team&object_id=99999999999999999999999", "object_id"),
        ("object_id=3", "object_id"),
        ("since=2026-13-01", "since"),
        ("since=0001-01-01", "since"),
        ("since=2026-03-10&until=2026-03-09", "until"),
        ("page=0", "page"),
        ("page=%C2%B9", "page"),
        ("page_size=501", "page_size"),
        ("actor=" + "x" * 151, "actor"),
        ("actor=%00", "actor"),
        ("until=9000-01-01", "until"),
    ],
)
def test_bad_filters_are_400_naming_the_field(world: PlanWorld, query: str, field: str) -> None:
    admin = world.client("admin")
    for url in (AUDIT, AUDIT_CSV):
        if url == AUDIT_CSV and field in ("page", "page_size"):
            continue
        response = admin.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query, response.content)
        assert field in response.json()["extra"]["fields"]


def test_another_organisations_changes_never_appear(world: PlanWorld) -> None:
    globex = world.world.globex
    globex.team.name = "Globex Secret Project"
    globex.team.save()
    CheckinSettings.objects.create(organization=globex.org, min_group_size=9)
    leader = world.client("leader")
    everything = json.dumps(_results(leader, "?page_size=500"))
    assert "Globex Secret Project" not in everything
    assert "globex" not in everything.lower()
    assert _results(leader, f"?object_type=team&object_id={globex.team.pk}") == []
    assert _results(leader, "?object_type=checkin_settings") == []
    csv_text = b"".join(leader.get(AUDIT_CSV).streaming_content).decode()  # type: ignore[attr-defined]
    assert "Globex" not in csv_text
    # Globex's admin holds no role in acme: acme's trail does not exist for them.
    assert world.client("no_role").get(AUDIT).status_code == 404


def test_survey_answers_never_appear(world: PlanWorld) -> None:
    _changes(world)
    team = world.world.acme.team
    survey(
        team,
        [{"platform_satisfaction": 4.25}],
        answers=[{"platform-satisfaction": {"slows_you_down": "ZEBRA-ANSWER-TEXT"}}],
    )
    stored = Response.objects.get(organization=world.world.acme.org, kind=ResponseKind.SURVEY)
    assert stored.answers["platform-satisfaction"]["slows_you_down"] == "ZEBRA-ANSWER-TEXT"
    leader = world.client("leader")
    listed = json.dumps(_results(leader, "?page_size=500"))
    exported = b"".join(leader.get(AUDIT_CSV).streaming_content).decode()  # type: ignore[attr-defined]
    for text in (listed, exported):
        assert "ZEBRA-ANSWER-TEXT" not in text
        # The score as a value, not the digits inside a timestamp ("12:32:24.25…").
        assert re.search(r"(?<![\d.:])4\.25(?!\d)", text) is None
        assert "slows_you_down" not in text


def test_token_hashes_never_appear(world: PlanWorld) -> None:
    acme = world.world.acme
    Invitation.objects.create(
        organization=acme.org,
        person=acme.person,
        email=acme.person.email,
        token_hash="f00dfeed" * 8,
        expires_at=timezone.now() + dt.timedelta(days=7),
    )
    leader = world.client("leader")
    listed = _results(leader, "?object_type=invitation")
    assert listed
    assert listed[0]["action"] == "created"
    assert listed[0]["object_label"] == f"invitation to {acme.person.email}"
    exported = b"".join(leader.get(AUDIT_CSV).streaming_content).decode()  # type: ignore[attr-defined]
    for text in (json.dumps(listed), exported):
        assert "f00dfeed" not in text
        assert "token_hash" not in text


def test_pages_link_to_each_other_without_overlap(world: PlanWorld) -> None:
    _changes(world)
    leader = world.client("leader")
    first = leader.get(AUDIT + "?page_size=3&actor=admin").json()
    assert len(first["results"]) == 3
    assert first["previous"] is None
    second = leader.get(first["next"]).json()
    assert second["page"] == 2
    assert second["previous"].endswith("page=1") or "page=1" in second["previous"]
    keys = {(e["object_type"], e["object_id"], e["at"], e["action"]) for e in first["results"]}
    assert not keys & {
        (e["object_type"], e["object_id"], e["at"], e["action"]) for e in second["results"]
    }


def test_the_csv_export_has_its_columns_and_neutralises_formulas(world: PlanWorld) -> None:
    _changes(world)
    TeamFactory(organization=world.world.acme.org, slug="formula", name='=HYPERLINK("x","y")')
    response = world.client("leader").get(AUDIT_CSV)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-acme.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert tuple(rows[0]) == CSV_COLUMNS
    team_rows = [row for row in rows[1:] if row[3] == "team" and row[7] == "name"]
    assert team_rows
    assert team_rows[0][5] == '\'=HYPERLINK("x","y")'
    assert team_rows[0][9] == '\'=HYPERLINK("x","y")'
    settings = [row for row in rows if row[3] == "checkin_settings" and row[7] == "min_group_size"]
    assert ["5", "7"] in [row[8:10] for row in settings]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_cells_that_look_like_formulas_are_neutralised() -> None:
    assert cell_neutralised("=1+2") == "'=1+2"
    assert cell_neutralised("+33 1 23") == "'+33 1 23"
    assert cell_neutralised("-5") == "'-5"
    assert cell_neutralised("@SUM(A1)") == "'@SUM(A1)"
    assert cell_neutralised("\tx") == "'\tx"
    assert cell_neutralised("plain") == "plain"
    assert cell_neutralised(None) == ""


def _grow_team_history(world: PlanWorld, count: int) -> None:
    org = world.world.acme.org
    for index in range(count):
        team: Any = TeamFactory(organization=org, slug=f"grown-{index}")
        team.name = f"Grown {index} renamed"
        team.save()


def _queries_of(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_history(world: PlanWorld) -> None:
    _changes(world)
    leader = world.client("leader")
    url = AUDIT + "?object_type=team&page_size=20"
    _grow_team_history(world, 3)
    few = _queries_of(leader, url)
    for index in range(60):
        team: Any = TeamFactory(organization=world.world.acme.org, slug=f"more-{index}")
        team.description = "again"
        team.save()
    many = _queries_of(leader, url)
    assert many <= few
    # Every source on one page: one query for the keys, two per history source, one per event
    # source, labels and names: a ceiling whatever the organisation's size.
    assert _queries_of(leader, AUDIT + "?page_size=500") <= 45


def test_the_selector_pages_every_source_newest_first(world: PlanWorld) -> None:
    _changes(world)
    org = world.world.acme.org
    page = audit_entry_list(organization=org, filters=AuditFilters(), page=1, page_size=500)
    kinds = {entry.object_type for entry in page.entries}
    assert {"organization", "team", "person", "membership", "role", "milestone"} <= kinds
    assert {"transformation", "checkin_settings", "unit", "interaction", "serves_link"} <= kinds
    moments = [entry.at for entry in page.entries]
    assert moments == sorted(moments, reverse=True)
    one = audit_entry_list(organization=org, filters=AuditFilters(), page=1, page_size=1)
    two = audit_entry_list(organization=org, filters=AuditFilters(), page=2, page_size=1)
    assert one.has_next
    assert two.has_previous
    assert one.entries[0] != two.entries[0]


def test_a_deleted_row_shows_what_it_held(world: PlanWorld) -> None:
    membership = world.world.acme.membership
    membership.delete()
    results = _results(world.client("leader"), "?object_type=membership")
    deleted = next(e for e in results if e["action"] == "deleted")
    assert deleted["object_label"] == f"Alice Archer in {world.world.acme.team.name}"
    assert _change(deleted, "role") == ("member", None)


def test_webhook_endpoints_and_mappings_show_who_changed_them_never_the_secret(
    world: PlanWorld,
) -> None:
    from teams.models import Team

    admin = world.client("admin")
    team = Team.objects.filter(organization__slug="acme").order_by("slug").first()
    assert team is not None
    created = admin.post("/api/v1/orgs/acme/webhooks/", {"sender": "github"}, format="json")
    rotated = admin.post("/api/v1/orgs/acme/webhooks/github/rotate/")
    mapped = admin.post(
        "/api/v1/orgs/acme/webhook-mappings/",
        {"sender": "github", "key": "acme/checkout-api", "team": team.slug},
        format="json",
    )
    assert (created.status_code, rotated.status_code, mapped.status_code) == (201, 200, 201)

    endpoint = _results(admin, "?object_type=webhook_endpoint")
    mapping = _results(admin, "?object_type=webhook_mapping")

    assert [(e["action"], e["object_label"], e["actor"]) for e in endpoint] == [
        ("changed", "github webhook", "admin"),
        ("created", "github webhook", "admin"),
    ]
    assert _change(endpoint[0], "secret") == ("(hidden)", "(hidden)")
    trail = json.dumps(_results(admin))
    assert created.json()["secret"] not in trail
    assert rotated.json()["secret"] not in trail
    assert [e["object_label"] for e in mapping] == [f"github acme/checkout-api → {team.name}"]
    assert _change(mapping[0], "team") == (None, team.name)
