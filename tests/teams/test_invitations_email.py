"""Invitations by e-mail with a role (issue 15), at the service level: who an invitation is for,
what accepting grants, and that a link works once, until it expires or is revoked or replaced.
Nobody is linked to a login but by accepting."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from core.errors import ApplicationError, ConflictError
from teams.invitations import (
    InvitationGone,
    InvitationNotSent,
    invitation_accept,
    invitation_accept_with_new_login,
    invitation_create,
    invitation_create_for_email,
    invitation_list,
    invitation_revoke,
    invitation_status,
)
from teams.models import Invitation, OrganizationRole, Person, Role
from tests.builders import World
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def _login(username: str, **extra: Any) -> User:
    """A login made by the factory, typed as the model it makes."""
    return cast(User, UserFactory(username=username, **extra))


def _roles(world: World, user: Any) -> set[str]:
    return set(
        OrganizationRole.objects.filter(organization=world.acme.org, user=user).values_list(
            "role", flat=True
        )
    )


def test_an_address_of_a_person_of_the_organisation_invites_that_person(
    api_world: World,
) -> None:
    person = api_world.acme.person

    sent = invitation_create_for_email(
        organization=api_world.acme.org,
        email=f"  {person.email.upper()} ",
        role=Role.LEADER,
        actor=api_world.users["admin"],
    )

    assert sent.invitation.person == person
    assert sent.invitation.email == person.email
    assert sent.invitation.role == Role.LEADER
    assert sent.invitation.name == person.name
    assert mail.outbox[-1].to == [person.email]
    assert sent.token in str(mail.outbox[-1].body)
    assert "leader" in str(mail.outbox[-1].body)


def test_an_unknown_address_is_invited_for_a_login_and_a_role_only(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org,
        email="New.Comer@Example.test",
        name="New Comer",
        actor=api_world.users["change_agent"],
    )

    assert sent.invitation.person is None
    assert sent.invitation.email == "new.comer@example.test"
    assert sent.invitation.role == Role.MEMBER
    assert "Hello New Comer" in str(mail.outbox[-1].body)
    assert sent.token not in sent.invitation.token_hash


def test_accepting_grants_the_role_and_links_the_person(api_world: World) -> None:
    person = api_world.acme.person
    sent = invitation_create(person=person, actor=None, role=Role.ENGINEERING_MANAGER)
    invitee: Any = _login("invitee")

    accepted = invitation_accept(token=sent.token, user=invitee)

    person.refresh_from_db()
    assert person.user == invitee
    assert accepted.person == person
    assert accepted.role_granted == Role.ENGINEERING_MANAGER
    assert _roles(api_world, invitee) == {Role.ENGINEERING_MANAGER}


def test_accepting_a_login_only_invitation_links_nobody(api_world: World) -> None:
    # A person with the address appears after the invitation was sent: still nobody is linked.
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="late@acme.test", role=Role.LEADER, actor=None
    )
    late: Any = PersonFactory(organization=api_world.acme.org, email="late@acme.test")
    invitee: Any = _login("late-login")

    accepted = invitation_accept(token=sent.token, user=invitee)

    late.refresh_from_db()
    assert accepted.person is None
    assert late.user_id is None
    assert _roles(api_world, invitee) == {Role.LEADER}


def test_accepting_never_takes_a_role_away(api_world: World) -> None:
    admin = api_world.users["admin"]
    as_member = invitation_create_for_email(
        organization=api_world.acme.org, email="a@acme.test", actor=None
    )
    as_leader = invitation_create_for_email(
        organization=api_world.acme.org, email="b@acme.test", role=Role.LEADER, actor=None
    )

    member = invitation_accept(token=as_member.token, user=admin)
    leader = invitation_accept(token=as_leader.token, user=admin)

    # member is what every role reads already: an admin is not made a member too.
    assert member.role_granted is None
    assert leader.role_granted == Role.LEADER
    assert _roles(api_world, admin) == {Role.ADMIN, Role.LEADER}


def test_a_link_works_once(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="once@acme.test", actor=None
    )
    invitation_accept(token=sent.token, user=_login("first"))

    with pytest.raises(InvitationGone, match="once"):
        invitation_accept(token=sent.token, user=_login("second"))


def test_an_expired_link_is_refused_and_grants_nothing(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org,
        email="slow@acme.test",
        actor=None,
        at=timezone.now() - dt.timedelta(days=8),
    )
    late: Any = _login("slow")

    with pytest.raises(InvitationGone, match="expired"):
        invitation_accept(token=sent.token, user=late)

    assert _roles(api_world, late) == set()
    assert invitation_status(sent.invitation, at=timezone.now()) == "expired"


def test_a_newer_invitation_to_the_same_address_replaces_the_older_one(api_world: World) -> None:
    old = invitation_create_for_email(
        organization=api_world.acme.org, email="twice@acme.test", role=Role.ADMIN, actor=None
    )
    new = invitation_create_for_email(
        organization=api_world.acme.org, email="TWICE@acme.test", role=Role.MEMBER, actor=None
    )

    with pytest.raises(InvitationGone):
        invitation_accept(token=old.token, user=_login("twice"))
    pending = list(invitation_list(organization=api_world.acme.org, status="pending"))

    assert pending == [new.invitation]


def test_a_revoked_invitation_stops_working_and_keeps_its_history(api_world: World) -> None:
    admin = api_world.users["admin"]
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="gone@acme.test", actor=admin
    )

    revoked = invitation_revoke(invitation=sent.invitation, actor=admin)

    with pytest.raises(InvitationGone, match="withdrawn"):
        invitation_accept(token=sent.token, user=_login("gone"))
    with pytest.raises(ConflictError, match="revoked"):
        invitation_revoke(invitation=sent.invitation, actor=admin)
    assert revoked.revoked_at is not None
    latest = revoked.history.latest()
    assert latest.revoked_at is not None
    assert latest.history_user == admin
    assert Invitation.objects.filter(pk=sent.invitation.pk).exists()


def test_accepting_with_a_new_login_creates_it_in_the_same_step(api_world: World) -> None:
    person = api_world.acme.person
    sent = invitation_create(person=person, actor=None, role=Role.LEADER)

    accepted = invitation_accept_with_new_login(
        token=sent.token, username="brand-new", password="a long passphrase 42"
    )

    user = User.objects.get(username="brand-new")
    person.refresh_from_db()
    assert accepted.user == user
    assert user.email == person.email
    assert user.check_password("a long passphrase 42")
    assert person.user == user
    assert _roles(api_world, user) == {Role.LEADER}
    history = accepted.invitation.history.latest()
    assert history.history_user == user


def test_a_failed_acceptance_leaves_no_new_login(api_world: World) -> None:
    person = api_world.acme.person
    sent = invitation_create(person=person, actor=None)
    # The person is linked meanwhile (by an instance administrator): accepting must fail whole.
    Person.objects.filter(pk=person.pk).update(user=api_world.users["member"])

    with pytest.raises(ConflictError):
        invitation_accept_with_new_login(
            token=sent.token, username="orphan", password="a long passphrase 42"
        )

    assert not User.objects.filter(username="orphan").exists()
    sent.invitation.refresh_from_db()
    assert sent.invitation.accepted_at is None


def test_a_taken_username_is_a_conflict_on_the_username(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org, email="taken@acme.test", actor=None
    )

    with pytest.raises(ConflictError) as raised:
        invitation_accept_with_new_login(
            token=sent.token, username="member", password="a long passphrase 42"
        )

    assert "username" in raised.value.extra["fields"]


def test_a_person_already_linked_is_not_invited_by_address(api_world: World) -> None:
    with pytest.raises(ConflictError, match="already linked"):
        invitation_create_for_email(
            organization=api_world.acme.org, email="EM@acme.test", actor=None
        )

    assert not Invitation.objects.exists()


@override_settings(EMAIL_BACKEND="tests.teams.test_invitations_email.BrokenBackend")
def test_a_mail_failure_withdraws_the_invitation(api_world: World) -> None:
    with pytest.raises(InvitationNotSent):
        invitation_create_for_email(
            organization=api_world.acme.org, email="nomail@acme.test", actor=None
        )

    assert invitation_list(organization=api_world.acme.org, status="pending").count() == 0
    assert Invitation.objects.filter(email="nomail@acme.test").count() == 1


def test_the_mail_names_the_role_and_the_link(api_world: World) -> None:
    sent = invitation_create_for_email(
        organization=api_world.acme.org,
        email="linked@acme.test",
        role=Role.CHANGE_AGENT,
        actor=None,
    )

    body = str(mail.outbox[-1].body)
    assert re.search(rf"/invitations/{re.escape(sent.token)}/", body)
    assert "change agent" in body
    assert "create one there" in body


class BrokenBackend:
    """An e-mail backend whose server is down."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("no mail server")


def test_an_address_that_is_not_one_is_a_field_error_and_sends_nothing(api_world: World) -> None:
    with pytest.raises(ApplicationError) as raised:
        invitation_create_for_email(
            organization=api_world.acme.org, email="not-an-address", actor=None
        )

    assert list(raised.value.extra["fields"]) == ["email"]
    assert mail.outbox == []
    assert not Invitation.objects.exists()
