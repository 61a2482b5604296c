"""How a login becomes a person of an organisation: an invitation its owner accepts, or an
instance administrator's direct link. Nobody is linked to a login without its owner's consent
(docs/api.md, "Invitations"; docs/security.md, "Account linking").

- ``invitation_create``: an admin or change agent of the organisation (the caller checks with
  ``teams.access.org_manage_access_check``) invites a person; a random token is e-mailed to the
  person's address through Django's e-mail backend, only its SHA-256 hash is stored.
- ``invitation_accept``: the logged-in user who holds the token links the person to their login,
  once, before the invitation expires; they become a member of the organisation if they held no
  role there yet (so their own check-ins show in ``me/checkins``).
- ``person_login_resolve``: the ``user`` a client asks to set on a person directly. Only an
  instance administrator (``is_superuser``) may; everyone else gets one and the same answer
  whether the username exists or not, so usernames cannot be probed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, DomainError, NotFoundError
from teams.models import Invitation, OrganizationRole, Person, Role
from teams.services import history_user_set

# How long an invitation link can be used; a new invitation can always be sent.
INVITATION_VALID_FOR = dt.timedelta(days=7)
# ``secrets.token_urlsafe(32)`` gives 43 characters; longer text is not looked up at all.
MAX_TOKEN_LENGTH = 100

LINK_THROUGH_INVITATION = (
    "Linking a login goes through an invitation: POST "
    "/api/v1/orgs/{org_slug}/people/{id}/invite/ sends one to the person's address."
)


class InvitationInvalid(NotFoundError):
    """A token that names no invitation: the same answer for a wrong, a malformed and an unknown
    token."""

    def __init__(self) -> None:
        super().__init__("This invitation link is not valid.")


class InvitationGone(DomainError):
    """An invitation that was accepted already, expired or was replaced by a newer one."""

    status_code = HTTPStatus.GONE


class InvitationNotSent(DomainError):
    """The mail server refused or could not be reached; the invitation was withdrawn."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE


@dataclass(frozen=True, slots=True)
class InvitationSent:
    invitation: Invitation
    token: str  # shown to nobody but the mail; tests read it here


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    """The absolute URL of the page where the invitation is accepted."""
    return f"{settings.TRANSFORM_BASE_URL.rstrip('/')}/invitations/{token}/"


def person_login_resolve(
    *, actor: User | AnonymousUser | None, username: str | None
) -> User | None:
    """The login to set as a person's ``user`` when a client asks for ``username`` directly
    (None: unlink, allowed to whoever may change the person).

    Raises ``ApplicationError`` on the field ``user``: for anyone but an instance administrator,
    always ``LINK_THROUGH_INVITATION``, before looking the username up (existing and unknown
    usernames answer byte for byte the same); for an administrator, when no login has it."""
    if username is None:
        return None
    if not getattr(actor, "is_superuser", False):
        raise ApplicationError(
            LINK_THROUGH_INVITATION, extra={"fields": {"user": [LINK_THROUGH_INVITATION]}}
        )
    user = User._default_manager.filter(username=username).first()
    if user is None:
        message = f"No login with username '{username[:150]}'."
        raise ApplicationError(message, extra={"fields": {"user": [message]}})
    return user


def invitation_create(
    *, person: Person, actor: User | None, at: dt.datetime | None = None
) -> InvitationSent:
    """Invite ``person`` to link a login: store the invitation (open invitations of the person
    end), then e-mail the link to the person's address outside the transaction.

    Raises ``ConflictError`` (409) for a person already linked to a login or a leaver, and
    ``InvitationNotSent`` (503) when the mail cannot be sent (the invitation is withdrawn then,
    so a failed send leaves no usable link behind)."""
    now = at or timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        person = Person.objects.select_for_update().select_related("organization").get(pk=person.pk)
        if person.user_id is not None:
            raise ConflictError(
                "This person is already linked to a login.", extra={"person": person.pk}
            )
        if person.left_on is not None or person.erased_at is not None:
            raise ConflictError("A leaver cannot be invited.", extra={"person": person.pk})
        for open_invitation in Invitation.objects.filter(
            person=person, accepted_at__isnull=True, expires_at__gt=now
        ):
            open_invitation.expires_at = now
            history_user_set(open_invitation, actor)
            open_invitation.save(update_fields=["expires_at", "updated_at"])
        invitation = Invitation(
            organization=person.organization,
            person=person,
            email=person.email,
            token_hash=_token_hash(token),
            created_by=actor,
            expires_at=now + INVITATION_VALID_FOR,
        )
        history_user_set(invitation, actor)
        invitation.full_clean()
        invitation.save()
    try:
        _invitation_send(invitation, token)
    except Exception as error:  # any failure of the mail server: nothing usable is left
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=now)
        raise InvitationNotSent(
            "The invitation could not be e-mailed; nothing was sent. Try again later.",
            extra={"reason": type(error).__name__},
        ) from error
    return InvitationSent(invitation=invitation, token=token)


def _invitation_send(invitation: Invitation, token: str) -> None:
    organization = invitation.organization
    body = (
        f"Hello {invitation.person.name},\n\n"
        f"you are invited to sign in to Transform as yourself in {organization.name}: your "
        "check-ins and your team's pages then show when you are logged in.\n\n"
        f"Open this link while logged in, and accept:\n{invitation_url(token)}\n\n"
        f"The link works once, until {invitation.expires_at:%Y-%m-%d %H:%M %Z}. If you did not "
        "expect it, ignore this message: nothing is linked unless you accept.\n"
    )
    EmailMessage(
        subject=f"Invitation to {organization.name} on Transform",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send(fail_silently=False)


def invitation_get_by_token(*, token: str) -> Invitation:
    """The invitation ``token`` names, whatever its state; ``InvitationInvalid`` (404) else."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvitationInvalid()
    invitation = (
        Invitation.objects.select_related("organization", "person")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if invitation is None:
        raise InvitationInvalid()
    return invitation


def invitation_open_check(*, invitation: Invitation, at: dt.datetime) -> None:
    """Raises ``InvitationGone`` (410) unless ``invitation`` can still be accepted at ``at``."""
    if invitation.accepted_at is not None:
        raise InvitationGone("This invitation was accepted already; it works once.")
    if invitation.expires_at <= at:
        raise InvitationGone(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d at %H:%M %Z}; ask an "
            "admin or change agent of the organisation for a new one."
        )


def invitation_accept(
    *, token: str, user: User | AnonymousUser, at: dt.datetime | None = None
) -> Person:
    """Link the invited person to ``user`` (logged in), once.

    Raises ``InvitationInvalid`` (404) for a wrong token, ``InvitationGone`` (410) for one
    accepted already or expired, ``ConflictError`` (409) when the person was linked meanwhile or
    ``user`` already is another person of the organisation. Grants ``user`` the member role in
    the organisation when they held none there."""
    if not user.is_authenticated:
        raise InvitationInvalid()
    now = at or timezone.now()
    found = invitation_get_by_token(token=token)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=found.pk)
        invitation_open_check(invitation=invitation, at=now)
        person = Person.objects.select_for_update().get(pk=invitation.person_id)
        if person.user_id is not None:
            raise ConflictError("This person is already linked to a login.")
        if Person.objects.filter(organization_id=person.organization_id, user_id=user.pk).exists():
            raise ConflictError(
                "Your login is already linked to another person of this organisation."
            )
        invitation.accepted_at = now
        invitation.accepted_by = user
        history_user_set(invitation, user)
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
        person.user = user
        history_user_set(person, user)
        person.save(update_fields=["user", "updated_at"])
        if not OrganizationRole.objects.filter(
            organization_id=person.organization_id, user_id=user.pk
        ).exists():
            role = OrganizationRole(
                organization_id=person.organization_id, user=user, role=Role.MEMBER
            )
            history_user_set(role, user)
            role.save()
    return person
