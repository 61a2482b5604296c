"""The organisation's topology at past moments: the one reader of past topology.

``org_snapshot_at`` gives the graph at one moment (``org_snapshot_get(as_of=...)`` delegates to
it: the graph page as of a day, ``analyze_org --as-of``, ``export_org --as-of``, the API);
``org_snapshots_at`` gives it at many moments (the burn-up's weekly points over a year), with the
former silos of each. Both read each history table once, from the state at the first moment
(each object's latest row then) to the last moment, and replay the rows in time order, taking
the state at each moment: a fixed number of queries whatever the number of moments or the
organisation's size (seven for one moment; eight for many, with the lineage events), and no row
the first moment does not need. ``service_names_at`` reads the services' names the same way.

Each snapshot is the latest history row of each object at or before the moment, an object whose
latest row is a deletion left out, retired teams and leavers left out as the live graph leaves
them out: what simple-history's ``Model.history.as_of(moment)`` reads (the tests hold the two
together), but for one case. When two history rows of one object share a ``history_date`` (two
saves within the clock's resolution, or rows dated by hand), simple-history's ``as_of`` keeps
both and would show the object twice; the replay keeps one, the row written last (the higher
``history_id``), as the live table does. A graph with one node per object is what the share
rules count, so the replay does not copy the duplicate; and as one reader serves the graph as of
a day and the burn-up's point of that day, the two agree.

It also tells, per moment, the former silos: the live teams, by their slug at the moment, that
had been typed ops silo at any time up to it (whatever their type then) or that took over such a
team's work through a merge or a split recorded at or before it, chains followed. That is the
live rule of the exit criteria (``transform.plans.selectors.former_silos_get``,
``playbooks.criteria``) applied to the moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, F, OuterRef, Q, When

from teams.analysis import cyclic_gc_paused
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    OrgSnapshot,
    PersonNode,
    ServesEdge,
    ServiceNode,
    TeamNode,
    UnitNode,
)
from teams.models import (
    Interaction,
    LineageKind,
    Membership,
    Organization,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    Team,
    TeamLineageEvent,
    TeamType,
)

_DELETED = "-"


@dataclass(frozen=True, slots=True)
class PastTopology:
    """The organisation as it was at ``snapshot.as_of``; ``former_silos``: slugs (at that
    moment) of its live teams that had been typed ops silo at any time up to it, or that had
    taken over such a team's work through a merge or a split by then (chains followed)."""

    snapshot: OrgSnapshot
    former_silos: frozenset[str]


class _Replay:
    """One model's history rows in time order, and the state (id -> fields) they lead to.

    Only the rows that can matter from the first moment of ``window`` on are read: each
    object's latest row at or before it (the seed: the state there, ties of one date kept and
    settled by ``history_id``), every row after it up to the last moment, and the rows ``also``
    matches (a superseded row ``on_row`` must see). Replaying them in order gives the same state
    at each moment as replaying every row since the organisation began, which would read all
    of its history for a chart of a few weeks."""

    def __init__(
        self,
        model: Any,
        organization_id: int,
        window: tuple[dt.datetime, dt.datetime],
        *fields: str,
        also: Q | None = None,
    ):
        first, until = window
        later_by_first = model.history.filter(
            id=OuterRef("id"), history_date__gt=OuterRef("history_date"), history_date__lte=first
        )
        wanted: Any = Q(history_date__gt=first) | ~Exists(later_by_first)
        if also is not None:
            wanted |= also
        # A row dated at or before the first moment applies at every moment: its date is read
        # as NULL, so the bulk of a large organisation's rows (the seed) costs no datetime
        # parsing, which was most of the time of a one-moment read.
        later_date = Case(When(history_date__gt=first, then=F("history_date")), default=None)
        self.rows = list(
            model.history.filter(organization_id=organization_id, history_date__lte=until)
            .filter(wanted)
            .order_by("history_date", "history_id")
            .values_list(later_date, "history_type", "id", *fields)
        )
        self.position = 0
        self.state: dict[int, tuple[Any, ...]] = {}

    def advance(self, moment: dt.datetime, on_row: Any = None) -> dict[int, tuple[Any, ...]]:
        """The state at ``moment`` (rows dated at or before it applied); ``on_row(id, fields)``
        sees every row applied, deletions included."""
        rows = self.rows
        while self.position < len(rows) and (
            rows[self.position][0] is None or rows[self.position][0] <= moment
        ):
            _date, kind, pk, *fields = rows[self.position]
            if kind == _DELETED:
                self.state.pop(pk, None)
            else:
                self.state[pk] = tuple(fields)
            if on_row is not None:
                on_row(pk, fields)
            self.position += 1
        return self.state


def org_snapshots_at(
    *, organization: Organization, moments: Sequence[dt.datetime]
) -> list[PastTopology]:
    """The topology of ``organization`` at each of ``moments`` (any order; the result follows
    it), in eight queries whatever their number."""
    if not moments:
        return []
    with cyclic_gc_paused():
        return _replayed(organization=organization, moments=moments, lineage=True)


def org_snapshot_at(*, organization: Organization, moment: dt.datetime) -> OrgSnapshot:
    """The topology of ``organization`` at ``moment``: what ``org_snapshot_get(as_of=moment)``
    returns. Seven queries (one per history table) whatever the organisation's size; the
    lineage, which only the former silos need, is not read."""
    with cyclic_gc_paused():
        [past] = _replayed(organization=organization, moments=[moment], lineage=False)
    return past.snapshot


def service_names_at(*, organization: Organization, moment: dt.datetime) -> dict[str, str]:
    """Each service's name at ``moment`` by ref ``kind:slug`` (the snapshot holds refs only),
    in one query; the same rows as the snapshot's services (ties of one date settled alike)."""
    services = _Replay(Service, organization.pk, (moment, moment), "kind", "slug", "name")
    return {
        ServiceNode(kind, slug, "").ref: name
        for kind, slug, name in services.advance(moment).values()
    }


def _replayed(
    *, organization: Organization, moments: Sequence[dt.datetime], lineage: bool
) -> list[PastTopology]:
    """The topology at each of ``moments``; with ``lineage``, the former silos too (the lineage
    events and a team's superseded silo rows read), otherwise ``former_silos`` is left empty."""
    org_id = organization.pk
    until = max(moments)
    window = (min(moments), until)
    units = _Replay(OrgUnit, org_id, window, "slug", "name", "kind", "parent_id")
    teams = _Replay(
        Team,
        org_id,
        window,
        "slug",
        "name",
        "type",
        "specialty",
        "unit_id",
        "manager_id",
        "description",
        "retired_at",
        # A silo retyped before the first moment is a former silo.
        also=Q(type=TeamType.OPS_SILO) if lineage else None,
    )
    people = _Replay(Person, org_id, window, "email", "name", "left_on")
    memberships = _Replay(
        Membership, org_id, window, "person_id", "team_id", "role", "allocation_percent"
    )
    serves = _Replay(ServesLink, org_id, window, "person_id", "team_id", "note")
    interactions = _Replay(
        Interaction,
        org_id,
        window,
        "source_id",
        "target_id",
        "mode",
        "since",
        "expected_end",
        "severity",
        "note",
    )
    services = _Replay(Service, org_id, window, "team_id", "kind", "slug")

    # Hand-overs in time order: (when, predecessor id, successor id).
    handovers = (
        list(
            TeamLineageEvent.objects.filter(
                organization_id=org_id,
                kind__in=[LineageKind.MERGED, LineageKind.SPLIT],
                successor__isnull=False,
                occurred_at__lte=until,
            )
            .order_by("occurred_at", "id")
            .values_list("occurred_at", "team_id", "successor_id")
        )
        if lineage
        else []
    )
    handover_position = 0
    successors_of: dict[int, set[int]] = {}

    ever_silo_ids: set[int] = set()

    def note_silo(pk: int, fields: list[Any]) -> None:
        if fields and fields[2] == TeamType.OPS_SILO:
            ever_silo_ids.add(pk)

    found: dict[dt.datetime, PastTopology] = {}
    for moment in sorted(set(moments)):
        unit_state = units.advance(moment)
        team_state = teams.advance(moment, note_silo)
        while handover_position < len(handovers) and handovers[handover_position][0] <= moment:
            _when, predecessor, successor = handovers[handover_position]
            successors_of.setdefault(predecessor, set()).add(successor)
            handover_position += 1
        person_state = people.advance(moment)
        unit_slug = {pk: row[0] for pk, row in unit_state.items()}
        live_teams = {pk: row for pk, row in team_state.items() if row[7] is None}
        team_slug = {pk: row[0] for pk, row in live_teams.items()}
        day = moment.date()
        email = {pk: row[0] for pk, row in person_state.items() if row[2] is None or row[2] > day}
        services_of: dict[int, list[str]] = {}
        for team_id, kind, slug in services.advance(moment).values():
            if team_id is not None:
                services_of.setdefault(team_id, []).append(ServiceNode(kind, slug, "").ref)
        membership_edges = sorted(
            (
                MembershipEdge(email[person], team_slug[team], role, allocation)
                for person, team, role, allocation in memberships.advance(moment).values()
                if person in email and team in team_slug
            ),
            key=lambda edge: (edge.team, edge.person),
        )
        serves_edges = sorted(
            (
                ServesEdge(email[person], team_slug[team], note)
                for person, team, note in serves.advance(moment).values()
                if person in email and team in team_slug
            ),
            key=lambda edge: (edge.team, edge.person),
        )
        interaction_edges = sorted(
            (
                InteractionEdge(team_slug[source], team_slug[target], *rest)
                for source, target, *rest in interactions.advance(moment).values()
                if source in team_slug and target in team_slug
            ),
            key=lambda edge: (edge.source, edge.target, edge.mode),
        )
        snapshot = OrgSnapshot(
            organization=organization.slug,
            name=organization.name,
            as_of=moment,
            thresholds=dict(organization.analysis_thresholds or {}),
            units=sorted(
                (
                    UnitNode(slug, name, kind, unit_slug.get(parent))
                    for slug, name, kind, parent in unit_state.values()
                ),
                key=lambda node: node.slug,
            ),
            teams=sorted(
                (
                    TeamNode(
                        slug,
                        name,
                        type_,
                        specialty,
                        unit_slug.get(unit_id),
                        email.get(manager_id),
                        description,
                        tuple(sorted(services_of.get(pk, ()))),
                    )
                    for pk, (
                        slug,
                        name,
                        type_,
                        specialty,
                        unit_id,
                        manager_id,
                        description,
                        _retired,
                    ) in live_teams.items()
                ),
                key=lambda node: node.slug,
            ),
            people=sorted(
                (PersonNode(row[0], row[1]) for pk, row in person_state.items() if pk in email),
                key=lambda node: node.email,
            ),
            memberships=membership_edges,
            serves=serves_edges,
            interactions=interaction_edges,
        )
        former_silo_ids = _with_successors(ever_silo_ids, successors_of) if lineage else set()
        found[moment] = PastTopology(
            snapshot=snapshot,
            former_silos=frozenset(team_slug[pk] for pk in former_silo_ids if pk in team_slug),
        )
    return [found[moment] for moment in moments]


def _with_successors(team_ids: set[int], successors_of: dict[int, set[int]]) -> set[int]:
    """``team_ids`` and every team their work went to through the hand-overs ``successors_of``,
    chains followed (a silo merged into a team later split: both parts)."""
    found = set(team_ids)
    frontier = list(team_ids)
    while frontier:
        for successor in successors_of.get(frontier.pop(), ()):
            if successor not in found:
                found.add(successor)
                frontier.append(successor)
    return found
