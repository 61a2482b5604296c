"""Single sign-on (docs/sso.md): from the claims an OpenID Connect provider vouches for to a login,
the people it is, and the roles the claim-to-role mapping gives it.

Plain functions, no HTTP: ``transform.web.sso_backends`` calls ``sso_login`` with the merged
ID-token and userinfo claims once the provider's tokens are verified.

- Only a **verified** e-mail counts (``email_verified`` true, or the claim named by
  ``TRANSFORM_OIDC_EMAIL_VERIFIED_CLAIM``): anything else is refused and nothing is written.
- The login with that e-mail (case-insensitive) is reused; without one a login is created, with no
  usable password (so it gets no password-reset mail).
- Every person with that e-mail and no login, in any organisation, is linked to the login: signing
  in with a verified address is the address owner's own act, which is the consent the access rules
  ask for. A person linked to another login is left alone.
- The mapping grants its roles on every sign-in. A role the mapping no longer gives is revoked only
  if the mapping granted it (its creation is recorded with ``SSO_ROLE_REASON`` in the role's
  history); roles an admin granted by hand stay, and so does an organisation's last admin.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from simple_history.utils import update_change_reason

from core.errors import ApplicationError, ConflictError, PermissionDeniedError
from teams.models import Organization, OrganizationRole, Person
from teams.services import organization_role_create, organization_role_delete, person_update

logger = logging.getLogger(__name__)

SSO_ROLE_REASON = "single sign-on role mapping"


class RoleMappingEntry(Protocol):
    """One entry of the claim-to-role mapping (``transform.web.sso_config.RoleMapping``)."""

    @property
    def claim_value(self) -> str: ...

    @property
    def organization_slug(self) -> str: ...

    @property
    def role(self) -> str: ...


class SsoRefused(PermissionDeniedError):
    """The provider's answer does not let this person in; the message says why, for them."""


@dataclass(frozen=True)
class SsoLogin:
    """What a sign-in did: the login, whether it was created, the people linked to it now, and
    the roles granted and revoked as ``(organisation slug, role)``."""

    user: User
    created: bool
    people_linked: tuple[Person, ...]
    roles_granted: tuple[tuple[str, str], ...]
    roles_revoked: tuple[tuple[str, str], ...]


def verified_email(claims: Mapping[str, Any], *, verified_claim: str = "email_verified") -> str:
    """The claims' e-mail, lower-cased, if the provider says it verified it; else ``SsoRefused``.

    ``true`` may come as a JSON boolean or, from some providers, as the string ``"true"``."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SsoRefused(
            "Your sign-in provider did not share an e-mail address, so Transform cannot tell who "
            "you are. Ask your administrator to release the e-mail claim to Transform."
        )
    verified = claims.get(verified_claim)
    if verified is not True and not (isinstance(verified, str) and verified.lower() == "true"):
        raise SsoRefused(
            f"Your sign-in provider has not verified the e-mail address {email.strip()}. "
            "Transform signs people in by verified e-mail only: verify the address with your "
            "provider, or ask your administrator, then sign in again."
        )
    return email.strip().lower()


def claim_values(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    """The values of a role claim: a list of strings, or one string (space-separated values are
    one value each, as some providers send them)."""
    raw = claims.get(claim)
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list | tuple):
        return frozenset(str(value) for value in raw if isinstance(value, str | int))
    return frozenset()


def mapped_roles(
    values: Iterable[str], role_map: Sequence[RoleMappingEntry]
) -> frozenset[tuple[str, str]]:
    """The ``(organisation slug, role)`` pairs the mapping gives to holders of ``values``."""
    held = set(values)
    return frozenset(
        (entry.organization_slug, entry.role) for entry in role_map if entry.claim_value in held
    )


def _username_for(email: str) -> str:
    UserModel = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", email)[:140] or "user"
    username = base
    suffix = 1
    while UserModel.objects.filter(username__iexact=username).exists():
        suffix += 1
        username = f"{base}-{suffix}"
    return username


def _login_for(email: str, claims: Mapping[str, Any]) -> tuple[User, bool]:
    UserModel = get_user_model()
    users = list(UserModel.objects.filter(email__iexact=email)[:2])
    if len(users) > 1:
        raise SsoRefused(
            f"More than one Transform login has the e-mail address {email}, so Transform cannot "
            "tell which one is yours. Ask an administrator to give the other logins other "
            "addresses."
        )
    if users:
        user = users[0]
        if not user.is_active:
            raise SsoRefused("Your Transform login is deactivated; ask an administrator.")
        return user, False
    try:
        # A savepoint: a first sign-in of the same person in another tab at the same moment wins
        # the unique username, and this one then reuses its login.
        with transaction.atomic():
            user = UserModel.objects.create_user(
                username=_username_for(email),
                email=email,
                first_name=str(claims.get("given_name") or "")[:150],
                last_name=str(claims.get("family_name") or "")[:150],
            )
    except IntegrityError:
        return UserModel.objects.get(email__iexact=email), False
    # create_user without a password leaves an unusable one: this login signs in through the
    # provider only, and gets no password-reset mail.
    return user, True


def _link_people(user: User, email: str) -> tuple[Person, ...]:
    people = list(
        Person.objects.select_for_update()
        .filter(email__iexact=email, user__isnull=True, erased_at__isnull=True)
        .select_related("organization")
    )
    return tuple(person_update(person=person, data={"user": user}) for person in people)


def _granted_by_mapping(role: OrganizationRole) -> bool:
    created = (
        OrganizationRole.history.filter(id=role.pk, history_type="+")
        .order_by("-history_date")
        .values_list("history_change_reason", flat=True)
        .first()
    )
    return created == SSO_ROLE_REASON


def _sync_roles(
    user: User, wanted: frozenset[tuple[str, str]]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    held = {
        (role.organization.slug, role.role): role
        for role in OrganizationRole.objects.filter(user=user).select_related("organization")
    }
    granted: list[tuple[str, str]] = []
    missing = sorted(wanted - set(held))
    organizations = Organization.objects.in_bulk({slug for slug, _ in missing}, field_name="slug")
    for slug, role_name in missing:
        organization = organizations.get(slug)
        if organization is None:
            logger.warning("SSO role mapping names the unknown organisation %r", slug)
            continue
        try:
            role = organization_role_create(organization=organization, user=user, role=role_name)
        except ConflictError:  # granted at the same moment by another sign-in or an admin
            continue
        update_change_reason(role, SSO_ROLE_REASON)
        granted.append((slug, role_name))
    revoked: list[tuple[str, str]] = []
    for pair, role in sorted(held.items()):
        if pair in wanted or not _granted_by_mapping(role):
            continue
        try:
            organization_role_delete(organization_role=role)
        except ApplicationError as exc:  # the organisation's last admin stays
            logger.warning("SSO role mapping kept %s: %s", role, exc.message)
            continue
        revoked.append(pair)
    return tuple(granted), tuple(revoked)


@transaction.atomic
def sso_login(
    *,
    claims: Mapping[str, Any],
    role_claim: str = "groups",
    role_map: Sequence[RoleMappingEntry] = (),
    verified_claim: str = "email_verified",
) -> SsoLogin:
    """Signs in whoever ``claims`` describe (see the module's docstring): the login, found by
    verified e-mail or created; the people with that e-mail linked; the mapped roles granted and
    the roles the mapping granted but no longer gives revoked. All or nothing.

    Raises ``SsoRefused`` (nothing written) for an unverified or missing e-mail, a deactivated
    login, or an e-mail that several logins share."""
    email = verified_email(claims, verified_claim=verified_claim)
    user, created = _login_for(email, claims)
    people = _link_people(user, email)
    granted: tuple[tuple[str, str], ...] = ()
    revoked: tuple[tuple[str, str], ...] = ()
    if role_map:
        wanted = mapped_roles(claim_values(claims, role_claim), role_map)
        granted, revoked = _sync_roles(user, wanted)
    return SsoLogin(
        user=user,
        created=created,
        people_linked=people,
        roles_granted=granted,
        roles_revoked=revoked,
    )
