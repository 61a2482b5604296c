"""How a login joins an organisation: an invitation, e-mailed to an address with a role, that
its owner accepts; or an instance administrator's direct link. Nobody is linked to a login without
its owner's consent (docs/access.md; docs/security.md, "Account linking").

- ``invitation_create_for_email``: an admin or change agent of the organisation (the caller checks
  with ``teams.access.org_manage_access_check`` and ``invitation_role_access_check``) invites an
  address with a role. When a person of the organisation has that address (case-insensitive), the
  invitation is for them: accepting links them to the login. ``invitation_create`` invites a
  known person. A random token is e-mailed through Django's e-mail backend; only its SHA-256 hash
  is stored. A newer invitation to the same address ends the open ones; a failed send withdraws it.
- ``invitation_accept`` (a logged-in user) and ``invitation_accept_with_new_login`` (a login
  created on the invitation page, in the same transaction): once, before the invitation expires,
  unless it was revoked. Accepting grants the invitation's role (never taking one away) and links
  the invited person, if any.
- ``invitation_revoke``: withdraws a pending invitation; the row stays, with its history.
- ``invitation_list`` and ``organization_user_list``: the access page's and the API's reads.
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
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, DomainError, NotFoundError
from teams.models import Invitation, Organization, OrganizationRole, Person, Role
from teams.services import history_user_set

# How long an invitation link can be used; a new invitation can always be sent.
INVITATION_VALID_FOR = dt.timedelta(days=7)
# ``secrets.token_urlsafe(32)`` gives 43 characters; longer text is not looked up at all.
MAX_TOKEN_LENGTH = 100

# The states an invitation is in, in the order the lists filter them.
INVITATION_STATUSES: tuple[str, ...] = ("pending", "accepted", "expired", "revoked")

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
    """An invitation that was accepted already, expired, revoked or replaced by a newer one."""

    status_code = HTTPStatus.GONE


class InvitationNotSent(DomainError):
    """The mail server refused or could not be reached; the invitation was withdrawn."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE


@dataclass(frozen=True, slots=True)
class InvitationSent:
    invitation: Invitation
    token: str  # shown to nobody but the mail; tests read it here


@dataclass(frozen=True, slots=True)
class InvitationAccepted:
    """What accepting did: the login, the person linked (None: a login-only invitation) and the
    role granted (None when the login held it, or any role for ``member``, already)."""

    invitation: Invitation
    user: User
    person: Person | None
    role_granted: str | None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    """The absolute URL of the page where the invitation is accepted."""
    return f"{settings.TRANSFORM_BASE_URL.rstrip('/')}/invitations/{token}/"


def invitation_status(invitation: Invitation, *, at: dt.datetime) -> str:
    """One of ``INVITATION_STATUSES`` at ``at``."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= at:
        return "expired"
    return "pending"


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
    *,
    person: Person,
    actor: User | None,
    role: str = Role.MEMBER,
    at: dt.datetime | None = None,
) -> InvitationSent:
    """Invite ``person`` to link a login and hold ``role``: store the invitation (open invitations
    to the same address end), then e-mail the link to the person's address outside the
    transaction.

    Raises ``ConflictError`` (409) for a person already linked to a login or a leaver, and
    ``InvitationNotSent`` (503) when the mail cannot be sent (the invitation is withdrawn then,
    so a failed send leaves no usable link behind)."""
    now = at or timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        person = Person.objects.select_for_update().select_related("organization").get(pk=person.pk)
        _person_invitable_check(person)
        invitation = _invitation_store(
            organization=person.organization,
            person=person,
            email=person.email,
            name=person.name,
            role=role,
            token=token,
            actor=actor,
            now=now,
        )
    _invitation_send_or_withdraw(invitation, token, now=now)
    return InvitationSent(invitation=invitation, token=token)


def invitation_create_for_email(
    *,
    organization: Organization,
    email: str,
    actor: User | None,
    role: str = Role.MEMBER,
    name: str = "",
    at: dt.datetime | None = None,
) -> InvitationSent:
    """Invite the address ``email`` to ``organization`` with ``role``. When a person of the
    organisation has this address (case-insensitive), the invitation is theirs (accepting links
    them); otherwise it grants a login and the role only. Open invitations to the same address
    end. The caller has checked who may invite with which role (``teams.access``).

    Raises ``ApplicationError`` (400) for an address or role that is not valid, ``ConflictError``
    (409) when the address's person is linked to a login already or has left, and
    ``InvitationNotSent`` (503) as ``invitation_create``."""
    address = email.strip().lower()
    now = at or timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        person = (
            Person.objects.select_for_update()
            .filter(organization=organization, email__iexact=address)
            .first()
        )
        if person is not None:
            _person_invitable_check(person)
        invitation = _invitation_store(
            organization=organization,
            person=person,
            email=address,
            name=name.strip() or (person.name if person else ""),
            role=role,
            token=token,
            actor=actor,
            now=now,
        )
    _invitation_send_or_withdraw(invitation, token, now=now)
    return InvitationSent(invitation=invitation, token=token)


def _person_invitable_check(person: Person) -> None:
    if person.user_id is not None:
        raise ConflictError(
            "This person is already linked to a login; give that login a role instead.",
            extra={"person": person.pk},
        )
    if person.left_on is not None or person.erased_at is not None:
        raise ConflictError("A leaver cannot be invited.", extra={"person": person.pk})


def _invitation_store(
    *,
    organization: Organization,
    person: Person | None,
    email: str,
    name: str,
    role: str,
    token: str,
    actor: User | None,
    now: dt.datetime,
) -> Invitation:
    """End the open invitations to ``email`` in the organisation and store a new one (inside the
    caller's transaction)."""
    if role not in Role.values:
        message = f"'{role}' is not a role; choose one of {', '.join(Role.values)}."
        raise ApplicationError(message, extra={"fields": {"role": [message]}})
    open_filter = Q(email__iexact=email) | (Q(person=person) if person is not None else Q())
    for open_invitation in Invitation.objects.select_for_update().filter(
        open_filter,
        organization=organization,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ):
        open_invitation.expires_at = now
        history_user_set(open_invitation, actor)
        open_invitation.save(update_fields=["expires_at", "updated_at"])
    invitation = Invitation(
        organization=organization,
        person=person,
        email=email,
        name=name[:200],
        role=role,
        token_hash=_token_hash(token),
        created_by=actor,
        expires_at=now + INVITATION_VALID_FOR,
    )
    history_user_set(invitation, actor)
    try:
        invitation.full_clean()
    except ValidationError as error:  # e.g. an address too long or not an address
        raise ApplicationError(
            "The invitation is not valid.", extra={"fields": error.message_dict}
        ) from None
    invitation.save()
    return invitation


def _invitation_send_or_withdraw(invitation: Invitation, token: str, *, now: dt.datetime) -> None:
    try:
        _invitation_send(invitation, token)
    except Exception as error:  # any failure of the mail server: nothing usable is left
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=now)
        raise InvitationNotSent(
            "The invitation could not be e-mailed; nothing was sent. Try again later.",
            extra={"reason": type(error).__name__},
        ) from error


def _invitation_send(invitation: Invitation, token: str) -> None:
    organization = invitation.organization
    greeting = invitation.name or (invitation.person.name if invitation.person else "")
    role = Role(invitation.role).label.lower()
    if invitation.person is not None:
        what = (
            f"to sign in to Transform as yourself in {organization.name}, with the role "
            f"{role}: your check-ins and your team's pages then show when you are logged in."
        )
    else:
        what = f"to join {organization.name} on Transform with the role {role}."
    body = (
        f"Hello{' ' + greeting if greeting else ''},\n\n"
        f"you are invited {what}\n\n"
        "Open this link, then sign in with your login or create one there, and accept:\n"
        f"{invitation_url(token)}\n\n"
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
    if invitation.revoked_at is not None:
        raise InvitationGone(
            "This invitation was withdrawn by an admin of the organisation; ask them for a new one."
        )
    if invitation.expires_at <= at:
        raise InvitationGone(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d at %H:%M %Z}; ask an "
            "admin or change agent of the organisation for a new one."
        )


def invitation_accept(
    *, token: str, user: User | AnonymousUser, at: dt.datetime | None = None
) -> InvitationAccepted:
    """Accept the invitation ``token`` names with the logged-in ``user``, once: grant its role
    and link its person, if any (``_invitation_accept_locked``).

    Raises ``InvitationInvalid`` (404) for a wrong token or an anonymous ``user``,
    ``InvitationGone`` (410) for one accepted already, expired or revoked, ``ConflictError``
    (409) when the person was linked meanwhile or ``user`` already is another person of the
    organisation."""
    if not user.is_authenticated or not isinstance(user, User):
        raise InvitationInvalid()
    now = at or timezone.now()
    found = invitation_get_by_token(token=token)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=found.pk)
        invitation_open_check(invitation=invitation, at=now)
        return _invitation_accept_locked(invitation=invitation, user=user, now=now)


def invitation_accept_with_new_login(
    *, token: str, username: str, password: str, at: dt.datetime | None = None
) -> InvitationAccepted:
    """Create a login (``username``, ``password``, the invitation's address as its e-mail) and
    accept the invitation with it, in one transaction: if accepting fails, no login is left.

    The caller has validated the username and the password (Django's validators: the page's
    form). Raises as ``invitation_accept``, and ``ConflictError`` (409, on the field
    ``username``) when the username was taken meanwhile."""
    now = at or timezone.now()
    found = invitation_get_by_token(token=token)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=found.pk)
        invitation_open_check(invitation=invitation, at=now)
        try:
            with transaction.atomic():
                user = User._default_manager.create_user(
                    username=username,
                    email=invitation.email,
                    password=password,
                    first_name=invitation.name[:150],
                )
        except IntegrityError:
            message = "A login with this username exists already; choose another one."
            raise ConflictError(message, extra={"fields": {"username": [message]}}) from None
        return _invitation_accept_locked(invitation=invitation, user=user, now=now)


def _invitation_accept_locked(
    *, invitation: Invitation, user: User, now: dt.datetime
) -> InvitationAccepted:
    """Inside the caller's transaction, ``invitation`` locked and open: link the person, grant
    the role, mark it accepted. Roles are only ever added: a login that holds the invited role
    keeps its roles as they are, and ``member`` (what every role may already read) is granted
    only to a login that holds no role in the organisation yet."""
    person: Person | None = None
    if invitation.person_id is not None:
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
    if person is not None:
        person.user = user
        history_user_set(person, user)
        person.save(update_fields=["user", "updated_at"])
    held = set(
        OrganizationRole.objects.filter(
            organization_id=invitation.organization_id, user_id=user.pk
        ).values_list("role", flat=True)
    )
    granted: str | None = None
    if invitation.role not in held and not (invitation.role == Role.MEMBER and held):
        grant = OrganizationRole(
            organization_id=invitation.organization_id, user=user, role=invitation.role
        )
        history_user_set(grant, user)
        grant.save()
        granted = invitation.role
    return InvitationAccepted(invitation=invitation, user=user, person=person, role_granted=granted)


def invitation_revoke(
    *, invitation: Invitation, actor: User | None, at: dt.datetime | None = None
) -> Invitation:
    """Withdraw a pending invitation: its link stops working; the row and its history stay.

    Raises ``ConflictError`` (409) for an invitation that is not pending (accepted, expired or
    revoked already)."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        status = invitation_status(locked, at=now)
        if status != "pending":
            raise ConflictError(
                f"Only a pending invitation can be revoked; this one is {status}.",
                extra={"status": status},
            )
        locked.revoked_at = now
        history_user_set(locked, actor)
        locked.save(update_fields=["revoked_at", "updated_at"])
    return locked


def invitations_in_status(
    invitations: QuerySet[Invitation], *, status: str, at: dt.datetime
) -> QuerySet[Invitation]:
    """``invitations`` that are in ``status`` (one of ``INVITATION_STATUSES``) at ``at``; all of
    them for any other value."""
    open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
    if status == "pending":
        return invitations.filter(open_, expires_at__gt=at)
    if status == "accepted":
        return invitations.filter(accepted_at__isnull=False)
    if status == "expired":
        return invitations.filter(open_, expires_at__lte=at)
    if status == "revoked":
        return invitations.filter(accepted_at__isnull=True, revoked_at__isnull=False)
    return invitations


def invitation_list(
    *, organization: Organization, status: str | None = None, at: dt.datetime | None = None
) -> QuerySet[Invitation]:
    """The organisation's invitations, newest first, in one query (person and logins joined);
    only those in ``status`` (one of ``INVITATION_STATUSES``) when given."""
    invitations = (
        Invitation.objects.filter(organization=organization)
        .select_related("organization", "person", "created_by", "accepted_by")
        .order_by("-created_at", "-id")
    )
    if status is None:
        return invitations
    return invitations_in_status(invitations, status=status, at=at or timezone.now())


def invitation_get_for_organization(
    *, organization: Organization, invitation_id: int | str
) -> Invitation:
    """The invitation ``invitation_id`` of ``organization``; ``NotFoundError`` (404) otherwise."""
    try:
        return invitation_list(organization=organization).get(pk=invitation_id)
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise NotFoundError("No invitation with this identifier in the organisation.") from None


def organization_user_list(*, organization: Organization) -> QuerySet[User]:
    """Every login holding a role in ``organization``, by username; each carries ``org_roles``
    (its grants there, by role) and ``org_people`` (the people of the organisation linked to it).
    Three queries per page whatever its size (the grants and people are prefetched)."""
    return (
        User._default_manager.filter(
            pk__in=OrganizationRole.objects.filter(organization=organization).values("user_id")
        )
        .order_by("username")
        .prefetch_related(
            Prefetch(
                "organization_roles",
                queryset=OrganizationRole.objects.filter(organization=organization).order_by(
                    "role"
                ),
                to_attr="org_roles",
            ),
            Prefetch(
                "people",
                queryset=Person.objects.filter(organization=organization).order_by("pk"),
                to_attr="org_people",
            ),
        )
    )


def organization_role_grantee_get(
    *, organization: Organization, username: str, actor: User | AnonymousUser | None
) -> User:
    """The login ``username`` to give a role in ``organization`` directly: one that holds a role
    there already (or any login, for an instance administrator). Everyone else is invited.

    Raises ``ApplicationError`` (400, field ``user``) with the same message whether the username
    is unknown or names a login without a role there, so usernames cannot be probed."""
    users = User._default_manager.filter(username=username)
    if not getattr(actor, "is_superuser", False):
        users = users.filter(organization_roles__organization=organization)
    user = users.first()
    if user is None:
        message = (
            f"No login named '{username[:150]}' holds a role in '{organization.slug}'. Invite "
            f"them by e-mail with the role: POST /api/v1/orgs/{organization.slug}/invitations/."
        )
        raise ApplicationError(message, extra={"fields": {"user": [message]}})
    return user
