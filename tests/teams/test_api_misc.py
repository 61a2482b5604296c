"""Token auth, history of API changes, analysis and export endpoints, and the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import F
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from teams.models import Membership, Team
from tests.builders import PASSWORD, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(api_world: World) -> World:
    return api_world


def test_a_token_is_issued_for_a_username_and_password_and_then_authenticates(
    world: World,
) -> None:
    client = APIClient()

    issued = client.post(
        "/api/v1/auth/token/", {"username": "member", "password": PASSWORD}, format="json"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    orgs = client.get("/api/v1/orgs/")

    assert issued.status_code == 200
    assert Token.objects.get(user=world.users["member"]).key == issued.json()["token"]
    assert orgs.status_code == 200
    assert [org["slug"] for org in orgs.json()["results"]] == ["acme"]


def test_a_wrong_password_gets_no_token(world: World) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "member", "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert "non_field_errors" in response.json()["extra"]["fields"]
    assert not Token.objects.exists()


def test_an_unknown_token_is_401(world: World) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/orgs/")

    assert response.status_code == 401
    assert set(response.json()) == {"message", "extra"}


def test_a_change_made_with_a_session_records_its_user_in_history(world: World) -> None:
    world.client("em").patch(
        "/api/v1/orgs/acme/teams/acme-payments/", {"name": "Payments v2"}, format="json"
    )

    latest = Team.history.filter(slug="acme-payments").latest("history_date")
    assert latest.name == "Payments v2"
    assert latest.history_user == world.users["em"]


def test_a_change_made_with_a_token_records_its_user_in_history(world: World) -> None:
    token = Token.objects.create(user=world.users["change_agent"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    client.delete(f"/api/v1/orgs/acme/memberships/{world.acme.membership.pk}/")

    deleted = Membership.history.get(id=world.acme.membership.pk, history_type="-")
    assert deleted.history_user == world.users["change_agent"]


def test_an_unchanged_patch_writes_no_history_row(world: World) -> None:
    before = Team.history.filter(slug="acme-payments").count()

    response = world.client("admin").patch(
        "/api/v1/orgs/acme/teams/acme-payments/", {"name": world.acme.team.name}, format="json"
    )

    assert response.status_code == 200
    assert Team.history.filter(slug="acme-payments").count() == before


def test_the_analysis_endpoint_returns_the_report_of_the_organisation(world: World) -> None:
    response = world.client("member").get("/api/v1/orgs/acme/analysis/")

    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == "acme"
    assert {"as_of", "metrics", "findings"} <= set(body)
    assert body["metrics"]["teams"] == 3


def test_the_analysis_as_of_a_past_date_shows_the_graph_of_that_day(world: World) -> None:
    client = world.client("admin")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    # The world was built ten days ago, as far as the history tables know.
    Team.history.update(history_date=F("history_date") - dt.timedelta(days=10))
    client.post(
        "/api/v1/orgs/acme/teams/",
        {"slug": "new", "name": "New", "type": "enabling"},
        format="json",
    )

    then = client.get(f"/api/v1/orgs/acme/analysis/?as_of={yesterday.isoformat()}").json()
    now = client.get("/api/v1/orgs/acme/analysis/").json()

    assert then["as_of"] == yesterday.isoformat()
    assert then["metrics"]["teams"] == 3
    assert now["metrics"]["teams"] == 4


@pytest.mark.parametrize("value", ["yesterday", "2024-02-30", "2024-13-01T00:00:00"])
def test_a_bad_as_of_is_a_field_error(world: World, value: str) -> None:
    response = world.client("member").get(f"/api/v1/orgs/acme/analysis/?as_of={value}")

    assert response.status_code == 400
    assert value in response.json()["extra"]["fields"]["as_of"][0]


def test_an_iso_datetime_as_of_is_accepted(world: World) -> None:
    response = world.client("member").get(
        "/api/v1/orgs/acme/analysis/?as_of=2030-01-01T12:00:00%2B02:00"
    )

    assert response.status_code == 200
    assert response.json()["as_of"].startswith("2030-01-01")


@pytest.mark.parametrize(
    ("fmt", "content_type", "marker"),
    [
        ("json", "application/json", '"acme-payments"'),
        ("graphml", "application/graphml+xml", "<graphml"),
        ("mermaid", "text/", "flowchart"),
        ("dot", "text/vnd.graphviz", "acme-payments"),
        ("backstage", "application/yaml", "kind: Group"),
    ],
)
def test_export_serves_each_format_with_its_content_type(
    world: World, fmt: str, content_type: str, marker: str
) -> None:
    response = world.client("leader").get(f"/api/v1/orgs/acme/export/?format={fmt}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    text = response.content.decode()
    assert marker in text
    assert "globex" not in text


def test_export_defaults_to_node_link_json(world: World) -> None:
    response = world.client("leader").get("/api/v1/orgs/acme/export/")

    assert response.status_code == 200
    assert "nodes" in json.loads(response.content)


def test_an_unknown_export_format_is_a_field_error(world: World) -> None:
    response = world.client("leader").get("/api/v1/orgs/acme/export/?format=pdf")

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["format"]


def test_the_openapi_schema_generates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = target.read_text()
    assert "/api/v1/orgs/{org_slug}/memberships/{id}/" in schema
    assert "/api/v1/orgs/{org_slug}/export/" in schema


def test_the_schema_and_docs_pages_are_served(world: World) -> None:
    client = world.client("member")

    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert docs.status_code == 200


def test_an_admin_sets_analysis_thresholds_and_the_analysis_follows_them(world: World) -> None:
    before = world.client("admin").get("/api/v1/orgs/acme/analysis/").json()
    assert not any(f["kind"] == "team_bottleneck" for f in before["findings"])

    response = world.client("admin").patch(
        "/api/v1/orgs/acme/",
        {"analysis_thresholds": {"team_bottleneck_min_dependents": 1}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["analysis_thresholds"] == {"team_bottleneck_min_dependents": 1}
    after = world.client("admin").get("/api/v1/orgs/acme/analysis/").json()
    assert any(f["kind"] == "team_bottleneck" for f in after["findings"])


def test_invalid_analysis_thresholds_are_a_400_naming_the_key_and_change_nothing(
    world: World,
) -> None:
    response = world.client("admin").patch(
        "/api/v1/orgs/acme/", {"analysis_thresholds": {"no_such_knob": 3}}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert "analysis_thresholds.no_such_knob" in body["message"]
    assert "analysis_thresholds" in body["extra"]["fields"]
    world.acme.org.refresh_from_db()
    assert world.acme.org.analysis_thresholds == {}


@pytest.mark.parametrize("kind", ["change_agent", "em", "leader", "member"])
def test_only_an_admin_may_change_the_organisation(world: World, kind: str) -> None:
    response = world.client(kind).patch("/api/v1/orgs/acme/", {"name": "Hijacked"}, format="json")

    assert response.status_code == 403
    world.acme.org.refresh_from_db()
    assert world.acme.org.name == "Acme"


def test_another_organisation_cannot_be_changed_even_by_an_admin_elsewhere(world: World) -> None:
    response = world.client("no_role").patch("/api/v1/orgs/acme/", {"name": "X"}, format="json")

    assert response.status_code == 404
