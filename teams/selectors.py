"""Reads of the organisation graph. Selectors own query shape (select_related, only, as-of)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Prefetch, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from teams.analysis import analyze_snapshot
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
    UnitNode,
)
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


def org_snapshot_get(
    *, organization: Organization, as_of: dt.datetime | None = None
) -> OrgSnapshot:
    """The topology of ``organization`` now, or as it was at ``as_of`` (from the history tables).

    Runs a fixed number of queries (one per model) whatever the organisation's size. Rows are
    joined by id in Python, which also works for historical rows whose foreign keys are plain ids.
    """
    moment = as_of or timezone.now()
    org_id = organization.pk

    def rows(model: Any, *fields: str) -> list[dict[str, Any]]:
        if as_of is None:
            queryset = model.objects.filter(organization_id=org_id)
        else:
            queryset = model.history.as_of(as_of).filter(organization_id=org_id)
        return list(queryset.values("id", *fields))

    unit_rows = rows(OrgUnit, "slug", "name", "kind", "parent_id")
    team_rows = rows(
        Team, "slug", "name", "type", "specialty", "unit_id", "manager_id", "description"
    )
    person_rows = rows(Person, "email", "name")
    membership_rows = rows(Membership, "person_id", "team_id", "role", "allocation_percent")
    serves_rows = rows(ServesLink, "person_id", "team_id", "note")
    interaction_rows = rows(
        Interaction, "source_id", "target_id", "mode", "since", "expected_end", "severity", "note"
    )

    unit_slug = {row["id"]: row["slug"] for row in unit_rows}
    team_slug = {row["id"]: row["slug"] for row in team_rows}
    email = {row["id"]: row["email"] for row in person_rows}

    return OrgSnapshot(
        organization=organization.slug,
        name=organization.name,
        as_of=moment,
        thresholds=dict(organization.analysis_thresholds or {}),
        units=sorted(
            (
                UnitNode(
                    slug=row["slug"],
                    name=row["name"],
                    kind=row["kind"],
                    parent=unit_slug.get(row["parent_id"]),
                )
                for row in unit_rows
            ),
            key=lambda unit: unit.slug,
        ),
        teams=sorted(
            (
                TeamNode(
                    slug=row["slug"],
                    name=row["name"],
                    type=row["type"],
                    specialty=row["specialty"],
                    unit=unit_slug.get(row["unit_id"]),
                    manager=email.get(row["manager_id"]),
                    description=row["description"],
                )
                for row in team_rows
            ),
            key=lambda team: team.slug,
        ),
        people=sorted(
            (PersonNode(email=row["email"], name=row["name"]) for row in person_rows),
            key=lambda person: person.email,
        ),
        memberships=sorted(
            (
                MembershipEdge(
                    person=email[row["person_id"]],
                    team=team_slug[row["team_id"]],
                    role=row["role"],
                    allocation_percent=row["allocation_percent"],
                )
                for row in membership_rows
                if row["person_id"] in email and row["team_id"] in team_slug
            ),
            key=lambda edge: (edge.team, edge.person),
        ),
        serves=sorted(
            (
                ServesEdge(
                    person=email[row["person_id"]], team=team_slug[row["team_id"]], note=row["note"]
                )
                for row in serves_rows
                if row["person_id"] in email and row["team_id"] in team_slug
            ),
            key=lambda edge: (edge.team, edge.person),
        ),
        interactions=sorted(
            (
                InteractionEdge(
                    source=team_slug[row["source_id"]],
                    target=team_slug[row["target_id"]],
                    mode=row["mode"],
                    since=row["since"],
                    expected_end=row["expected_end"],
                    severity=row["severity"],
                    note=row["note"],
                )
                for row in interaction_rows
                if row["source_id"] in team_slug and row["target_id"] in team_slug
            ),
            key=lambda edge: (edge.source, edge.target, edge.mode),
        ),
    )


# --- Access and list selectors for the REST API -------------------------------------------------
#
# Every API read and write goes through ``org_access_get`` first: it resolves the organisation in
# the URL and the caller's roles in one query, and answers 404 (never 403) when the caller holds no
# role there, so other tenants' slugs and ids cannot be probed. Object fetches below are scoped by
# the organisation, so another organisation's id is a 404 too. Write checks raise 403 only inside
# an organisation the caller can already read.

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

    Raises ``NotFound`` when the organisation does not exist or the caller holds no role in it:
    the two cases look the same from outside.
    """
    if not user.is_authenticated:
        raise NotFound("No organisation with this slug.")
    role_rows = list(
        OrganizationRole.objects.filter(user=user, organization__slug=org_slug).select_related(
            "organization"
        )
    )
    if not role_rows:
        raise NotFound(f"No organisation with slug '{org_slug}'.")
    return OrgAccess(
        organization=role_rows[0].organization,
        user_id=user.pk,
        roles=frozenset(row.role for row in role_rows),
    )


def org_manage_access_check(*, access: OrgAccess, action: str) -> None:
    """Raises ``PermissionDenied`` unless the caller is an admin or change agent of the organisation."""
    if not access.can_manage:
        raise PermissionDenied(
            f"Only admins and change agents of '{access.organization.slug}' may {action}."
        )


def org_admin_access_check(*, access: OrgAccess, action: str) -> None:
    """Raises ``PermissionDenied`` unless the caller is an admin of the organisation."""
    if not access.is_admin:
        raise PermissionDenied(f"Only admins of '{access.organization.slug}' may {action}.")


def topology_write_access_check(*, access: OrgAccess) -> None:
    """Raises ``PermissionDenied`` when the caller cannot change any team's topology at all.

    Lets the API refuse leaders and members before it looks at the payload; which team an
    engineering manager may change is decided by ``team_topology_access_check``.
    """
    if not access.roles & TOPOLOGY_WRITER_ROLES:
        raise PermissionDenied(
            f"Only admins, change agents and engineering managers of "
            f"'{access.organization.slug}' may change team topology."
        )


def team_topology_access_check(*, access: OrgAccess, team: Team) -> None:
    """Raises ``PermissionDenied`` unless the caller may change ``team``'s topology.

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
    raise PermissionDenied(
        f"Only admins, change agents and the engineering manager of team '{team.slug}' may "
        "change its topology."
    )


def org_unit_list(*, organization: Organization) -> QuerySet[OrgUnit]:
    return (
        OrgUnit.objects.filter(organization=organization).select_related("parent").order_by("slug")
    )


def org_unit_get_for_user(*, access: OrgAccess, slug: str) -> OrgUnit:
    """The unit ``slug`` of the caller's organisation; ``NotFound`` otherwise."""
    return _get_or_404(org_unit_list(organization=access.organization), "unit", slug=slug)


def team_list(*, organization: Organization) -> QuerySet[Team]:
    return (
        Team.objects.filter(organization=organization)
        .select_related("unit", "manager")
        .order_by("slug")
    )


def team_get_for_user(*, access: OrgAccess, slug: str) -> Team:
    """The team ``slug`` of the caller's organisation; ``NotFound`` otherwise."""
    return _get_or_404(team_list(organization=access.organization), "team", slug=slug)


def person_list(*, organization: Organization) -> QuerySet[Person]:
    return Person.objects.filter(organization=organization).select_related("user").order_by("email")


def person_get_for_user(*, access: OrgAccess, person_id: int | str) -> Person:
    """The person ``person_id`` of the caller's organisation; ``NotFound`` otherwise."""
    return _get_or_404(person_list(organization=access.organization), "person", pk=person_id)


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("person", "team")
        .order_by("team__slug", "person__email")
    )


def membership_get_for_user(*, access: OrgAccess, membership_id: int | str) -> Membership:
    """The membership ``membership_id`` of the caller's organisation; ``NotFound`` otherwise."""
    return _get_or_404(
        membership_list(organization=access.organization), "membership", pk=membership_id
    )


def serves_link_list(*, organization: Organization) -> QuerySet[ServesLink]:
    return (
        ServesLink.objects.filter(organization=organization)
        .select_related("person", "team")
        .order_by("team__slug", "person__email")
    )


def serves_link_get_for_user(*, access: OrgAccess, serves_link_id: int | str) -> ServesLink:
    """The serves link ``serves_link_id`` of the caller's organisation; ``NotFound`` otherwise."""
    return _get_or_404(
        serves_link_list(organization=access.organization), "serves link", pk=serves_link_id
    )


def interaction_list(*, organization: Organization) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(organization=organization)
        .select_related("source", "target")
        .order_by("source__slug", "target__slug", "mode")
    )


def interaction_get_for_user(*, access: OrgAccess, interaction_id: int | str) -> Interaction:
    """The interaction ``interaction_id`` of the caller's organisation; ``NotFound`` otherwise."""
    return _get_or_404(
        interaction_list(organization=access.organization), "interaction", pk=interaction_id
    )


def organization_role_list(*, organization: Organization) -> QuerySet[OrganizationRole]:
    return (
        OrganizationRole.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__username", "role")
    )


def organization_role_get_for_user(*, access: OrgAccess, role_id: int | str) -> OrganizationRole:
    """The role grant ``role_id`` of the caller's organisation; ``NotFound`` otherwise."""
    return _get_or_404(organization_role_list(organization=access.organization), "role", pk=role_id)


def _get_or_404(queryset: QuerySet[_M], label: str, **lookup: Any) -> _M:
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        # ValueError/TypeError: a malformed id in the URL is as unknown as a missing one.
        raise NotFound(f"No {label} with this identifier in the organisation.") from None


def org_analysis_get(
    *, organization: Organization, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """The analysis report of ``organization`` now, or as it was at ``as_of``.

    ``analyze_snapshot(org_snapshot_get(...))``: the same fixed number of queries as
    ``org_snapshot_get`` whatever the organisation's size. The report is dated by ``as_of`` (or
    today, UTC). Raises ``teams.analysis.InvalidThresholdsError`` (a ``ValueError``) when the
    organisation's ``analysis_thresholds`` are invalid.
    """
    snapshot = org_snapshot_get(organization=organization, as_of=as_of)
    return analyze_snapshot(snapshot)
