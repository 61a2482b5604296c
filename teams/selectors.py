"""Reads of the organisation graph. Selectors own query shape (select_related, only, as-of)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, Prefetch, Q, QuerySet
from django.utils import timezone

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
    LineageKind,
    Membership,
    Organization,
    OrganizationRole,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    Team,
    TeamLineageEvent,
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

    def rows(model: Any, *fields: str, live: Q | None = None) -> list[dict[str, Any]]:
        if as_of is None:
            queryset = model.objects.filter(organization_id=org_id)
        else:
            queryset = model.history.as_of(as_of).filter(organization_id=org_id)
        if live is not None:
            queryset = queryset.filter(live)
        return list(queryset.values("id", *fields))

    # Retired teams and leavers are not part of the live graph: as of a moment before they
    # retired or left, their history rows still show them.
    unit_rows = rows(OrgUnit, "slug", "name", "kind", "parent_id")
    team_rows = rows(
        Team,
        "slug",
        "name",
        "type",
        "specialty",
        "unit_id",
        "manager_id",
        "description",
        live=Q(retired_at__isnull=True),
    )
    person_rows = rows(
        Person, "email", "name", live=Q(left_on__isnull=True) | Q(left_on__gt=moment.date())
    )
    membership_rows = rows(Membership, "person_id", "team_id", "role", "allocation_percent")
    serves_rows = rows(ServesLink, "person_id", "team_id", "note")
    interaction_rows = rows(
        Interaction, "source_id", "target_id", "mode", "since", "expected_end", "severity", "note"
    )

    service_rows = rows(Service, "team_id", "kind", "slug")

    services_of: dict[int, list[str]] = {}
    for row in service_rows:
        if row["team_id"] is not None:
            services_of.setdefault(row["team_id"], []).append(f"{row['kind']}:{row['slug']}")
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
                    services=tuple(sorted(services_of.get(row["id"], []))),
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


def org_unit_list(*, organization: Organization) -> QuerySet[OrgUnit]:
    return (
        OrgUnit.objects.filter(organization=organization).select_related("parent").order_by("slug")
    )


def team_list(*, organization: Organization, include_retired: bool = False) -> QuerySet[Team]:
    """The organisation's live teams by slug; with ``include_retired``, retired ones too."""
    manager = Team.all_objects if include_retired else Team.objects
    return (
        manager.filter(organization=organization).select_related("unit", "manager").order_by("slug")
    )


def team_by_slug(*, organization: Organization, slug: str) -> Team | None:
    """The organisation's live team ``slug``, or None."""
    return Team.objects.filter(organization=organization, slug=slug).first()


def team_lineage(*, team: Team) -> QuerySet[TeamLineageEvent]:
    """The team's lineage events and those of the teams merged or split into it, oldest first."""
    return (
        TeamLineageEvent.objects.filter(Q(team=team) | Q(successor=team))
        .select_related("team", "successor", "recorded_by")
        .order_by("occurred_at", "id")
    )


@dataclass(frozen=True)
class Predecessor:
    """A team whose work went into another: merged into it, or split into it, ``until`` then."""

    team: Team
    kind: str
    until: dt.datetime


def team_predecessors(*, team: Team) -> list[Predecessor]:
    """The teams whose work went into ``team`` through merges and splits, chains followed
    (a team merged into one that was later merged into ``team`` is listed too), oldest hand-over
    first. One query per generation; each team is listed once, at its latest hand-over."""
    return teams_predecessors(team_ids=[team.pk]).get(team.pk, [])


def teams_predecessors(*, team_ids: list[int]) -> dict[int, list[Predecessor]]:
    """``team_predecessors`` of several teams at once (by team id; a team without predecessors
    has no key): one query per generation, whatever the number of teams."""
    roots_of: dict[int, set[int]] = {team_id: {team_id} for team_id in team_ids}
    seen: dict[int, set[int]] = {team_id: {team_id} for team_id in team_ids}
    found: dict[int, list[Predecessor]] = {}
    frontier = list(team_ids)
    while frontier:
        events = (
            TeamLineageEvent.objects.filter(
                successor_id__in=frontier, kind__in=[LineageKind.MERGED, LineageKind.SPLIT]
            )
            .select_related("team")
            .order_by("-occurred_at", "-id")
        )
        reached: dict[int, set[int]] = {}
        for event in events:
            assert event.successor_id is not None
            for root in roots_of[event.successor_id]:
                if event.team_id in seen[root]:
                    continue
                seen[root].add(event.team_id)
                found.setdefault(root, []).append(
                    Predecessor(team=event.team, kind=event.kind, until=event.occurred_at)
                )
                reached.setdefault(event.team_id, set()).add(root)
        roots_of = reached
        frontier = list(reached)
    return {
        root: sorted(items, key=lambda item: (item.until, item.team.slug))
        for root, items in found.items()
    }


@dataclass(frozen=True)
class TeamAttribution:
    """How evidence names teams over time, for one organisation.

    Every team is here, retired ones included, by id and slug; a renamed team also answers to
    its old slugs (unless another team has taken one since). A team merged into another hands
    its work over at the merge: evidence dated at or after that moment counts under the
    successor (chains followed), evidence dated before stays the merged team's. A split hands
    nothing over by itself: a retired parent's later evidence stays the parent's (which part it
    belongs to cannot be known). docs/scenarios.md, "Lineage", states the rule.
    """

    slug_of: dict[int, str]
    id_of: dict[str, int]
    merged_into: dict[int, tuple[dt.datetime, int]]

    def team_id_for(self, slug: str) -> int | None:
        """The team a slug names, current or former; None for a slug the organisation never knew."""
        return self.id_of.get(slug)

    def team_id_at(self, team_id: int, at: dt.datetime) -> int:
        """The team ``team_id``'s evidence dated ``at`` counts under."""
        seen = {team_id}
        while (handover := self.merged_into.get(team_id)) is not None and at >= handover[0]:
            team_id = handover[1]
            if team_id in seen:  # a cycle cannot be recorded, but never loop on one
                break
            seen.add(team_id)
        return team_id

    def successors_of(self, team_id: int) -> list[int]:
        """The teams ``team_id``'s work went to through merges, nearest first."""
        found: list[int] = []
        while (handover := self.merged_into.get(team_id)) is not None:
            team_id = handover[1]
            if team_id in found:
                break
            found.append(team_id)
        return found


def team_attribution(*, organization: Organization) -> TeamAttribution:
    """The organisation's ``TeamAttribution``: two queries, whatever its size."""
    slug_of = dict(
        Team.all_objects.filter(organization=organization).values_list("id", "slug").order_by()
    )
    id_of = {slug: team_id for team_id, slug in slug_of.items()}
    merged_into: dict[int, tuple[dt.datetime, int]] = {}
    events = TeamLineageEvent.objects.filter(
        organization=organization, kind__in=[LineageKind.RENAMED, LineageKind.MERGED]
    ).order_by("occurred_at", "id")
    for kind, team_id, successor_id, occurred_at, old_slug in events.values_list(
        "kind", "team_id", "successor_id", "occurred_at", "old_slug"
    ):
        if kind == LineageKind.RENAMED:
            id_of.setdefault(old_slug, team_id)
        elif successor_id is not None:
            merged_into[team_id] = (occurred_at, successor_id)
    return TeamAttribution(slug_of=slug_of, id_of=id_of, merged_into=merged_into)


def teams_with_topology(teams: QuerySet[Team]) -> QuerySet[Team]:
    """``teams`` by slug with their manager, members, serves links and the interactions they are
    the source of: four queries whatever the number of teams."""
    return (
        teams.select_related("manager")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("person").order_by("person__email"),
            ),
            Prefetch(
                "served_by",
                queryset=ServesLink.objects.select_related("person").order_by("person__email"),
            ),
            Prefetch(
                "outgoing_interactions",
                queryset=Interaction.objects.select_related("target").order_by(
                    "target__slug", "mode"
                ),
            ),
        )
        .order_by("slug")
    )


def person_of_user(*, organization: Organization, user_id: int) -> Person | None:
    """The Person the login ``user_id`` acts as in the organisation (the first by e-mail)."""
    return (
        Person.objects.filter(organization=organization, user_id=user_id).order_by("email").first()
    )


def person_list(*, organization: Organization) -> QuerySet[Person]:
    return Person.objects.filter(organization=organization).select_related("user").order_by("email")


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("person", "team")
        .order_by("team__slug", "person__email")
    )


def serves_link_list(*, organization: Organization) -> QuerySet[ServesLink]:
    return (
        ServesLink.objects.filter(organization=organization)
        .select_related("person", "team")
        .order_by("team__slug", "person__email")
    )


def interaction_list(*, organization: Organization) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(organization=organization)
        .select_related("source", "target")
        .order_by("source__slug", "target__slug", "mode")
    )


def organization_role_list(*, organization: Organization) -> QuerySet[OrganizationRole]:
    return (
        OrganizationRole.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__username", "role")
    )


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
