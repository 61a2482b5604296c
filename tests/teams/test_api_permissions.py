"""Who may read and change what: the role matrix inside an organisation, and 404 across them."""

from __future__ import annotations

from typing import Any

import pytest

from teams.models import Interaction, Membership, OrganizationRole, Person, Team
from tests.builders import World

pytestmark = pytest.mark.django_db

READERS = ["admin", "change_agent", "em", "other_em", "leader", "member"]


@pytest.fixture
def world(api_world: World) -> World:
    return api_world


def _url(world: World, resource: str, key: Any = None) -> str:
    base = f"/api/v1/orgs/acme/{resource}/"
    return base if key is None else f"{base}{key}/"


# (who, expected status) for a write to the topology of team "acme-payments", managed by "em".
TEAM_TOPOLOGY_WRITE = [
    ("admin", True),
    ("change_agent", True),
    ("em", True),
    ("other_em", False),
    ("leader", False),
    ("member", False),
]
# (who, allowed) for creating teams, people and units.
ORG_MANAGE_WRITE = [
    ("admin", True),
    ("change_agent", True),
    ("em", False),
    ("other_em", False),
    ("leader", False),
    ("member", False),
]


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize(
    "resource", ["units", "teams", "people", "memberships", "serves-links", "interactions", "roles"]
)
def test_every_role_holder_reads_every_list(world: World, kind: str, resource: str) -> None:
    response = world.client(kind).get(_url(world, resource))

    assert response.status_code == 200, response.content
    assert response.json()["count"] >= 1


@pytest.mark.parametrize("kind", READERS)
def test_every_role_holder_reads_a_team_and_its_organisation(world: World, kind: str) -> None:
    client = world.client(kind)

    team = client.get(_url(world, "teams", "acme-payments"))
    org = client.get("/api/v1/orgs/acme/")

    assert team.status_code == 200
    assert team.json()["slug"] == "acme-payments"
    assert org.status_code == 200
    assert org.json()["slug"] == "acme"


def test_the_organisation_list_holds_only_organisations_with_a_role(world: World) -> None:
    response = world.client("no_role").get("/api/v1/orgs/")

    assert response.status_code == 200
    assert [org["slug"] for org in response.json()["results"]] == ["globex"]
    assert response.json()["results"][0]["roles"] == ["admin"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orgs/acme/",
        "/api/v1/orgs/acme/teams/",
        "/api/v1/orgs/acme/teams/acme-payments/",
        "/api/v1/orgs/acme/people/",
        "/api/v1/orgs/acme/roles/",
        "/api/v1/orgs/acme/analysis/",
        "/api/v1/orgs/acme/export/",
    ],
)
def test_a_user_without_a_role_gets_404_not_403(world: World, path: str) -> None:
    response = world.client("no_role").get(path)

    assert response.status_code == 404
    assert set(response.json()) == {"message", "extra"}


@pytest.mark.parametrize(
    "path", ["/api/v1/orgs/", "/api/v1/orgs/acme/teams/", "/api/v1/orgs/acme/analysis/"]
)
def test_an_anonymous_caller_gets_401_with_a_token_challenge(world: World, path: str) -> None:
    response = world.client("anonymous").get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"message", "extra"}


def test_an_anonymous_caller_cannot_write(world: World) -> None:
    response = world.client("anonymous").patch(
        _url(world, "teams", "acme-payments"), {"name": "Hacked"}, format="json"
    )

    assert response.status_code == 401
    assert Team.objects.get(slug="acme-payments").name != "Hacked"


@pytest.mark.parametrize(("kind", "allowed"), TEAM_TOPOLOGY_WRITE)
def test_changing_a_team_needs_admin_change_agent_or_its_em(
    world: World, kind: str, allowed: bool
) -> None:
    response = world.client(kind).patch(
        _url(world, "teams", "acme-payments"), {"name": "Payments Squad"}, format="json"
    )

    assert response.status_code == (200 if allowed else 403), response.content
    assert (Team.objects.get(slug="acme-payments").name == "Payments Squad") is allowed
    if not allowed:
        assert "acme-payments" in response.json()["message"]
        assert response.json()["extra"] == {}


@pytest.mark.parametrize(("kind", "allowed"), TEAM_TOPOLOGY_WRITE)
def test_adding_a_member_needs_the_right_to_change_that_team(
    world: World, kind: str, allowed: bool
) -> None:
    response = world.client(kind).post(
        _url(world, "memberships"),
        {"person": world.acme.person.pk, "team": "acme-payments", "role": "lead"},
        format="json",
    )

    if allowed:
        # Alice already is a member: the only refusal left is the duplicate.
        assert response.status_code == 400
        assert "person" in response.json()["extra"]["fields"]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("kind", "allowed"), TEAM_TOPOLOGY_WRITE)
def test_membership_serves_and_interaction_writes_follow_the_team_rule(
    world: World, kind: str, allowed: bool
) -> None:
    client = world.client(kind)
    acme = world.acme
    expected = 200 if allowed else 403

    membership = client.patch(
        _url(world, "memberships", acme.membership.pk), {"allocation_percent": 50}, format="json"
    )
    serves = client.patch(
        _url(world, "serves-links", acme.serves_link.pk), {"note": "on call"}, format="json"
    )
    interaction = client.patch(
        _url(world, "interactions", acme.interaction.pk), {"severity": "slowing"}, format="json"
    )

    assert (membership.status_code, serves.status_code, interaction.status_code) == (
        expected,
        expected,
        expected,
    )
    acme.membership.refresh_from_db()
    assert (acme.membership.allocation_percent == 50) is allowed


@pytest.mark.parametrize(("kind", "allowed"), TEAM_TOPOLOGY_WRITE)
def test_deleting_a_membership_follows_the_team_rule(
    world: World, kind: str, allowed: bool
) -> None:
    response = world.client(kind).delete(_url(world, "memberships", world.acme.membership.pk))

    assert response.status_code == (204 if allowed else 403)
    assert Membership.objects.filter(pk=world.acme.membership.pk).exists() is not allowed


def test_an_em_cannot_move_a_membership_into_a_team_they_do_not_manage(world: World) -> None:
    response = world.client("em").patch(
        _url(world, "memberships", world.acme.membership.pk),
        {"team": "acme-search"},
        format="json",
    )

    assert response.status_code == 403
    assert "acme-search" in response.json()["message"]
    world.acme.membership.refresh_from_db()
    assert world.acme.membership.team.slug == "acme-payments"


def test_an_em_cannot_change_an_interaction_whose_source_is_another_team(world: World) -> None:
    # payments is the target here: the interaction belongs to search's topology.
    interaction = Interaction.objects.create(
        organization=world.acme.org,
        source=world.acme.other_team,
        target=world.acme.team,
        mode="x_as_a_service",
    )

    response = world.client("em").delete(_url(world, "interactions", interaction.pk))

    assert response.status_code == 403
    assert Interaction.objects.filter(pk=interaction.pk).exists()


def test_an_em_role_without_a_linked_person_manages_nothing(world: World) -> None:
    Person.objects.filter(user=world.users["em"]).update(user=None)

    response = world.client("em").patch(
        _url(world, "teams", "acme-payments"), {"name": "Mine"}, format="json"
    )

    assert response.status_code == 403


def test_the_manager_link_alone_does_not_grant_writes_without_the_em_role(world: World) -> None:
    OrganizationRole.objects.filter(user=world.users["em"]).update(role="member")

    response = world.client("em").patch(
        _url(world, "teams", "acme-payments"), {"name": "Mine"}, format="json"
    )

    assert response.status_code == 403


@pytest.mark.parametrize(("kind", "allowed"), ORG_MANAGE_WRITE)
def test_creating_teams_people_and_units_needs_admin_or_change_agent(
    world: World, kind: str, allowed: bool
) -> None:
    client = world.client(kind)

    team = client.post(
        _url(world, "teams"), {"slug": "new", "name": "New", "type": "platform"}, format="json"
    )
    person = client.post(
        _url(world, "people"), {"email": "new@acme.test", "name": "New"}, format="json"
    )
    unit = client.post(_url(world, "units"), {"slug": "ops", "name": "Ops"}, format="json")

    expected = 201 if allowed else 403
    assert (team.status_code, person.status_code, unit.status_code) == (
        expected,
        expected,
        expected,
    )


@pytest.mark.parametrize(("kind", "allowed"), ORG_MANAGE_WRITE)
def test_deleting_a_team_needs_admin_or_change_agent(
    world: World, kind: str, allowed: bool
) -> None:
    response = world.client(kind).delete(_url(world, "teams", "acme-payments"))

    # The team has members and recorded changes, so an allowed delete retires it (200).
    assert response.status_code == (200 if allowed else 403)
    assert Team.objects.filter(slug="acme-payments").exists() is not allowed
    assert Team.all_objects.filter(slug="acme-payments").exists()


@pytest.mark.parametrize(
    ("kind", "allowed"), [(kind, kind == "admin") for kind in READERS], ids=READERS
)
def test_only_admins_grant_and_revoke_roles(world: World, kind: str, allowed: bool) -> None:
    client = world.client(kind)
    leader_grant = OrganizationRole.objects.get(user=world.users["leader"])

    # "member" holds a role in acme already: anyone else is invited (tests/teams/test_invitations_api.py).
    grant = client.post(_url(world, "roles"), {"user": "member", "role": "leader"}, format="json")
    revoke = client.delete(_url(world, "roles", leader_grant.pk))

    assert grant.status_code == (201 if allowed else 403)
    assert revoke.status_code == (204 if allowed else 403)
    assert OrganizationRole.objects.filter(pk=leader_grant.pk).exists() is not allowed


def test_a_granted_role_opens_the_organisation_to_that_user(world: World) -> None:
    # Only an instance administrator names a login without a role in the organisation.
    world.users["admin"].is_superuser = True
    world.users["admin"].save()
    world.client("admin").post(
        _url(world, "roles"), {"user": "no_role", "role": "leader"}, format="json"
    )

    response = world.client("no_role").get(_url(world, "teams"))

    assert response.status_code == 200


def test_the_last_admin_role_cannot_be_revoked(world: World) -> None:
    grant = OrganizationRole.objects.get(user=world.users["admin"], organization=world.acme.org)

    response = world.client("admin").delete(_url(world, "roles", grant.pk))

    assert response.status_code == 400
    assert "last admin" in response.json()["message"]
    assert OrganizationRole.objects.filter(pk=grant.pk).exists()


def _other_org_detail_urls(world: World) -> list[str]:
    g = world.globex
    return [
        f"/api/v1/orgs/acme/units/{g.unit.slug}/",
        f"/api/v1/orgs/acme/teams/{g.team.slug}/",
        f"/api/v1/orgs/acme/people/{g.person.pk}/",
        f"/api/v1/orgs/acme/memberships/{g.membership.pk}/",
        f"/api/v1/orgs/acme/serves-links/{g.serves_link.pk}/",
        f"/api/v1/orgs/acme/interactions/{g.interaction.pk}/",
        f"/api/v1/orgs/acme/roles/{OrganizationRole.objects.get(organization=g.org).pk}/",
    ]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organisations_ids_are_404_under_ones_own_organisation(
    world: World, method: str
) -> None:
    client = world.client("admin")

    for url in _other_org_detail_urls(world):
        if method == "patch" and "/roles/" in url:
            continue  # role grants are granted and revoked, never changed
        response = getattr(client, method)(url, {"name": "x"} if method == "patch" else None)
        assert response.status_code == 404, (url, response.content)
        assert set(response.json()) == {"message", "extra"}
    assert Team.objects.filter(organization=world.globex.org).count() == 3
    assert OrganizationRole.objects.filter(organization=world.globex.org).count() == 1


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_another_organisations_urls_are_404_for_an_admin_of_this_one(
    world: World, method: str
) -> None:
    client = world.client("admin")
    g = world.globex
    urls = [
        "/api/v1/orgs/globex/",
        "/api/v1/orgs/globex/units/",
        "/api/v1/orgs/globex/teams/",
        "/api/v1/orgs/globex/people/",
        "/api/v1/orgs/globex/memberships/",
        "/api/v1/orgs/globex/serves-links/",
        "/api/v1/orgs/globex/interactions/",
        "/api/v1/orgs/globex/roles/",
        "/api/v1/orgs/globex/analysis/",
        "/api/v1/orgs/globex/export/",
        f"/api/v1/orgs/globex/teams/{g.team.slug}/",
        f"/api/v1/orgs/globex/people/{g.person.pk}/",
        f"/api/v1/orgs/globex/memberships/{g.membership.pk}/",
        f"/api/v1/orgs/globex/interactions/{g.interaction.pk}/",
    ]

    for url in urls:
        response = getattr(client, method)(url, {}, format="json")
        # 405 would reveal nothing either, but the organisation check comes first everywhere.
        assert response.status_code in (404, 405), (url, response.status_code)
        if method == "get":
            assert response.status_code == 404, url
    assert Team.objects.filter(organization=g.org).count() == 3


@pytest.mark.parametrize(
    ("resource", "payload", "field"),
    [
        ("memberships", {"person": "globex-person", "team": "acme-search"}, "person"),
        ("memberships", {"person": "acme-person", "team": "globex-payments"}, "team"),
        ("serves-links", {"person": "globex-person", "team": "acme-search"}, "person"),
        (
            "interactions",
            {"source": "acme-search", "target": "globex-dba", "mode": "x_as_a_service"},
            "target",
        ),
        ("teams", {"slug": "t", "name": "T", "type": "platform", "unit": "globex-eng"}, "unit"),
        (
            "teams",
            {"slug": "t", "name": "T", "type": "platform", "manager": "globex-person"},
            "manager",
        ),
    ],
)
def test_another_organisations_rows_named_in_a_payload_are_field_errors(
    world: World, resource: str, payload: dict[str, Any], field: str
) -> None:
    ids = {"globex-person": world.globex.person.pk, "acme-person": world.acme.person.pk}
    body = {key: ids.get(value, value) for key, value in payload.items()}

    response = world.client("admin").post(_url(world, resource), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == [field]
    # The same answer as for a row that does not exist anywhere: nothing leaks.
    assert "does not exist" in response.json()["extra"]["fields"][field][0]


def test_another_organisations_person_id_reads_exactly_like_an_unknown_id(world: World) -> None:
    client = world.client("admin")
    unknown_id = Person.objects.order_by("-pk").first().pk + 1000  # type: ignore[union-attr]

    foreign = client.post(
        _url(world, "memberships"),
        {"person": world.globex.person.pk, "team": "acme-search"},
        format="json",
    )
    unknown = client.post(
        _url(world, "memberships"), {"person": unknown_id, "team": "acme-search"}, format="json"
    )

    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json()["extra"]["fields"]["person"][0].replace(
        str(world.globex.person.pk), "ID"
    ) == unknown.json()["extra"]["fields"]["person"][0].replace(str(unknown_id), "ID")
