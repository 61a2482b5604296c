"""Who may see and change what in the organisation graph: the organisation-level base of every
access rule (``transform.access`` builds the rest on it; docs/architecture.md#access).

Every API read and write goes through ``org_access_get`` first: it resolves the organisation in
the URL and the caller's roles in one query, and raises ``NotFoundError`` (404, never 403) when
the caller holds no role there, so other tenants' slugs and ids cannot be probed. Object fetches
below are scoped by the organisation, so another organisation's id is a 404 too. Write checks
raise ``PermissionDeniedError`` (403) only inside an organisation the caller can already read.
The role sets are written here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Prefetch, QuerySet

from core.errors import NotFoundError, PermissionDeniedError
from teams import selectors
from teams.models import (
    Interaction,
    Membership,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    Role,
    ServesLink,
    Team,
)

_M = TypeVar("_M", bound=Model)

ORG_MANAGER_ROLES = frozenset({Role.ADMIN, Role.CHANGE_AGENT})
TOPOLOGY_WRITER_ROLES = ORG_MANAGER_ROLES | {Role.ENGINEERING_MANAGER}


@dataclass(frozen=True, slots=True)
class OrgAccess:
    """The caller's standing in one organisation: who they are and which roles they hold there."""

    organization: Organization
    user_id: int
    roles: frozenset[str]

    @property
    def can_manage(self) -> bool:
        """Admins and change agents change anything in the organisation's graph."""
        return bool(self.roles & ORG_MANAGER_ROLES)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


def organization_list_for_user(*, user: User | AnonymousUser) -> QuerySet[Organization]:
    """Organisations in which ``user`` holds at least one role; each carries ``user_roles``.

    Two queries whatever the number of organisations (the roles are prefetched).
    """
    if not user.is_authenticated:
        return Organization.objects.none()
    return (
        Organization.objects.filter(
            pk__in=OrganizationRole.objects.filter(user=user).values("organization_id")
        )
        .prefetch_related(
            Prefetch(
                "roles",
                queryset=OrganizationRole.objects.filter(user=user).order_by("role"),
                to_attr="user_roles",
            )
        )
        .order_by("slug")
    )


def org_access_get(*, user: User | AnonymousUser, org_slug: str) -> OrgAccess:
    """The caller's access to organisation ``org_slug``, in one query.

    Raises ``NotFoundError`` when the organisation does not exist or the caller holds no role in it:
    the two cases look the same from outside.
    """
    if not user.is_authenticated:
        raise NotFoundError("No organisation with this slug.")
    role_rows = list(
        OrganizationRole.objects.filter(user=user, organization__slug=org_slug).select_related(
            "organization"
        )
    )
    if not role_rows:
        raise NotFoundError(f"No organisation with slug '{org_slug}'.")
    return OrgAccess(
        organization=role_rows[0].organization,
        user_id=user.pk,
        roles=frozenset(row.role for row in role_rows),
    )


def org_manage_access_check(*, access: OrgAccess, action: str) -> None:
    """Raises ``PermissionDeniedError`` unless the caller is an admin or change agent of the organisation."""
    if not access.can_manage:
        raise PermissionDeniedError(
            f"Only admins and change agents of '{access.organization.slug}' may {action}."
        )


def org_admin_access_check(*, access: OrgAccess, action: str) -> None:
    """Raises ``PermissionDeniedError`` unless the caller is an admin of the organisation."""
    if not access.is_admin:
        raise PermissionDeniedError(f"Only admins of '{access.organization.slug}' may {action}.")


def invitation_role_access_check(*, access: OrgAccess, role: str) -> None:
    """Raises ``PermissionDeniedError`` unless the caller may invite with ``role``: admins invite
    with any role, change agents with any role but admin (they cannot grant roles otherwise, so
    an invitation must not make anyone more than they are). The caller has checked
    ``org_manage_access_check`` already."""
    if role == Role.ADMIN and not access.is_admin:
        raise PermissionDeniedError(
            f"Only admins of '{access.organization.slug}' may invite someone as an admin."
        )


def topology_write_access_check(*, access: OrgAccess) -> None:
    """Raises ``PermissionDeniedError`` when the caller cannot change any team's topology at all.

    Lets the API refuse leaders and members before it looks at the payload; which team an
    engineering manager may change is decided by ``team_topology_access_check``.
    """
    if not access.roles & TOPOLOGY_WRITER_ROLES:
        raise PermissionDeniedError(
            f"Only admins, change agents and engineering managers of "
            f"'{access.organization.slug}' may change team topology."
        )


def team_topology_access_check(*, access: OrgAccess, team: Team) -> None:
    """Raises ``PermissionDeniedError`` unless the caller may change ``team``'s topology.

    Allowed: admins, change agents, and a user with the engineering_manager role whose Person is
    the team's ``manager``. The topology is the team itself, its memberships and serves links, and
    the interactions it is the source of.
    """
    if access.can_manage:
        return
    if (
        Role.ENGINEERING_MANAGER in access.roles
        and team.manager_id is not None
        and Person.objects.filter(pk=team.manager_id, user_id=access.user_id).exists()
    ):
        return
    raise PermissionDeniedError(
        f"Only admins, change agents and the engineering manager of team '{team.slug}' may "
        "change its topology."
    )


def team_get_for_topology_change(*, access: OrgAccess, slug: str) -> Team:
    """The team ``slug`` of the caller's organisation, for a change to its topology: 404 when
    there is none, 403 unless the caller is an admin, change agent or its engineering manager."""
    team = team_get_for_user(access=access, slug=slug)
    topology_write_access_check(access=access)
    team_topology_access_check(access=access, team=team)
    return team


def team_membership_get(*, team: Team, membership_id: int) -> Membership:
    """A membership of ``team`` (which the caller may change); ``NotFoundError`` otherwise."""
    found = (
        Membership.objects.select_related("person", "team", "organization")
        .filter(pk=membership_id, team=team)
        .first()
    )
    if found is None:
        raise NotFoundError("No such membership in this team.")
    return found


def team_serves_link_get(*, team: Team, serves_link_id: int) -> ServesLink:
    """A serves link of ``team`` (which the caller may change); ``NotFoundError`` otherwise."""
    found = ServesLink.objects.select_related("person").filter(pk=serves_link_id, team=team).first()
    if found is None:
        raise NotFoundError("No such serves link for this team.")
    return found


def team_interaction_get(*, team: Team, interaction_id: int) -> Interaction:
    """An interaction ``team`` is the source of (the caller may change it); ``NotFoundError``
    otherwise."""
    found = (
        Interaction.objects.select_related("target").filter(pk=interaction_id, source=team).first()
    )
    if found is None:
        raise NotFoundError("No such interaction from this team.")
    return found


def org_unit_get_for_user(*, access: OrgAccess, slug: str) -> OrgUnit:
    """The unit ``slug`` of the caller's organisation; ``NotFoundError`` otherwise."""
    return _get_or_404(selectors.org_unit_list(organization=access.organization), "unit", slug=slug)


def team_get_for_user(*, access: OrgAccess, slug: str, include_retired: bool = False) -> Team:
    """The live team ``slug`` of the caller's organisation (or a retired one with
    ``include_retired``, for reading its record and lineage); ``NotFoundError`` otherwise."""
    teams = selectors.team_list(organization=access.organization, include_retired=include_retired)
    return _get_or_404(teams, "team", slug=slug)


def person_get_for_user(*, access: OrgAccess, person_id: int | str) -> Person:
    """The person ``person_id`` of the caller's organisation; ``NotFoundError`` otherwise."""
    return _get_or_404(
        selectors.person_list(organization=access.organization), "person", pk=person_id
    )


def membership_get_for_user(*, access: OrgAccess, membership_id: int | str) -> Membership:
    """The membership ``membership_id`` of the caller's organisation; ``NotFoundError`` otherwise."""
    return _get_or_404(
        selectors.membership_list(organization=access.organization), "membership", pk=membership_id
    )


def serves_link_get_for_user(*, access: OrgAccess, serves_link_id: int | str) -> ServesLink:
    """The serves link ``serves_link_id`` of the caller's organisation; ``NotFoundError`` otherwise."""
    return _get_or_404(
        selectors.serves_link_list(organization=access.organization),
        "serves link",
        pk=serves_link_id,
    )


def interaction_get_for_user(*, access: OrgAccess, interaction_id: int | str) -> Interaction:
    """The interaction ``interaction_id`` of the caller's organisation; ``NotFoundError`` otherwise."""
    return _get_or_404(
        selectors.interaction_list(organization=access.organization),
        "interaction",
        pk=interaction_id,
    )


def organization_role_get_for_user(*, access: OrgAccess, role_id: int | str) -> OrganizationRole:
    """The role grant ``role_id`` of the caller's organisation; ``NotFoundError`` otherwise."""
    return _get_or_404(
        selectors.organization_role_list(organization=access.organization), "role", pk=role_id
    )


def _get_or_404(queryset: QuerySet[_M], label: str, **lookup: Any) -> _M:
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        # ValueError/TypeError: a malformed id in the URL is as unknown as a missing one.
        raise NotFoundError(f"No {label} with this identifier in the organisation.") from None
