"""People and access through the API (issue 15): invitations by e-mail with a role, the users of
an organisation, roles for logins of the organisation only, and organisations created by
instance administrators."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from teams.models import Invitation, Organization, OrganizationRole, Person, Role
from tests.builders import World
from tests.factories import OrganizationRoleFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def _login(username: str, **extra: Any) -> User:
    """A login made by the factory, typed as the model it makes."""
    return cast(User, UserFactory(username=username, **extra))


INVITATIONS = "/api/v1/orgs/acme/invitations/"
TOKEN_IN_MAIL = re.compile(r"/invitations/([A-Za-z0-9_-]+)/")


def _token_from_mail() -> str:
    match = TOKEN_IN_MAIL.search(str(mail.outbox[-1].body))
    assert match is not None
    return match.group(1)


def _invite(world: World, kind: str = "admin", **payload: Any) -> Any:
    body = {"email": "newbie@example.test", "role": "leader", **payload}
    return world.client(kind).post(INVITATIONS, body, format="json")


# --- invitations ----------------------------------------------------------------------------------


def test_an_admin_invites_an_address_with_a_role(api_world: World) -> None:
    response = _invite(api_world, name="Newbie")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "newbie@example.test"
    assert body["role"] == "leader"
    assert body["name"] == "Newbie"
    assert body["person"] is None
    assert body["status"] == "pending"
    assert body["created_by"] == "admin"
    assert mail.outbox[-1].to == ["newbie@example.test"]
    assert _token_from_mail() not in response.content.decode()


@pytest.mark.parametrize("kind", ["em", "leader", "member"])
def test_only_admins_and_change_agents_invite_or_list(api_world: World, kind: str) -> None:
    created = _invite(api_world, kind)
    listed = api_world.client(kind).get(INVITATIONS)

    assert created.status_code == 403
    assert listed.status_code == 403
    assert set(created.json()) == {"message", "extra"}
    assert not Invitation.objects.exists()


def test_a_change_agent_invites_but_not_as_admin(api_world: World) -> None:
    as_admin = _invite(api_world, "change_agent", role="admin")
    as_leader = _invite(api_world, "change_agent", role="leader")
    person_as_admin = api_world.client("change_agent").post(
        f"/api/v1/orgs/acme/people/{api_world.acme.person.pk}/invite/",
        {"role": "admin"},
        format="json",
    )

    assert as_admin.status_code == 403
    assert "admin" in as_admin.json()["message"]
    assert person_as_admin.status_code == 403
    assert as_leader.status_code == 201


def test_a_user_without_a_role_gets_404(api_world: World) -> None:
    assert _invite(api_world, "no_role").status_code == 404
    assert api_world.client("no_role").get("/api/v1/orgs/acme/users/").status_code == 404


def test_the_person_invite_takes_a_role_and_accepting_grants_it(api_world: World) -> None:
    person = api_world.acme.person
    invited = api_world.client("admin").post(
        f"/api/v1/orgs/acme/people/{person.pk}/invite/", {"role": "leader"}, format="json"
    )
    invitee: Any = _login("alice")
    client = api_world.client("anonymous")
    client.force_login(invitee)

    accepted = client.post(
        "/api/v1/invitations/accept/", {"token": _token_from_mail()}, format="json"
    )

    assert invited.status_code == 201, invited.content
    assert invited.json()["role"] == "leader"
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["organization"] == "acme"
    assert accepted.json()["role_granted"] is True
    assert accepted.json()["person"]["id"] == person.pk
    assert OrganizationRole.objects.filter(
        organization=api_world.acme.org, user=invitee, role=Role.LEADER
    ).exists()


def test_the_list_filters_by_status(api_world: World) -> None:
    _invite(api_world, email="one@example.test")
    _invite(api_world, email="two@example.test")
    revoked = Invitation.objects.get(email="two@example.test")
    client = api_world.client("admin")
    client.delete(f"{INVITATIONS}{revoked.pk}/")

    pending = client.get(f"{INVITATIONS}?status=pending").json()["results"]
    gone = client.get(f"{INVITATIONS}?status=revoked").json()["results"]
    wrong = client.get(f"{INVITATIONS}?status=lost")

    assert [row["email"] for row in pending] == ["one@example.test"]
    assert [row["email"] for row in gone] == ["two@example.test"]
    assert gone[0]["status"] == "revoked"
    assert wrong.status_code == 400
    assert list(wrong.json()["extra"]["fields"]) == ["status"]


def test_revoking_a_pending_invitation_keeps_it_listed(api_world: World) -> None:
    _invite(api_world)
    token = _token_from_mail()
    invitation = Invitation.objects.get()
    client = api_world.client("change_agent")

    revoked = client.delete(f"{INVITATIONS}{invitation.pk}/")
    again = client.delete(f"{INVITATIONS}{invitation.pk}/")
    accept_client = api_world.client("anonymous")
    accept_client.force_login(_login("late"))
    accepted = accept_client.post("/api/v1/invitations/accept/", {"token": token}, format="json")

    assert revoked.status_code == 204
    assert again.status_code == 409
    assert accepted.status_code == 410
    assert client.get(f"{INVITATIONS}{invitation.pk}/").json()["status"] == "revoked"


def test_another_organisations_invitation_is_404(api_world: World) -> None:
    api_world.client("no_role").post(
        "/api/v1/orgs/globex/invitations/", {"email": "x@globex.test"}, format="json"
    )
    theirs = Invitation.objects.get(organization=api_world.globex.org)

    response = api_world.client("admin").delete(f"{INVITATIONS}{theirs.pk}/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_invitation_list_reads_a_fixed_number_of_queries(api_world: World) -> None:
    client = api_world.client("admin")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(INVITATIONS)
        assert response.status_code == 200
        return len(queries)

    _invite(api_world, email="first@example.test")
    few = count()
    for index in range(15):
        _invite(api_world, email=f"many-{index}@example.test")
    PersonFactory(organization=api_world.acme.org, email="p@acme.test")
    _invite(api_world, email="p@acme.test")

    assert count() == few
    assert few <= 6


# --- users ----------------------------------------------------------------------------------------


def test_the_users_list_shows_logins_roles_and_people(api_world: World) -> None:
    response = api_world.client("change_agent").get("/api/v1/orgs/acme/users/")

    assert response.status_code == 200, response.content
    rows = {row["username"]: row for row in response.json()["results"]}
    assert set(rows) == {"admin", "change_agent", "em", "other_em", "leader", "member"}
    assert rows["em"]["roles"] == ["engineering_manager"]
    em_person = Person.objects.get(user=api_world.users["em"])
    assert rows["em"]["person"] == {"id": em_person.pk, "name": em_person.name}
    assert rows["member"]["person"] is None


@pytest.mark.parametrize("kind", ["em", "leader", "member"])
def test_only_admins_and_change_agents_read_the_users(api_world: World, kind: str) -> None:
    assert api_world.client(kind).get("/api/v1/orgs/acme/users/").status_code == 403


def test_the_users_list_reads_a_fixed_number_of_queries(api_world: World) -> None:
    client = api_world.client("admin")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/orgs/acme/users/")
        assert response.status_code == 200
        return len(queries)

    few = count()
    for index in range(20):
        user: Any = _login(f"many-{index}")
        OrganizationRoleFactory(organization=api_world.acme.org, user=user, role=Role.MEMBER)
        OrganizationRoleFactory(organization=api_world.acme.org, user=user, role=Role.LEADER)
        PersonFactory(organization=api_world.acme.org, user=user)

    assert count() == few
    # session, login, roles in acme, count, users, their roles, their people
    assert few <= 7


# --- roles ----------------------------------------------------------------------------------------


def test_a_role_for_a_login_without_one_points_to_invitations_without_probing(
    api_world: World,
) -> None:
    client = api_world.client("admin")

    def attempt(username: str) -> tuple[int, bytes]:
        response = client.post(
            "/api/v1/orgs/acme/roles/", {"user": username, "role": "leader"}, format="json"
        )
        return response.status_code, response.content

    unknown = attempt("newbie")
    existing = attempt("no_role")

    assert unknown[0] == 400
    assert b"/api/v1/orgs/acme/invitations/" in unknown[1]
    assert unknown == (existing[0], existing[1].replace(b"no_role", b"newbie"))
    assert not OrganizationRole.objects.filter(
        organization=api_world.acme.org, user=api_world.users["no_role"]
    ).exists()


def test_an_admin_gives_a_login_of_the_organisation_one_more_role(api_world: World) -> None:
    response = api_world.client("admin").post(
        "/api/v1/orgs/acme/roles/", {"user": "member", "role": "leader"}, format="json"
    )

    assert response.status_code == 201, response.content
    roles = OrganizationRole.objects.filter(
        organization=api_world.acme.org, user=api_world.users["member"]
    )
    assert {grant.role for grant in roles} == {Role.MEMBER, Role.LEADER}


# --- organisations --------------------------------------------------------------------------------


def test_an_instance_administrator_creates_an_organisation_and_administers_it(
    api_world: World,
) -> None:
    root: Any = _login("root", is_superuser=True)
    client = api_world.client("anonymous")
    client.force_login(root)

    response = client.post("/api/v1/orgs/", {"slug": "initech", "name": "Initech"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "initech"
    assert response.json()["roles"] == ["admin"]
    organization = Organization.objects.get(slug="initech")
    assert OrganizationRole.objects.get(organization=organization).user == root
    assert client.get("/api/v1/orgs/initech/").status_code == 200


@pytest.mark.parametrize("kind", ["admin", "member", "no_role"])
def test_others_cannot_create_organisations(api_world: World, kind: str) -> None:
    response = api_world.client(kind).post(
        "/api/v1/orgs/", {"slug": "initech", "name": "Initech"}, format="json"
    )

    assert response.status_code == 403
    assert "instance administrators" in response.json()["message"]
    assert not Organization.objects.filter(slug="initech").exists()


def test_an_organisation_is_created_in_its_own_time_zone(api_world: World) -> None:
    client = api_world.client("anonymous")
    client.force_login(_login("root", is_superuser=True))

    created = client.post(
        "/api/v1/orgs/",
        {"slug": "initech", "name": "Initech", "time_zone": "America/New_York"},
        format="json",
    )
    unknown = client.post(
        "/api/v1/orgs/",
        {"slug": "umbrella", "name": "Umbrella", "time_zone": "Mars/Olympus"},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert created.json()["time_zone"] == "America/New_York"
    assert unknown.status_code == 400
    assert list(unknown.json()["extra"]["fields"]) == ["time_zone"]
    assert not Organization.objects.filter(slug="umbrella").exists()


def test_a_taken_slug_is_refused_clearly(api_world: World) -> None:
    client = api_world.client("anonymous")
    client.force_login(_login("root", is_superuser=True))

    taken = client.post("/api/v1/orgs/", {"slug": "acme", "name": "Acme 2"}, format="json")
    bad = client.post("/api/v1/orgs/", {"slug": "not a slug", "name": "X"}, format="json")

    assert taken.status_code == 400
    assert list(taken.json()["extra"]["fields"]) == ["slug"]
    assert "already exists" in str(taken.json()["extra"]["fields"]["slug"])
    assert bad.status_code == 400
    assert Organization.objects.filter(slug="acme").count() == 1


def test_accepting_a_login_only_invitation_answers_without_a_person(api_world: World) -> None:
    _invite(api_world, email="solo@example.test", role="member")
    client = api_world.client("anonymous")
    client.force_login(_login("solo"))

    response = client.post(
        "/api/v1/invitations/accept/", {"token": _token_from_mail()}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "organization": "acme",
        "role": "member",
        "role_granted": True,
        "person": None,
    }
