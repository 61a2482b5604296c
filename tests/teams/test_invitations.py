"""Users are invited, not linked (issue 11, item 5): a person is linked to a login only through
an invitation its owner accepts, or by an instance administrator; usernames cannot be probed;
``me/checkins`` shows only check-ins of organisations where the caller holds a role."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from teams.invitations import LINK_THROUGH_INVITATION, invitation_create
from teams.models import Invitation, OrganizationRole, Person, Role
from tests.factories import CheckInFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_IN_MAIL = re.compile(r"/invitations/([A-Za-z0-9_-]+)/")


def _token_from_mail() -> str:
    match = TOKEN_IN_MAIL.search(str(mail.outbox[-1].body))
    assert match is not None
    return match.group(1)


def _invite(world: Any, person: Any, kind: str = "change_agent") -> Any:
    return world.client(kind).post(
        f"/api/v1/orgs/{person.organization.slug}/people/{person.pk}/invite/", format="json"
    )


# --- the attack of the issue ----------------------------------------------------------------------


def test_a_change_agent_cannot_link_another_organisations_admin_to_a_person(
    api_world: Any,
) -> None:
    bravo_admin = api_world.users["no_role"]  # admin of globex, no role in acme

    response = api_world.client("change_agent").post(
        "/api/v1/orgs/acme/people/",
        {"email": "mole@acme.test", "name": "Mole", "user": bravo_admin.username},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["user"] == [LINK_THROUGH_INVITATION]
    assert not Person.objects.filter(user=bravo_admin, organization=api_world.acme.org).exists()


def test_unknown_and_existing_usernames_give_byte_identical_answers(api_world: Any) -> None:
    client = api_world.client("change_agent")

    def attempt(username: str) -> tuple[int, bytes]:
        response = client.post(
            "/api/v1/orgs/acme/people/",
            {"email": "probe@acme.test", "name": "Probe", "user": username},
            format="json",
        )
        return response.status_code, response.content

    assert attempt("no_role") == attempt("no-such-user-anywhere")


def test_changing_a_person_to_link_a_login_is_refused_too(api_world: Any) -> None:
    person = api_world.acme.person

    response = api_world.client("admin").patch(
        f"/api/v1/orgs/acme/people/{person.pk}/", {"user": "member"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["message"] == LINK_THROUGH_INVITATION
    person.refresh_from_db()
    assert person.user_id is None


def test_an_instance_administrator_may_link_a_login_directly(api_world: Any) -> None:
    admin = api_world.users["admin"]
    admin.is_superuser = True
    admin.save()
    person = api_world.acme.person

    linked = api_world.client("admin").patch(
        f"/api/v1/orgs/acme/people/{person.pk}/", {"user": "member"}, format="json"
    )
    unknown = api_world.client("admin").patch(
        f"/api/v1/orgs/acme/people/{person.pk}/", {"user": "nobody"}, format="json"
    )

    assert linked.status_code == 200, linked.content
    assert linked.json()["user"] == "member"
    assert unknown.status_code == 400
    assert "user" in unknown.json()["extra"]["fields"]


def test_a_manager_may_unlink_a_login(api_world: Any) -> None:
    person: Any = PersonFactory(
        organization=api_world.acme.org, user=UserFactory(username="linked")
    )

    response = api_world.client("change_agent").patch(
        f"/api/v1/orgs/acme/people/{person.pk}/", {"user": None}, format="json"
    )

    assert response.status_code == 200
    person.refresh_from_db()
    assert person.user_id is None


# --- inviting -------------------------------------------------------------------------------------


def test_an_invitation_is_e_mailed_and_its_token_is_only_in_the_mail(api_world: Any) -> None:
    person = api_world.acme.person

    response = _invite(api_world, person)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["person"] == person.pk
    assert body["email"] == person.email
    assert body["accepted_at"] is None
    assert body["created_by"] == "change_agent"
    token = _token_from_mail()
    assert mail.outbox[-1].to == [person.email]
    assert token not in response.content.decode()
    invitation = Invitation.objects.get(pk=body["id"])
    assert token not in invitation.token_hash  # only a hash is stored


@pytest.mark.parametrize("kind", ["em", "leader", "member"])
def test_only_admins_and_change_agents_invite(api_world: Any, kind: str) -> None:
    response = _invite(api_world, api_world.acme.person, kind)

    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_another_organisations_person_cannot_be_invited(api_world: Any) -> None:
    response = api_world.client("change_agent").post(
        f"/api/v1/orgs/acme/people/{api_world.globex.person.pk}/invite/", format="json"
    )

    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_a_person_already_linked_is_not_invited(api_world: Any) -> None:
    em_person = Person.objects.get(organization=api_world.acme.org, user=api_world.users["em"])

    response = _invite(api_world, em_person)

    assert response.status_code == 409


# --- accepting ------------------------------------------------------------------------------------


def test_an_invitation_is_accepted_once_and_links_the_login(api_world: Any) -> None:
    person = api_world.acme.person
    _invite(api_world, person)
    token = _token_from_mail()
    invitee: Any = UserFactory(username="alice")
    client = api_world.client("anonymous")
    client.force_login(invitee)

    first = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    second = client.post("/api/v1/invitations/accept/", {"token": token}, format="json")

    assert first.status_code == 200, first.content
    assert first.json()["person"]["user"] == "alice"
    assert first.json()["role"] == "member"
    person.refresh_from_db()
    assert person.user == invitee
    assert OrganizationRole.objects.get(organization=person.organization, user=invitee).role == (
        Role.MEMBER
    )
    assert second.status_code == 410
    assert "once" in second.json()["message"]


def test_an_expired_invitation_is_refused(api_world: Any) -> None:
    person = api_world.acme.person
    sent = invitation_create(person=person, actor=None, at=timezone.now() - dt.timedelta(days=8))
    client = api_world.client("no_role")

    response = client.post("/api/v1/invitations/accept/", {"token": sent.token}, format="json")

    assert response.status_code == 410
    assert "expired" in response.json()["message"]
    person.refresh_from_db()
    assert person.user_id is None


@pytest.mark.parametrize("token", ["wrong", "x" * 43, "x" * 5000, "¹"])
def test_a_wrong_token_is_refused_like_any_other(api_world: Any, token: str) -> None:
    _invite(api_world, api_world.acme.person)

    response = api_world.client("no_role").post(
        "/api/v1/invitations/accept/", {"token": token}, format="json"
    )

    assert response.status_code in (400, 404)
    api_world.acme.person.refresh_from_db()
    assert api_world.acme.person.user_id is None


def test_a_new_invitation_ends_the_open_one(api_world: Any) -> None:
    person = api_world.acme.person
    _invite(api_world, person)
    old_token = _token_from_mail()
    _invite(api_world, person)

    response = api_world.client("no_role").post(
        "/api/v1/invitations/accept/", {"token": old_token}, format="json"
    )

    assert response.status_code == 410


def test_accepting_needs_a_login(api_world: Any) -> None:
    _invite(api_world, api_world.acme.person)

    response = api_world.client("anonymous").post(
        "/api/v1/invitations/accept/", {"token": _token_from_mail()}, format="json"
    )

    assert response.status_code in (401, 403)


def test_the_invitation_page_shows_what_accepting_means_and_accepts(api_world: Any) -> None:
    person = api_world.acme.person
    _invite(api_world, person)
    token = _token_from_mail()
    invitee: Any = UserFactory(username="alice-web")
    client = api_world.client("anonymous")

    anonymous = client.get(f"/invitations/{token}/")  # sign in, or create a login there
    assert anonymous.status_code == 200
    assert f"/accounts/login/?next=%2Finvitations%2F{token}%2F" in anonymous.content.decode()
    client.force_login(invitee)
    page = client.get(f"/invitations/{token}/")
    accepted = client.post(f"/invitations/{token}/", {"confirm": "True"})

    assert page.status_code == 200
    assert person.name in page.content.decode()
    assert accepted.status_code == 302
    person.refresh_from_db()
    assert person.user == invitee
    assert client.get(f"/invitations/{token}/").status_code == 410
    assert client.get("/invitations/not-a-token/").status_code == 404


# --- me/checkins ----------------------------------------------------------------------------------


def test_me_checkins_hides_check_ins_of_organisations_without_a_role(api_world: Any) -> None:
    bravo_admin = api_world.users["no_role"]  # admin of globex only
    # A link made before invitations existed: a person of acme linked to globex's admin.
    acme_person = PersonFactory(organization=api_world.acme.org, user=bravo_admin)
    globex_person = PersonFactory(organization=api_world.globex.org, user=bravo_admin)
    hidden: Any = CheckInFactory(organization=api_world.acme.org, recipient=acme_person)
    shown: Any = CheckInFactory(organization=api_world.globex.org, recipient=globex_person)
    client = api_world.client("no_role")

    listed = client.get("/api/v1/me/checkins/")
    answer = client.post(f"/api/v1/checkins/{hidden.pk}/response/", {}, format="json")

    ids = [row["id"] for row in listed.json()["results"]]
    assert listed.status_code == 200
    assert ids == [shown.pk]
    assert hidden.pk not in ids
    assert answer.status_code == 404
