"""The People & access page, the New organisation page and the invitation page without a login
(issue 15): forms with CSRF, POST-redirect-GET with a message, 403 for members, 404 for other
tenants, a fixed number of queries."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from teams.invitations import invitation_create_for_email
from teams.models import Invitation, Organization, OrganizationRole, Person, Role
from tests.builders import World
from tests.factories import OrganizationRoleFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def _login(username: str, **extra: Any) -> User:
    """A login made by the factory, typed as the model it makes."""
    return cast(User, UserFactory(username=username, **extra))


ACCESS = "/o/acme/access/"
TOKEN_IN_MAIL = re.compile(r"/invitations/([A-Za-z0-9_-]+)/")
PASSWORD = "a long passphrase 42"


def _client(world: World, kind: str) -> Client:
    client = Client()
    client.force_login(world.users[kind])
    return client


def _text(response: Any) -> str:
    return str(response.content.decode())


def _token_from_mail() -> str:
    match = TOKEN_IN_MAIL.search(str(mail.outbox[-1].body))
    assert match is not None
    return match.group(1)


# --- People & access ------------------------------------------------------------------------------


def test_an_admin_sees_users_roles_pending_invitations_and_the_forms(api_world: World) -> None:
    invitation_create_for_email(
        organization=api_world.acme.org, email="pending@example.test", actor=None
    )

    response = _client(api_world, "admin").get(ACCESS)

    body = _text(response)
    assert response.status_code == 200
    assert "People &amp; access" in body
    assert 'data-user="em"' in body
    assert "pending@example.test" in body
    assert "Revoke invitation to pending@example.test" in body
    assert "Send invitation" in body
    assert "Give role" in body
    assert "csrfmiddlewaretoken" in body
    assert 'href="/o/acme/access/"' in body  # in the navigation


def test_a_change_agent_invites_but_sees_no_role_forms(api_world: World) -> None:
    body = _text(_client(api_world, "change_agent").get(ACCESS))

    assert "Send invitation" in body
    assert "Give role" not in body
    assert "Only admins invite admins." in body
    assert '<option value="admin"' not in body


@pytest.mark.parametrize("kind", ["em", "leader", "member"])
def test_other_roles_get_403_and_no_link(api_world: World, kind: str) -> None:
    client = _client(api_world, kind)

    page = client.get(ACCESS)
    invite = client.post(f"{ACCESS}invitations/", {"email": "x@example.test", "role": "member"})
    graph = _text(client.get("/o/acme/graph/"))

    assert page.status_code == 403
    assert invite.status_code == 403
    assert 'href="/o/acme/access/"' not in graph
    assert not Invitation.objects.exists()


def test_another_tenant_gets_404(api_world: World) -> None:
    assert _client(api_world, "no_role").get(ACCESS).status_code == 404


def test_inviting_sends_the_mail_and_redirects_with_a_message(api_world: World) -> None:
    client = _client(api_world, "admin")

    response = client.post(
        f"{ACCESS}invitations/",
        {"email": "New@Example.test", "role": "leader", "name": "New One"},
        follow=True,
    )

    body = _text(response)
    assert response.redirect_chain == [(ACCESS, 302)]
    assert "Invitation sent to new@example.test" in body
    assert mail.outbox[-1].to == ["new@example.test"]
    invitation = Invitation.objects.get()
    assert invitation.role == Role.LEADER
    assert invitation.created_by == api_world.users["admin"]


def test_a_bad_invitation_re_shows_the_form_with_the_error(api_world: World) -> None:
    client = _client(api_world, "change_agent")

    bad_email = client.post(f"{ACCESS}invitations/", {"email": "nope", "role": "member"})
    as_admin = client.post(f"{ACCESS}invitations/", {"email": "x@example.test", "role": "admin"})

    assert bad_email.status_code == 400
    assert "valid email" in _text(bad_email)
    assert as_admin.status_code == 403
    assert "Only admins" in _text(as_admin)
    assert 'value="x@example.test"' in _text(as_admin)
    assert not Invitation.objects.exists()


def test_revoking_an_invitation(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="gone@example.test", actor=None
    )
    client = _client(api_world, "admin")

    response = client.post(f"{ACCESS}invitations/{sent.invitation.pk}/revoke/", follow=True)
    again = client.post(f"{ACCESS}invitations/{sent.invitation.pk}/revoke/")

    assert "was revoked" in _text(response)
    assert "Revoke invitation to gone@example.test" not in _text(response)
    assert again.status_code == 409
    sent.invitation.refresh_from_db()
    assert sent.invitation.revoked_at is not None


def test_an_admin_gives_and_takes_roles(api_world: World) -> None:
    client = _client(api_world, "admin")
    member = api_world.users["member"]

    given = client.post(f"{ACCESS}roles/", {"username": "member", "role": "leader"}, follow=True)
    grant = OrganizationRole.objects.get(user=member, role=Role.LEADER)
    taken = client.post(f"{ACCESS}roles/{grant.pk}/revoke/", follow=True)

    assert "member is now leader as well" in _text(given)
    assert "member is no longer leader" in _text(taken)
    assert set(OrganizationRole.objects.filter(user=member).values_list("role", flat=True)) == {
        Role.MEMBER
    }


def test_the_last_admin_role_stays_and_a_login_elsewhere_gets_no_role(api_world: World) -> None:
    client = _client(api_world, "admin")
    admin_grant = OrganizationRole.objects.get(
        user=api_world.users["admin"], organization=api_world.acme.org
    )

    last = client.post(f"{ACCESS}roles/{admin_grant.pk}/revoke/")
    elsewhere = client.post(f"{ACCESS}roles/", {"username": "no_role", "role": "leader"})

    assert last.status_code == 400
    assert "last admin" in _text(last)
    assert elsewhere.status_code == 400
    assert "Invite them" in _text(elsewhere)
    assert OrganizationRole.objects.filter(pk=admin_grant.pk).exists()


def test_a_change_agent_cannot_give_roles(api_world: World) -> None:
    response = _client(api_world, "change_agent").post(
        f"{ACCESS}roles/", {"username": "member", "role": "admin"}
    )

    assert response.status_code == 403
    assert not OrganizationRole.objects.filter(
        user=api_world.users["member"], role=Role.ADMIN
    ).exists()


def test_the_page_reads_a_fixed_number_of_queries(api_world: World) -> None:
    client = _client(api_world, "admin")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ACCESS).status_code == 200
        return len(queries)

    few = count()
    for index in range(25):
        user: Any = _login(f"many-{index}")
        OrganizationRoleFactory(organization=api_world.acme.org, user=user, role=Role.MEMBER)
        PersonFactory(organization=api_world.acme.org, user=user)
        invitation_create_for_email(
            organization=api_world.acme.org, email=f"many-{index}@example.test", actor=None
        )

    assert count() == few
    assert few <= 12


# --- New organisation -----------------------------------------------------------------------------


def test_an_instance_administrator_creates_an_organisation_from_the_web(api_world: World) -> None:
    root: Any = _login("root", is_superuser=True)
    client = Client()
    client.force_login(root)

    home = _text(client.get("/"))
    form = client.get("/orgs/new/")
    created = client.post(
        "/orgs/new/", {"slug": "initech", "name": "Initech", "time_zone": "Asia/Tokyo"}
    )

    assert 'href="/orgs/new/"' in home
    assert form.status_code == 200
    assert created.status_code == 302
    assert created["Location"] == "/o/initech/"
    organization = Organization.objects.get(slug="initech")
    assert organization.time_zone == "Asia/Tokyo"
    assert OrganizationRole.objects.get(organization=organization).user == root
    assert client.get("/o/initech/access/").status_code == 200


def test_a_taken_slug_is_shown_on_the_form(api_world: World) -> None:
    client = Client()
    client.force_login(_login("root", is_superuser=True))

    response = client.post("/orgs/new/", {"slug": "acme", "name": "Acme again", "time_zone": "UTC"})

    assert response.status_code == 400
    assert "already exists" in _text(response)
    assert Organization.objects.filter(slug="acme").count() == 1


def test_others_cannot_create_organisations(api_world: World) -> None:
    client = _client(api_world, "admin")

    assert client.get("/orgs/new/").status_code == 403
    assert client.post("/orgs/new/", {"slug": "x", "name": "X"}).status_code == 403
    assert 'href="/orgs/new/"' not in _text(client.get("/o/acme/access/"))
    assert not Organization.objects.filter(slug="x").exists()


# --- the invitation page --------------------------------------------------------------------------


def test_an_anonymous_visitor_creates_a_login_and_lands_in_the_organisation(
    api_world: World,
) -> None:
    person = api_world.acme.person
    _client(api_world, "admin").post(
        f"{ACCESS}invitations/", {"email": person.email, "role": "engineering_manager"}
    )
    token = _token_from_mail()
    client = Client()

    page = client.get(f"/invitations/{token}/")
    created = client.post(
        f"/invitations/{token}/",
        {"username": "newcomer", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert page.status_code == 200
    assert person.name in _text(page)
    assert "engineering manager" in _text(page)
    assert f'value="{person.email}"' in _text(page)
    assert created.status_code == 302
    assert created["Location"] == "/o/acme/"
    user = User.objects.get(username="newcomer")
    assert user.email == person.email
    person.refresh_from_db()
    assert person.user == user
    assert OrganizationRole.objects.get(organization=api_world.acme.org, user=user).role == (
        Role.ENGINEERING_MANAGER
    )
    assert client.get("/o/acme/my-team/").status_code == 200  # signed in, with the role


def test_the_e_mail_cannot_be_changed_on_the_page(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="fixed@example.test", actor=None
    )

    Client().post(
        f"/invitations/{sent.token}/",
        {
            "username": "fixed",
            "email": "other@evil.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert User.objects.get(username="fixed").email == "fixed@example.test"


@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        (PASSWORD, PASSWORD + "x", "match"),
        ("password", "password", "too common"),
    ],
)
def test_a_weak_or_mistyped_password_creates_nothing(
    api_world: World, password1: str, password2: str, message: str
) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="weak@example.test", actor=None
    )

    response = Client().post(
        f"/invitations/{sent.token}/",
        {"username": "weak", "password1": password1, "password2": password2},
    )

    assert response.status_code == 400
    assert message in _text(response)
    assert not User.objects.filter(username="weak").exists()
    sent.invitation.refresh_from_db()
    assert sent.invitation.accepted_at is None


def test_a_taken_username_is_refused_on_the_page(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="dup@example.test", actor=None
    )

    response = Client().post(
        f"/invitations/{sent.token}/",
        {"username": "Member", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 400
    assert "already exists" in _text(response)


def test_a_logged_in_user_accepts_with_the_button(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="n@example.test", role=Role.LEADER, actor=None
    )
    client = _client(api_world, "no_role")

    page = _text(client.get(f"/invitations/{sent.token}/"))
    accepted = client.post(f"/invitations/{sent.token}/", {"confirm": "True"}, follow=True)

    assert "Accept the invitation" in page
    assert "Create my login" not in page
    assert "with the role leader" in _text(accepted)
    assert OrganizationRole.objects.filter(
        organization=api_world.acme.org, user=api_world.users["no_role"], role=Role.LEADER
    ).exists()
    assert not Person.objects.filter(user=api_world.users["no_role"]).exists()


def test_a_revoked_link_is_gone(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="r@example.test", actor=None
    )
    _client(api_world, "admin").post(f"{ACCESS}invitations/{sent.invitation.pk}/revoke/")

    page = Client().get(f"/invitations/{sent.token}/")
    post = Client().post(
        f"/invitations/{sent.token}/",
        {"username": "r", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert page.status_code == 410
    assert "withdrawn" in _text(page)
    assert "Create my login" not in _text(page)
    assert post.status_code == 410
    assert not User.objects.filter(username="r").exists()


@override_settings(TRANSFORM_PASSWORD_LOGIN=False)
def test_without_password_logins_the_page_only_offers_signing_in(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="sso@example.test", actor=None
    )
    client = Client()

    page = client.get(f"/invitations/{sent.token}/")
    post = client.post(
        f"/invitations/{sent.token}/",
        {"username": "sso", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert page.status_code == 200
    assert "Sign in to accept" in _text(page)
    assert "Create my login" not in _text(page)
    assert post.status_code == 302
    assert post["Location"].startswith("/accounts/login/?next=")
    assert not User.objects.filter(username="sso").exists()


def test_an_unknown_time_zone_is_a_form_error_and_nothing_is_created(api_world: World) -> None:
    client = Client()
    client.force_login(_login("root", is_superuser=True))

    response = client.post(
        "/orgs/new/", {"slug": "initech", "name": "Initech", "time_zone": "Mars/Olympus"}
    )

    assert response.status_code == 400
    assert "Mars/Olympus is not one of the available choices" in _text(response)
    assert not Organization.objects.filter(slug="initech").exists()
