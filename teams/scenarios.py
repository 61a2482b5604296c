"""Scenarios: target-topology changes, applied to an ``OrgSnapshot`` without touching the database.

A scenario is an ordered list of changes (``Change``: create, merge or split a team, move a person,
change an interaction's mode or expected end, add a DevOps buddy or a product owner, remove a
member, change a member's role). ``apply_changes`` returns the
snapshot as it would look after them, so the analysis can be run before and after (the preview),
and ``snapshot_diff`` says which rows differ, so that enacting a scenario writes exactly what the
preview showed (``teams.services.topology_changes_enact``). Pure: nothing here imports Django.
The vocabulary, with a JSON example of each change, is documented in docs/scenarios.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from teams.graph import InteractionEdge, MembershipEdge, OrgSnapshot, ServesEdge, TeamNode

# Mirrors of teams.models vocabularies (this module must not import Django); a test pins them.
TeamTypeName = Literal[
    "stream_aligned",
    "platform",
    "enabling",
    "complicated_subsystem",
    "ops_silo",
    "unclassified",
]
SpecialtyName = Literal["", "database", "networking", "backend_ops", "security", "other"]
ModeName = Literal["collaboration", "x_as_a_service", "facilitating", "ticket_dependency"]
SeverityName = Literal["", "blocking", "slowing", "ok"]
RoleName = Literal["member", "lead", "devops_buddy", "product_owner"]

OPS_SILO = "ops_silo"
TICKET_DEPENDENCY = "ticket_dependency"
# Modes that are meant to end, so an expected end date makes sense for them (docs/analysis.md).
TEMPORARY_MODES = frozenset({"collaboration", "facilitating"})
# When two memberships of one person collapse into one (a merge), the role kept is the first of
# these the person held: the more specific responsibility survives.
ROLE_PRECEDENCE: tuple[str, ...] = ("lead", "product_owner", "devops_buddy", "member")
SEVERITY_PRECEDENCE: tuple[str, ...] = ("blocking", "slowing", "ok", "")

Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Allocation = Annotated[int, Field(ge=1, le=100)]


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _lower(value: Any) -> Any:
    """E-mails are stored lower-case (teams.services); compare them the same way."""
    return value.strip().lower() if isinstance(value, str) else value


def _specialty_rule(team_type: str | None, specialty: str) -> None:
    if specialty and team_type != OPS_SILO:
        raise ValueError("specialty: only ops_silo teams have a specialty")


class CreateTeam(_Change):
    """A new, empty team."""

    kind: Literal["create_team"]
    slug: Slug
    name: Name
    type: TeamTypeName
    specialty: SpecialtyName = ""
    unit: Slug | None = None
    description: str = ""

    @model_validator(mode="after")
    def _specialty(self) -> CreateTeam:
        _specialty_rule(self.type, self.specialty)
        return self


class MergeTeams(_Change):
    """Merge ``teams`` into ``into`` (one of them, kept, or a new slug); the others are removed."""

    kind: Literal["merge_teams"]
    teams: list[Slug] = Field(min_length=2)
    into: Slug
    name: Name | None = None
    type: TeamTypeName | None = None
    specialty: SpecialtyName | None = None

    @field_validator("teams")
    @classmethod
    def _distinct(cls, teams: list[str]) -> list[str]:
        repeated = sorted({slug for slug in teams if teams.count(slug) > 1})
        if repeated:
            raise ValueError(f"team '{repeated[0]}' is listed more than once")
        return teams

    @model_validator(mode="after")
    def _specialty(self) -> MergeTeams:
        if self.specialty and self.type is not None:
            _specialty_rule(self.type, self.specialty)
        return self


class SplitPart(BaseModel):
    """One new team carved out of a split, with the members who move to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: Slug
    name: Name
    type: TeamTypeName | None = None
    specialty: SpecialtyName | None = None
    members: list[Email] = Field(min_length=1)

    @field_validator("members", mode="before")
    @classmethod
    def _lower_members(cls, value: Any) -> Any:
        return [_lower(item) for item in value] if isinstance(value, list) else value


class SplitTeam(_Change):
    """Carve new teams out of ``team``: the listed members move, the others stay."""

    kind: Literal["split_team"]
    team: Slug
    into: list[SplitPart] = Field(min_length=1)


class MovePerson(_Change):
    """Move ``person`` from ``from_team`` (omitted: they join without leaving) to ``to_team``."""

    kind: Literal["move_person"]
    person: Email
    from_team: Slug | None = None
    to_team: Slug
    role: RoleName | None = None
    allocation_percent: Allocation | None = None

    @field_validator("person", mode="before")
    @classmethod
    def _lower_person(cls, value: Any) -> Any:
        return _lower(value)


class ChangeInteractionMode(_Change):
    """Turn the ``from_mode`` interaction of ``source`` with ``target`` into ``to_mode``."""

    kind: Literal["change_interaction_mode"]
    source: Slug
    target: Slug
    from_mode: ModeName
    to_mode: ModeName
    severity: SeverityName | None = None
    since: dt.date | None = None
    expected_end: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ChangeInteractionMode:
        if self.from_mode == self.to_mode:
            raise ValueError("to_mode: must differ from from_mode")
        if self.severity and self.to_mode != TICKET_DEPENDENCY:
            raise ValueError("severity: only ticket dependencies have a severity")
        if self.expected_end is not None and self.to_mode not in TEMPORARY_MODES:
            raise ValueError("expected_end: only collaboration and facilitating have an end")
        return self


class AddDevopsBuddy(_Change):
    """``person`` becomes ``team``'s DevOps buddy (joining the team if not yet a member)."""

    kind: Literal["add_devops_buddy"]
    team: Slug
    person: Email
    allocation_percent: Allocation | None = None

    @field_validator("person", mode="before")
    @classmethod
    def _lower_person(cls, value: Any) -> Any:
        return _lower(value)


class AddProductOwner(_Change):
    """``person`` becomes ``team``'s product owner (joining the team if not yet a member)."""

    kind: Literal["add_product_owner"]
    team: Slug
    person: Email
    allocation_percent: Allocation | None = None

    @field_validator("person", mode="before")
    @classmethod
    def _lower_person(cls, value: Any) -> Any:
        return _lower(value)


class RemovePerson(_Change):
    """``person`` leaves ``team`` (a topology correction: they are no longer a member)."""

    kind: Literal["remove_person"]
    team: Slug
    person: Email

    @field_validator("person", mode="before")
    @classmethod
    def _lower_person(cls, value: Any) -> Any:
        return _lower(value)


class ChangeRole(_Change):
    """``person``, a member of ``team``, now holds ``role`` there (and ``allocation_percent``)."""

    kind: Literal["change_role"]
    team: Slug
    person: Email
    role: RoleName
    allocation_percent: Allocation | None = None

    @field_validator("person", mode="before")
    @classmethod
    def _lower_person(cls, value: Any) -> Any:
        return _lower(value)


class ChangeInteractionEnd(_Change):
    """The ``mode`` interaction of ``source`` with ``target`` is now expected to end on
    ``expected_end`` (None: no planned end). Only temporary modes have an end."""

    kind: Literal["change_interaction_end"]
    source: Slug
    target: Slug
    mode: ModeName
    expected_end: dt.date | None = None

    @model_validator(mode="after")
    def _temporary(self) -> ChangeInteractionEnd:
        if self.expected_end is not None and self.mode not in TEMPORARY_MODES:
            raise ValueError("expected_end: only collaboration and facilitating have an end")
        return self


Change = Annotated[
    CreateTeam
    | MergeTeams
    | SplitTeam
    | MovePerson
    | ChangeInteractionMode
    | AddDevopsBuddy
    | AddProductOwner
    | RemovePerson
    | ChangeRole
    | ChangeInteractionEnd,
    Field(discriminator="kind"),
]
CHANGE_KINDS: tuple[str, ...] = (
    "create_team",
    "merge_teams",
    "split_team",
    "move_person",
    "change_interaction_mode",
    "add_devops_buddy",
    "add_product_owner",
    "remove_person",
    "change_role",
    "change_interaction_end",
)
change_adapter: TypeAdapter[Change] = TypeAdapter(Change)


def change_parse(data: Any) -> Change:
    """The change described by ``data`` (a JSON object); raises ``pydantic.ValidationError``."""
    return change_adapter.validate_python(data)


def change_json(change: Change) -> dict[str, Any]:
    """``change`` as the JSON object it is stored as (defaults left out, so it reads as written)."""
    dumped: dict[str, Any] = change.model_dump(mode="json", exclude_defaults=True)
    dumped["kind"] = change.kind  # a default-valued discriminator would be dropped otherwise
    return dumped


def change_json_schema() -> dict[str, Any]:
    return change_adapter.json_schema()


class ScenarioError(ValueError):
    """Change number ``index`` (0-based, in the list given) cannot apply; ``message`` says why."""

    def __init__(self, index: int, kind: str, message: str) -> None:
        super().__init__(f"change {index + 1} ({kind}): {message}")
        self.index = index
        self.kind = kind
        self.message = message


class _Graph:
    """A mutable, keyed copy of a snapshot's teams and edges while changes are applied."""

    def __init__(self, snapshot: OrgSnapshot) -> None:
        self.people = {person.email for person in snapshot.people}
        self.units = {unit.slug for unit in snapshot.units}
        self.teams: dict[str, TeamNode] = {team.slug: team for team in snapshot.teams}
        self.memberships: dict[tuple[str, str], MembershipEdge] = {
            (edge.team, edge.person): edge for edge in snapshot.memberships
        }
        self.serves: dict[tuple[str, str], ServesEdge] = {
            (edge.team, edge.person): edge for edge in snapshot.serves
        }
        self.interactions: dict[tuple[str, str, str], InteractionEdge] = {
            (edge.source, edge.target, edge.mode): edge for edge in snapshot.interactions
        }

    def snapshot(self, original: OrgSnapshot) -> OrgSnapshot:
        return dataclasses.replace(
            original,
            units=list(original.units),
            people=list(original.people),
            teams=sorted(self.teams.values(), key=lambda team: team.slug),
            memberships=sorted(self.memberships.values(), key=lambda e: (e.team, e.person)),
            serves=sorted(self.serves.values(), key=lambda e: (e.team, e.person)),
            interactions=sorted(
                self.interactions.values(), key=lambda e: (e.source, e.target, e.mode)
            ),
            thresholds=dict(original.thresholds),
        )

    def members_of(self, team: str) -> list[MembershipEdge]:
        return [edge for (slug, _p), edge in self.memberships.items() if slug == team]


class _Problem(Exception):
    """Raised inside one change; ``apply_changes`` turns it into a ``ScenarioError``."""


def apply_changes(snapshot: OrgSnapshot, changes: Sequence[Change]) -> OrgSnapshot:
    """The snapshot after ``changes``, applied in order; ``snapshot`` itself is left unchanged.

    Raises ``ScenarioError`` naming the first change that cannot apply (by its position, 1-based
    in the message, 0-based in ``index``) and why: an unknown team, unit or person, a slug
    already taken, a person who is not a member of the team they should leave, no such
    interaction, and so on. The rules of each change are in docs/scenarios.md.
    """
    graph = _Graph(snapshot)
    for index, change in enumerate(changes):
        try:
            _APPLY[change.kind](graph, change)
        except _Problem as exc:
            raise ScenarioError(index, change.kind, str(exc)) from None
    return graph.snapshot(snapshot)


def _require_team(graph: _Graph, slug: str, field: str = "team") -> TeamNode:
    team = graph.teams.get(slug)
    if team is None:
        raise _Problem(f"{field}: no team '{slug}'")
    return team


def _require_person(graph: _Graph, email: str) -> None:
    if email not in graph.people:
        raise _Problem(f"person: no person '{email}'")


def _require_free_slug(graph: _Graph, slug: str, field: str = "slug") -> None:
    if slug in graph.teams:
        raise _Problem(f"{field}: team slug '{slug}' is already taken")


def _specialty_for(team_type: str, specialty: str) -> str:
    return specialty if team_type == OPS_SILO else ""


def _apply_create_team(graph: _Graph, change: CreateTeam) -> None:
    _require_free_slug(graph, change.slug)
    if change.unit is not None and change.unit not in graph.units:
        raise _Problem(f"unit: no unit '{change.unit}'")
    graph.teams[change.slug] = TeamNode(
        slug=change.slug,
        name=change.name,
        type=change.type,
        specialty=change.specialty,
        unit=change.unit,
        description=change.description,
    )


def _apply_merge_teams(graph: _Graph, change: MergeTeams) -> None:
    merged = [_require_team(graph, slug, "teams") for slug in change.teams]
    if change.into in change.teams:
        kept = graph.teams[change.into]
        team_type = change.type or kept.type
        specialty = kept.specialty if change.specialty is None else change.specialty
        graph.teams[change.into] = dataclasses.replace(
            kept,
            name=change.name or kept.name,
            type=team_type,
            specialty=_specialty_for(team_type, specialty),
        )
    else:
        _require_free_slug(graph, change.into, "into")
        if change.name is None or change.type is None:
            raise _Problem(f"into: '{change.into}' is a new team, so name and type are required")
        first = merged[0]
        graph.teams[change.into] = TeamNode(
            slug=change.into,
            name=change.name,
            type=change.type,
            specialty=_specialty_for(change.type, change.specialty or ""),
            unit=first.unit,
            manager=first.manager,
        )
    if change.specialty and graph.teams[change.into].type != OPS_SILO:
        raise _Problem("specialty: only ops_silo teams have a specialty")
    absorbed = set(change.teams) - {change.into}
    _merge_edges(graph, sources=set(change.teams), into=change.into)
    for slug in absorbed:
        del graph.teams[slug]


def _merge_edges(graph: _Graph, *, sources: set[str], into: str) -> None:
    """Memberships, serves links, interactions and owned services of ``sources`` move to
    ``into`` (services as ``teams.lifecycle`` moves them when the merge is enacted).

    A person in several merged teams keeps one membership: the role first in
    ``ROLE_PRECEDENCE`` and the sum of the allocations, capped at 100 (the time they gave the
    separate teams now goes to one). Members no longer "serve" their own team. Interactions
    between merged teams disappear; two that become the same (source, target, mode) collapse
    into one with the most severe severity, the earliest start and the latest expected end.
    """
    services = {ref for slug in {*sources, into} for ref in graph.teams[slug].services}
    graph.teams[into] = dataclasses.replace(graph.teams[into], services=tuple(sorted(services)))

    memberships: dict[str, MembershipEdge] = {}
    for key in sorted(k for k in graph.memberships if k[0] in sources):
        edge = graph.memberships.pop(key)
        previous = memberships.get(edge.person)
        if previous is None:
            memberships[edge.person] = dataclasses.replace(edge, team=into)
        else:
            role = min(previous.role, edge.role, key=_rank(ROLE_PRECEDENCE))
            total = min(100, previous.allocation_percent + edge.allocation_percent)
            memberships[edge.person] = dataclasses.replace(
                previous, role=role, allocation_percent=total
            )
    for person, edge in memberships.items():
        graph.memberships[(into, person)] = edge

    for key in sorted(k for k in graph.serves if k[0] in sources):
        link = graph.serves.pop(key)
        if (into, link.person) not in graph.memberships and (into, link.person) not in graph.serves:
            graph.serves[(into, link.person)] = dataclasses.replace(link, team=into)

    moved = [
        graph.interactions.pop(key)
        for key in sorted(graph.interactions)
        if key[0] in sources or key[1] in sources
    ]
    for interaction in moved:
        source = into if interaction.source in sources else interaction.source
        target = into if interaction.target in sources else interaction.target
        if source == target:
            continue
        renamed = dataclasses.replace(interaction, source=source, target=target)
        existing = graph.interactions.get((source, target, interaction.mode))
        graph.interactions[(source, target, interaction.mode)] = (
            renamed if existing is None else _collapse(existing, renamed)
        )


def _rank(order: Sequence[str]) -> Any:
    return lambda value: order.index(value) if value in order else len(order)


def _collapse(first: InteractionEdge, second: InteractionEdge) -> InteractionEdge:
    starts = [day for day in (first.since, second.since) if day is not None]
    ends = [day for day in (first.expected_end, second.expected_end) if day is not None]
    return dataclasses.replace(
        first,
        severity=min(first.severity, second.severity, key=_rank(SEVERITY_PRECEDENCE)),
        since=min(starts) if starts else None,
        expected_end=max(ends) if ends else None,
    )


def _apply_split_team(graph: _Graph, change: SplitTeam) -> None:
    original = _require_team(graph, change.team)
    members = {edge.person: edge for edge in graph.members_of(change.team)}
    claimed: dict[str, str] = {}
    new_slugs: set[str] = set()
    for part in change.into:
        _require_free_slug(graph, part.slug, "into.slug")
        if part.slug in new_slugs:
            raise _Problem(f"into.slug: '{part.slug}' is listed more than once")
        new_slugs.add(part.slug)
        for email in part.members:
            if email not in members:
                raise _Problem(f"into.members: '{email}' is not a member of team '{change.team}'")
            if email in claimed:
                raise _Problem(
                    f"into.members: '{email}' is listed for both '{claimed[email]}' and "
                    f"'{part.slug}'"
                )
            claimed[email] = part.slug
    for part in change.into:
        team_type = part.type or original.type
        specialty = original.specialty if part.specialty is None else part.specialty
        if part.specialty and team_type != OPS_SILO:
            raise _Problem(f"into.specialty: '{part.slug}' is not an ops_silo team")
        graph.teams[part.slug] = TeamNode(
            slug=part.slug,
            name=part.name,
            type=team_type,
            specialty=_specialty_for(team_type, specialty),
            unit=original.unit,
            manager=original.manager,
        )
        for email in part.members:
            edge = graph.memberships.pop((change.team, email))
            graph.memberships[(part.slug, email)] = dataclasses.replace(edge, team=part.slug)


def _apply_move_person(graph: _Graph, change: MovePerson) -> None:
    _require_person(graph, change.person)
    _require_team(graph, change.to_team, "to_team")
    leaving: MembershipEdge | None = None
    if change.from_team is not None:
        _require_team(graph, change.from_team, "from_team")
        if change.from_team == change.to_team:
            raise _Problem("to_team: must differ from from_team")
        leaving = graph.memberships.get((change.from_team, change.person))
        if leaving is None:
            raise _Problem(
                f"from_team: '{change.person}' is not a member of team '{change.from_team}'"
            )
    if (change.to_team, change.person) in graph.memberships:
        raise _Problem(f"to_team: '{change.person}' is already a member of '{change.to_team}'")
    if leaving is not None:
        del graph.memberships[(leaving.team, leaving.person)]
    graph.memberships[(change.to_team, change.person)] = MembershipEdge(
        person=change.person,
        team=change.to_team,
        role=change.role or (leaving.role if leaving else "member"),
        allocation_percent=change.allocation_percent
        or (leaving.allocation_percent if leaving else 100),
    )


def _apply_change_interaction_mode(graph: _Graph, change: ChangeInteractionMode) -> None:
    _require_team(graph, change.source, "source")
    _require_team(graph, change.target, "target")
    edge = graph.interactions.get((change.source, change.target, change.from_mode))
    if edge is None:
        raise _Problem(
            f"from_mode: '{change.source}' has no {change.from_mode} interaction with "
            f"'{change.target}'"
        )
    if (change.source, change.target, change.to_mode) in graph.interactions:
        raise _Problem(
            f"to_mode: '{change.source}' already has a {change.to_mode} interaction with "
            f"'{change.target}'"
        )
    if change.to_mode == TICKET_DEPENDENCY:
        severity = edge.severity if change.severity is None else change.severity
    else:
        severity = ""
    since = change.since or edge.since
    if change.expected_end is not None:
        expected_end: dt.date | None = change.expected_end
    else:
        expected_end = edge.expected_end if change.to_mode in TEMPORARY_MODES else None
    if since is not None and expected_end is not None and expected_end < since:
        raise _Problem(
            f"expected_end: {expected_end.isoformat()} is before the start {since.isoformat()}"
        )
    del graph.interactions[(change.source, change.target, change.from_mode)]
    graph.interactions[(change.source, change.target, change.to_mode)] = dataclasses.replace(
        edge, mode=change.to_mode, severity=severity, since=since, expected_end=expected_end
    )


def _give_role(
    graph: _Graph, *, team: str, person: str, role: str, allocation_percent: int | None
) -> None:
    """The person holds ``role`` in ``team`` (a membership has one role: it replaces the old
    one); they join the team when not yet a member. Already holding it changes nothing."""
    _require_team(graph, team)
    _require_person(graph, person)
    current = graph.memberships.get((team, person))
    if current is None:
        graph.memberships[(team, person)] = MembershipEdge(
            person=person, team=team, role=role, allocation_percent=allocation_percent or 100
        )
        return
    graph.memberships[(team, person)] = dataclasses.replace(
        current,
        role=role,
        allocation_percent=allocation_percent or current.allocation_percent,
    )


def _apply_add_devops_buddy(graph: _Graph, change: AddDevopsBuddy) -> None:
    _give_role(
        graph,
        team=change.team,
        person=change.person,
        role="devops_buddy",
        allocation_percent=change.allocation_percent,
    )


def _apply_add_product_owner(graph: _Graph, change: AddProductOwner) -> None:
    _give_role(
        graph,
        team=change.team,
        person=change.person,
        role="product_owner",
        allocation_percent=change.allocation_percent,
    )


def _apply_remove_person(graph: _Graph, change: RemovePerson) -> None:
    _require_team(graph, change.team)
    _require_person(graph, change.person)
    if graph.memberships.pop((change.team, change.person), None) is None:
        raise _Problem(f"person: '{change.person}' is not a member of team '{change.team}'")


def _apply_change_role(graph: _Graph, change: ChangeRole) -> None:
    _require_team(graph, change.team)
    _require_person(graph, change.person)
    current = graph.memberships.get((change.team, change.person))
    if current is None:
        raise _Problem(f"person: '{change.person}' is not a member of team '{change.team}'")
    graph.memberships[(change.team, change.person)] = dataclasses.replace(
        current,
        role=change.role,
        allocation_percent=change.allocation_percent or current.allocation_percent,
    )


def _apply_change_interaction_end(graph: _Graph, change: ChangeInteractionEnd) -> None:
    _require_team(graph, change.source, "source")
    _require_team(graph, change.target, "target")
    edge = graph.interactions.get((change.source, change.target, change.mode))
    if edge is None:
        raise _Problem(
            f"mode: '{change.source}' has no {change.mode} interaction with '{change.target}'"
        )
    end = change.expected_end
    if edge.since is not None and end is not None and end < edge.since:
        raise _Problem(f"expected_end: {end.isoformat()} is before the start {edge.since}")
    graph.interactions[(change.source, change.target, change.mode)] = dataclasses.replace(
        edge, expected_end=end
    )


_APPLY: Mapping[str, Any] = {
    "create_team": _apply_create_team,
    "merge_teams": _apply_merge_teams,
    "split_team": _apply_split_team,
    "move_person": _apply_move_person,
    "change_interaction_mode": _apply_change_interaction_mode,
    "add_devops_buddy": _apply_add_devops_buddy,
    "add_product_owner": _apply_add_product_owner,
    "remove_person": _apply_remove_person,
    "change_role": _apply_change_role,
    "change_interaction_end": _apply_change_interaction_end,
}


@dataclass(frozen=True, slots=True)
class InteractionUpdate:
    """The same (source, target) pair's interaction, in a new mode or with new details."""

    before: InteractionEdge
    after: InteractionEdge


@dataclass(frozen=True, slots=True)
class TopologyDiff:
    """Which rows differ between two snapshots of one organisation (teams by slug, memberships
    and serves links by (team, person), interactions by (source, target, mode))."""

    teams_created: tuple[TeamNode, ...] = ()
    teams_updated: tuple[TeamNode, ...] = ()  # the new values
    teams_deleted: tuple[TeamNode, ...] = ()
    memberships_created: tuple[MembershipEdge, ...] = ()
    memberships_updated: tuple[MembershipEdge, ...] = ()
    memberships_deleted: tuple[MembershipEdge, ...] = ()
    serves_created: tuple[ServesEdge, ...] = ()
    serves_updated: tuple[ServesEdge, ...] = ()
    serves_deleted: tuple[ServesEdge, ...] = ()
    interactions_created: tuple[InteractionEdge, ...] = ()
    interactions_updated: tuple[InteractionUpdate, ...] = ()
    interactions_deleted: tuple[InteractionEdge, ...] = ()

    def summary(self) -> dict[str, list[str]]:
        """Readable labels of every row change, for events and API responses."""

        def member(edge: MembershipEdge | ServesEdge) -> str:
            return f"{edge.person} in {edge.team}"

        def link(edge: InteractionEdge) -> str:
            return f"{edge.source} -[{edge.mode}]-> {edge.target}"

        return {
            "teams_created": [team.slug for team in self.teams_created],
            "teams_updated": [team.slug for team in self.teams_updated],
            "teams_deleted": [team.slug for team in self.teams_deleted],
            "memberships_created": [member(e) for e in self.memberships_created],
            "memberships_updated": [member(e) for e in self.memberships_updated],
            "memberships_deleted": [member(e) for e in self.memberships_deleted],
            "serves_created": [member(e) for e in self.serves_created],
            "serves_updated": [member(e) for e in self.serves_updated],
            "serves_deleted": [member(e) for e in self.serves_deleted],
            "interactions_created": [link(e) for e in self.interactions_created],
            "interactions_updated": [
                f"{link(u.before)} => {u.after.mode}" for u in self.interactions_updated
            ],
            "interactions_deleted": [link(e) for e in self.interactions_deleted],
        }

    def words(self, *, before: OrgSnapshot, after: OrgSnapshot) -> dict[str, list[str]]:
        """The same changes as ``summary`` for people to read: teams and people by name,
        interaction modes and roles in words ("Chloe Martin joins Payments Squad as DevOps
        buddy", "Search Squad → Payments Squad (X-as-a-Service)")."""
        teams = {team.slug: team.name for team in [*before.teams, *after.teams]}
        people = {person.email: person.name for person in [*before.people, *after.people]}

        def team(slug: str) -> str:
            return teams.get(slug) or slug

        def person(email: str) -> str:
            return people.get(email) or email

        def words_of(value: str) -> str:
            return _WORDS.get(value, value.replace("_", " "))

        def member(edge: MembershipEdge) -> str:
            role = "" if edge.role == "member" else f" as {words_of(edge.role)}"
            share = "" if edge.allocation_percent == 100 else f" ({edge.allocation_percent}%)"
            return f"{person(edge.person)} in {team(edge.team)}{role}{share}"

        def serves(edge: ServesEdge) -> str:
            return f"{person(edge.person)} serving {team(edge.team)}"

        def link(edge: InteractionEdge) -> str:
            return f"{team(edge.source)} → {team(edge.target)} ({words_of(edge.mode)})"

        return {
            "teams_created": [f"{t.name} ({words_of(t.type)})" for t in self.teams_created],
            "teams_updated": [f"{t.name} ({words_of(t.type)})" for t in self.teams_updated],
            "teams_deleted": [t.name for t in self.teams_deleted],
            "memberships_created": [member(e) for e in self.memberships_created],
            "memberships_updated": [member(e) for e in self.memberships_updated],
            "memberships_deleted": [member(e) for e in self.memberships_deleted],
            "serves_created": [serves(e) for e in self.serves_created],
            "serves_updated": [serves(e) for e in self.serves_updated],
            "serves_deleted": [serves(e) for e in self.serves_deleted],
            "interactions_created": [link(e) for e in self.interactions_created],
            # Same pair and mode (the key): its severity, description or end changed.
            "interactions_updated": [
                f"{link(u.after)}, details changed" for u in self.interactions_updated
            ],
            "interactions_deleted": [link(e) for e in self.interactions_deleted],
        }

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in dataclasses.fields(self))


# Codes of the graph's vocabularies as people read them (``TopologyDiff.words``).
_WORDS: Mapping[str, str] = {
    "stream_aligned": "stream-aligned",
    "platform": "platform",
    "enabling": "enabling",
    "complicated_subsystem": "complicated subsystem",
    "ops_silo": "ops silo",
    "unclassified": "unclassified",
    "member": "member",
    "devops_buddy": "DevOps buddy",
    "product_owner": "product owner",
    "lead": "lead",
    "collaboration": "collaboration",
    "x_as_a_service": "X-as-a-Service",
    "facilitating": "facilitating",
    "ticket_dependency": "ticket dependency",
}


def _split(
    before: Iterable[Any], after: Iterable[Any], key: Any
) -> tuple[list[Any], list[Any], list[Any]]:
    """(created, updated: new values, deleted) between two collections keyed by ``key``."""
    old = {key(item): item for item in before}
    new = {key(item): item for item in after}
    created = [new[k] for k in sorted(new.keys() - old.keys())]
    deleted = [old[k] for k in sorted(old.keys() - new.keys())]
    updated = [new[k] for k in sorted(new.keys() & old.keys()) if new[k] != old[k]]
    return created, updated, deleted


def snapshot_diff(before: OrgSnapshot, after: OrgSnapshot) -> TopologyDiff:
    """The row changes that turn ``before`` into ``after`` (units and people are not compared:
    scenarios do not change them).

    An interaction whose pair (source, target) loses exactly one mode and gains exactly one is
    reported as an update of that row rather than a deletion and a creation, so the row's
    history shows the mode change.
    """
    teams = _split(before.teams, after.teams, lambda t: t.slug)
    memberships = _split(before.memberships, after.memberships, lambda e: (e.team, e.person))
    serves = _split(before.serves, after.serves, lambda e: (e.team, e.person))
    created, updated, deleted = _split(
        before.interactions, after.interactions, lambda e: (e.source, e.target, e.mode)
    )
    old = {(e.source, e.target, e.mode): e for e in before.interactions}
    updates = [
        InteractionUpdate(before=old[(e.source, e.target, e.mode)], after=e) for e in updated
    ]
    gained: dict[tuple[str, str], list[InteractionEdge]] = {}
    lost: dict[tuple[str, str], list[InteractionEdge]] = {}
    for edge in created:
        gained.setdefault((edge.source, edge.target), []).append(edge)
    for edge in deleted:
        lost.setdefault((edge.source, edge.target), []).append(edge)
    for pair in sorted(gained.keys() & lost.keys()):
        if len(gained[pair]) == 1 and len(lost[pair]) == 1:
            updates.append(InteractionUpdate(before=lost[pair][0], after=gained[pair][0]))
            created.remove(gained[pair][0])
            deleted.remove(lost[pair][0])
    return TopologyDiff(
        teams_created=tuple(teams[0]),
        teams_updated=tuple(teams[1]),
        teams_deleted=tuple(teams[2]),
        memberships_created=tuple(memberships[0]),
        memberships_updated=tuple(memberships[1]),
        memberships_deleted=tuple(memberships[2]),
        serves_created=tuple(serves[0]),
        serves_updated=tuple(serves[1]),
        serves_deleted=tuple(serves[2]),
        interactions_created=tuple(created),
        interactions_updated=tuple(updates),
        interactions_deleted=tuple(deleted),
    )
