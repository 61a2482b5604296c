"""Reads of the organisation graph. Selectors own query shape (select_related, only); the past
topology is read by ``teams.history``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import starmap
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast

from django.core.cache import cache
from django.db.models import (
    CharField,
    IntegerField,
    Model,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone

from teams import analysis, graph
from teams.analysis import analyze_snapshot, cyclic_gc_paused
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    TeamNode,
    UnitNode,
)
from teams.history import org_snapshot_at
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

# Which table a person-team link row of org_snapshot_get comes from.
_MEMBERSHIP = 0
_SERVES = 1
# Sort keys of org_snapshot_get's tuples: the slug or e-mail first; (team, person) of a link;
# (source, target, mode) of an interaction.
_BY_FIRST: Callable[[tuple[Any, ...]], Any] = itemgetter(0)
_BY_TEAM_PERSON: Callable[[tuple[Any, ...]], Any] = itemgetter(1, 0)
_BY_ENDS_AND_MODE: Callable[[tuple[Any, ...]], Any] = itemgetter(0, 1, 2)
_N = TypeVar("_N")


def _built(
    node: Callable[..., _N], rows: Iterable[tuple[Any, ...]], key: Callable[[tuple[Any, ...]], Any]
) -> list[_N]:
    """``node(*row)`` for each of ``rows`` sorted by ``key``: positional, the fast way to build
    many frozen dataclasses."""
    ordered: list[tuple[Any, ...]] = sorted(rows, key=key)
    return list(starmap(node, ordered))


def org_snapshot_get(
    *, organization: Organization, as_of: dt.datetime | None = None
) -> OrgSnapshot:
    """The topology of ``organization`` now, or as it was at ``as_of``.

    Now: a fixed number of queries (six) whatever the organisation's size. Rows are read as
    tuples and joined by id in Python; the nodes and edges are built positionally from sorted
    tuples (building them field by field from dictionaries was most of the time of a large
    snapshot). As of a moment: the replay of the history tables at that moment
    (``teams.history.org_snapshot_at``, seven queries), the one reader of past topology, so the
    graph as of a day and the burn-up's point of that day agree (ties of one ``history_date``
    included: the row written last counts).
    """
    if as_of is not None:
        return org_snapshot_at(organization=organization, moment=as_of)
    with cyclic_gc_paused():
        return _org_snapshot_read(organization=organization)


def _org_snapshot_read(*, organization: Organization) -> OrgSnapshot:
    moment = timezone.now()
    org_id = organization.pk

    def rows(model: Any, *fields: Any, live: Q | None = None) -> QuerySet[Any]:
        queryset = model.objects.filter(organization_id=org_id)
        if live is not None:
            queryset = queryset.filter(live)
        return queryset.order_by().values_list(*fields)

    # Retired teams and leavers are not part of the live graph.
    unit_rows = list(rows(OrgUnit, "id", "slug", "name", "kind", "parent_id"))
    team_rows = list(
        rows(
            Team,
            "id",
            "slug",
            "name",
            "type",
            "specialty",
            "unit_id",
            "manager_id",
            "description",
            live=Q(retired_at__isnull=True),
        )
    )
    person_rows = list(
        rows(
            Person,
            "id",
            "email",
            "name",
            live=Q(left_on__isnull=True) | Q(left_on__gt=moment.date()),
        )
    )
    # Memberships and serves links are both person-team links: one query for the two tables,
    # told apart by the first column (role and allocation of a membership, note of a link).
    link_rows = list(
        rows(
            Membership,
            Value(_MEMBERSHIP, output_field=IntegerField()),
            "person_id",
            "team_id",
            "role",
            "allocation_percent",
            Value("", output_field=CharField()),
        ).union(
            rows(
                ServesLink,
                Value(_SERVES, output_field=IntegerField()),
                "person_id",
                "team_id",
                Value("", output_field=CharField()),
                Value(0, output_field=IntegerField()),
                "note",
            ),
            all=True,
        )
    )
    interaction_rows = list(
        rows(
            Interaction,
            "source_id",
            "target_id",
            "mode",
            "since",
            "expected_end",
            "severity",
            "note",
        )
    )
    service_rows = list(rows(Service, "team_id", "kind", "slug"))

    services_of: dict[int, list[str]] = {}
    for team_id, kind, slug in service_rows:
        if team_id is not None:
            services_of.setdefault(team_id, []).append(f"{kind}:{slug}")
    unit_slug = {row[0]: row[1] for row in unit_rows}
    team_slug = {row[0]: row[1] for row in team_rows}
    email = {row[0]: row[1] for row in person_rows}

    memberships: list[tuple[Any, ...]] = []
    serves: list[tuple[Any, ...]] = []
    for kind, person_id, team_id, role, allocation, note in link_rows:
        person, team = email.get(person_id), team_slug.get(team_id)
        if person is None or team is None:
            continue
        if kind == _MEMBERSHIP:
            memberships.append((person, team, role, allocation))
        else:
            serves.append((person, team, note))
    interactions: list[tuple[Any, ...]] = [
        (team_slug[source], team_slug[target], *rest)
        for source, target, *rest in interaction_rows
        if source in team_slug and target in team_slug
    ]

    return OrgSnapshot(
        organization=organization.slug,
        name=organization.name,
        as_of=moment,
        thresholds=dict(organization.analysis_thresholds or {}),
        units=_built(
            UnitNode,
            (
                (slug, name, kind, unit_slug.get(parent))
                for _, slug, name, kind, parent in unit_rows
            ),
            _BY_FIRST,
        ),
        teams=_built(
            TeamNode,
            (
                (
                    slug,
                    name,
                    type_,
                    specialty,
                    unit_slug.get(unit_id),
                    email.get(manager_id),
                    description,
                    tuple(sorted(services_of.get(pk, ()))),
                )
                for pk, slug, name, type_, specialty, unit_id, manager_id, description in team_rows
            ),
            _BY_FIRST,
        ),
        people=_built(PersonNode, (row[1:] for row in person_rows), _BY_FIRST),
        memberships=_built(MembershipEdge, memberships, _BY_TEAM_PERSON),
        serves=_built(ServesEdge, serves, _BY_TEAM_PERSON),
        interactions=_built(InteractionEdge, interactions, _BY_ENDS_AND_MODE),
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


# The columns of the team and people list endpoints. The lists read them as rows (dicts) rather
# than model instances: building a thousand instances, and reading them field by field, was most
# of a 1,000-row page (issue 14). A relation is its slug or username, joined in the same query.
TEAM_ROW_FIELDS = (
    "slug",
    "name",
    "type",
    "specialty",
    "description",
    "unit__slug",
    "manager_id",
    "retired_at",
    "created_at",
    "updated_at",
)
PERSON_ROW_FIELDS = (
    "id",
    "email",
    "name",
    "user__username",
    "left_on",
    "time_zone",
    "created_at",
    "updated_at",
)


def team_list_rows(*, organization: Organization) -> QuerySet[Team, dict[str, Any]]:
    """The organisation's teams, retired ones included, by slug, as dicts of ``TEAM_ROW_FIELDS``
    in one query (``teams.filters.TeamFilter`` filters them as it filters ``team_list``)."""
    return team_list(organization=organization, include_retired=True).values(*TEAM_ROW_FIELDS)


def person_list_rows(*, organization: Organization) -> QuerySet[Person, dict[str, Any]]:
    """The organisation's people by e-mail, as dicts of ``PERSON_ROW_FIELDS`` in one query
    (``teams.filters.PersonFilter`` filters them as it filters ``person_list``)."""
    return person_list(organization=organization).values(*PERSON_ROW_FIELDS)


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


# The cached report depends on the code that computes it as well as on the data: a deployment
# with a changed analysis must not read reports the previous code stored in a shared cache.
_ANALYSIS_CODE = hashlib.sha256(
    b"".join(Path(module.__file__ or "").read_bytes() for module in (analysis, graph))
    + Path(__file__).read_bytes()
).hexdigest()[:12]
# A report is keyed by its day too, so it never outlives the day; the timeout only frees memory.
ANALYSIS_CACHE_TIMEOUT = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class AnalysisKey:
    """What a live analysis report of one organisation is a function of, but the day: its
    topology version, its threshold overrides and slug, and the analysis code."""

    organization_id: int
    version: str
    settings: str

    def at(self, day: dt.date) -> str:
        return (
            f"teams:analysis:{self.organization_id}:{self.version}:{self.settings}:"
            f"{day.isoformat()}"
        )


def analysis_derived_get(
    *, key: AnalysisKey, kind: str, content: Any, compute: Callable[[], _N]
) -> _N:
    """``compute()`` for something else made from today's live graph (a drawing, a preview,
    verdicts), cached as the analysis is: under ``key`` (read before the snapshot), today, its
    ``kind`` and a hash of the JSON ``content`` that it also depends on (filters, changes)."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    found = cache.get_or_set(
        f"{key.at(timezone.now().date())}:{kind}:{digest}", compute, ANALYSIS_CACHE_TIMEOUT
    )
    return cast(_N, found)


def org_analysis_key_get(*, organization: Organization) -> AnalysisKey:
    """The cache key of ``organization``'s live analysis: one query (its current
    ``topology_version``), to be run before the snapshot is read, so that a snapshot read after
    a write is never stored under the version from before it."""
    version = Organization.objects.values_list("topology_version", flat=True).get(
        pk=organization.pk
    )
    # The snapshot takes the thresholds and slug from this instance, so the key does too.
    settings = json.dumps(
        [organization.slug, organization.analysis_thresholds, _ANALYSIS_CODE],
        sort_keys=True,
        default=str,
    )
    return AnalysisKey(
        organization_id=organization.pk,
        version=str(version),
        settings=hashlib.sha256(settings.encode()).hexdigest()[:16],
    )


def snapshot_analysis_get(*, snapshot: OrgSnapshot, key: AnalysisKey | None) -> dict[str, Any]:
    """``analyze_snapshot(snapshot)``, from the cache when ``key`` (read before ``snapshot``, see
    ``org_analysis_key_get``) names a report already computed; without a key (a past moment, a
    scenario) always computed. Raises ``InvalidThresholdsError`` as ``analyze_snapshot`` does."""
    if key is None:
        return analyze_snapshot(snapshot)
    cache_key = key.at(snapshot.as_of.date())
    report: dict[str, Any] | None = cache.get(cache_key)
    if report is None:
        report = analyze_snapshot(snapshot)
        cache.set(cache_key, report, ANALYSIS_CACHE_TIMEOUT)
    return report


def org_analysis_get(
    *, organization: Organization, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """The analysis report of ``organization`` now, or as it was at ``as_of``.

    ``analyze_snapshot(org_snapshot_get(...))``. The live report is cached per topology version,
    thresholds and day (docs/analysis.md, "Cost and caching"): on a hit one query and no
    analysis, else seven queries; a past moment is always computed, in six queries. The report is
    dated by ``as_of`` (or today, UTC). Raises ``teams.analysis.InvalidThresholdsError`` (a
    ``ValueError``) when the organisation's ``analysis_thresholds`` are invalid.
    """
    if as_of is not None:
        return analyze_snapshot(org_snapshot_get(organization=organization, as_of=as_of))
    key = org_analysis_key_get(organization=organization)
    report: dict[str, Any] | None = cache.get(key.at(timezone.now().date()))
    if report is not None:
        return report
    return snapshot_analysis_get(snapshot=org_snapshot_get(organization=organization), key=key)
