"""Bad payloads are 400s with field errors in the project's error shape, never 500s."""

from __future__ import annotations

from typing import Any

import pytest

from teams.models import Interaction, Person, Team
from tests.builders import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(api_world: World) -> World:
    return api_world


def _fields(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"message", "extra"}
    return body["extra"]["fields"]


def test_an_unknown_team_type_is_a_field_error(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/teams/", {"slug": "x", "name": "X", "type": "squad"}, format="json"
    )

    assert "squad" in _fields(response)["type"][0]


def test_a_duplicate_team_slug_is_a_field_error_on_slug(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/teams/",
        {"slug": "acme-payments", "name": "Again", "type": "platform"},
        format="json",
    )

    assert _fields(response) == {
        "slug": ["A team with this slug already exists in the organisation."]
    }


def test_the_same_slug_is_free_in_another_organisation(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/teams/",
        {"slug": "globex-payments", "name": "Mirror", "type": "platform"},
        format="json",
    )

    assert response.status_code == 201


def test_renaming_a_team_onto_another_slug_is_a_field_error(world: World) -> None:
    response = world.client("admin").patch(
        "/api/v1/orgs/acme/teams/acme-payments/", {"slug": "acme-search"}, format="json"
    )

    assert list(_fields(response)) == ["slug"]
    assert Team.objects.filter(slug="acme-payments").exists()


def test_a_specialty_on_a_team_that_is_not_an_ops_silo_is_a_field_error(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/teams/",
        {"slug": "x", "name": "X", "type": "platform", "specialty": "database"},
        format="json",
    )

    assert _fields(response) == {"specialty": ["Only ops_silo teams have a specialty."]}


def test_retyping_a_silo_without_clearing_its_specialty_is_a_field_error(world: World) -> None:
    response = world.client("admin").patch(
        "/api/v1/orgs/acme/teams/acme-dba/", {"type": "platform"}, format="json"
    )

    assert list(_fields(response)) == ["specialty"]


def test_emails_are_stored_lower_case_and_duplicates_differ_only_in_case(world: World) -> None:
    client = world.client("admin")

    created = client.post(
        "/api/v1/orgs/acme/people/", {"email": "Bob@ACME.test", "name": "Bob"}, format="json"
    )
    duplicate = client.post(
        "/api/v1/orgs/acme/people/", {"email": "ALICE@acme.TEST", "name": "Al"}, format="json"
    )

    assert created.status_code == 201
    assert created.json()["email"] == "bob@acme.test"
    assert _fields(duplicate) == {
        "email": ["A person with this e-mail already exists in the organisation."]
    }
    assert Person.objects.filter(email__iexact="alice@acme.test", name="Al").count() == 0


def test_a_malformed_email_is_a_field_error(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/people/", {"email": "not-an-email", "name": "X"}, format="json"
    )

    assert list(_fields(response)) == ["email"]


def test_an_interaction_of_a_team_with_itself_is_a_field_error(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/interactions/",
        {"source": "acme-search", "target": "acme-search", "mode": "collaboration"},
        format="json",
    )

    assert _fields(response) == {"target": ["An interaction needs two different teams."]}


def test_a_severity_on_an_interaction_that_is_not_a_dependency_is_a_field_error(
    world: World,
) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/interactions/",
        {
            "source": "acme-search",
            "target": "acme-dba",
            "mode": "collaboration",
            "severity": "blocking",
        },
        format="json",
    )

    assert _fields(response) == {"severity": ["Only ticket dependencies have a severity."]}


def test_an_expected_end_before_the_start_is_a_field_error(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/interactions/",
        {
            "source": "acme-search",
            "target": "acme-dba",
            "mode": "collaboration",
            "since": "2025-05-01",
            "expected_end": "2025-01-01",
        },
        format="json",
    )

    assert list(_fields(response)) == ["expected_end"]


def test_a_duplicate_interaction_is_a_field_error(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/interactions/",
        {"source": "acme-payments", "target": "acme-dba", "mode": "ticket_dependency"},
        format="json",
    )

    assert list(_fields(response)) == ["mode"]
    assert Interaction.objects.filter(source__slug="acme-payments").count() == 1


@pytest.mark.parametrize("allocation", [0, 101, 1_000_000, -5])
def test_an_allocation_out_of_range_is_a_field_error(world: World, allocation: int) -> None:
    response = world.client("admin").patch(
        f"/api/v1/orgs/acme/memberships/{world.acme.membership.pk}/",
        {"allocation_percent": allocation},
        format="json",
    )

    assert list(_fields(response)) == ["allocation_percent"]
    world.acme.membership.refresh_from_db()
    assert world.acme.membership.allocation_percent == 100


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"person": "alice", "team": "acme-search"}, "person"),
        ({"person": [1], "team": "acme-search"}, "person"),
        ({"person": None, "team": "acme-search"}, "person"),
        ({"team": "acme-search"}, "person"),
        (
            {"person": "PERSON", "team": "acme-search", "allocation_percent": "lots"},
            "allocation_percent",
        ),
        ({"person": "PERSON", "team": "acme-search", "role": "boss"}, "role"),
        ({"person": "PERSON", "team": "no-such-team"}, "team"),
    ],
)
def test_wrong_types_and_unknown_values_in_a_membership_are_field_errors(
    world: World, payload: dict[str, Any], field: str
) -> None:
    body = {k: (world.acme.person.pk if v == "PERSON" else v) for k, v in payload.items()}

    response = world.client("admin").post("/api/v1/orgs/acme/memberships/", body, format="json")

    assert list(_fields(response)) == [field]


def test_a_date_that_is_not_a_date_is_a_field_error(world: World) -> None:
    response = world.client("admin").patch(
        f"/api/v1/orgs/acme/interactions/{world.acme.interaction.pk}/",
        {"since": "yesterday"},
        format="json",
    )

    assert list(_fields(response)) == ["since"]


def test_malformed_json_is_a_400_in_the_error_shape(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/teams/", data='{"slug": "x",', content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]
    assert response.json()["extra"] == {}


def test_a_json_list_instead_of_an_object_is_a_400(world: World) -> None:
    response = world.client("admin").post("/api/v1/orgs/acme/teams/", [1, 2], format="json")

    assert "non_field_errors" in _fields(response)


def test_a_missing_required_field_is_named(world: World) -> None:
    response = world.client("admin").post(
        "/api/v1/orgs/acme/teams/", {"slug": "x", "type": "platform"}, format="json"
    )

    assert _fields(response) == {"name": ["This field is required."]}


def test_a_unit_cannot_become_its_own_ancestor(world: World) -> None:
    client = world.client("admin")
    client.post(
        "/api/v1/orgs/acme/units/",
        {"slug": "child", "name": "Child", "parent": "acme-eng"},
        format="json",
    )

    response = client.patch("/api/v1/orgs/acme/units/acme-eng/", {"parent": "child"}, format="json")

    assert list(_fields(response)) == ["parent"]


def test_granting_a_role_twice_or_to_an_unknown_user_is_a_field_error(world: World) -> None:
    client = world.client("admin")

    twice = client.post(
        "/api/v1/orgs/acme/roles/", {"user": "leader", "role": "leader"}, format="json"
    )
    unknown = client.post(
        "/api/v1/orgs/acme/roles/", {"user": "nobody", "role": "leader"}, format="json"
    )
    bad_role = client.post(
        "/api/v1/orgs/acme/roles/", {"user": "no_role", "role": "king"}, format="json"
    )

    assert list(_fields(twice)) == ["role"]
    assert list(_fields(unknown)) == ["user"]
    assert list(_fields(bad_role)) == ["role"]


def test_a_valid_team_round_trips_through_create_and_read(world: World) -> None:
    client = world.client("change_agent")

    created = client.post(
        "/api/v1/orgs/acme/teams/",
        {
            "slug": "net",
            "name": "Networking",
            "type": "ops_silo",
            "specialty": "networking",
            "unit": "acme-eng",
            "manager": world.acme.person.pk,
        },
        format="json",
    )
    read = client.get("/api/v1/orgs/acme/teams/net/")

    assert created.status_code == 201
    assert read.json() | {"created_at": None, "updated_at": None} == {
        "slug": "net",
        "name": "Networking",
        "type": "ops_silo",
        "specialty": "networking",
        "description": "",
        "unit": "acme-eng",
        "manager": world.acme.person.pk,
        "created_at": None,
        "updated_at": None,
        "retired_at": None,
    }


@pytest.mark.parametrize(
    "query",
    [
        "person=99999999999999999999999",
        "person=-1.3617604162605593e%2B173",
        "person=1.5",
        "person=0",
    ],
)
def test_an_id_filter_out_of_range_or_not_whole_is_a_400(world: World, query: str) -> None:
    for url in ("/api/v1/orgs/acme/memberships/", "/api/v1/orgs/acme/serves-links/"):
        response = world.client("member").get(f"{url}?{query}")

        assert response.status_code == 400, (url, response.content)
        assert "person" in response.json()["extra"]["fields"]
