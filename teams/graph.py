"""Plain data for the organisation graph, independent of Django.

``OrgSnapshot`` is what the selectors build from the database (live, or as of a past moment) in a
fixed number of queries; analysis and export work on it and on the networkx graphs built from it,
so they are tested without a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class UnitNode:
    slug: str
    name: str
    kind: str
    parent: str | None  # parent unit slug


@dataclass(frozen=True, slots=True)
class TeamNode:
    slug: str
    name: str
    type: str  # teams.models.TeamType value
    specialty: str = ""  # teams.models.Specialty value, ops silos only
    unit: str | None = None  # unit slug
    manager: str | None = None  # e-mail of the engineering manager
    description: str = ""
    # The services the team owns, as sorted Backstage entity refs "kind:slug"
    # (kind: teams.models.ServiceKind value), e.g. ("api:orders", "component:checkout").
    services: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PersonNode:
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class MembershipEdge:
    person: str  # e-mail
    team: str  # team slug
    role: str  # teams.models.MembershipRole value
    allocation_percent: int = 100


@dataclass(frozen=True, slots=True)
class ServesEdge:
    person: str  # e-mail
    team: str  # team slug
    note: str = ""


@dataclass(frozen=True, slots=True)
class InteractionEdge:
    """``source`` works with ``target``; for a ticket dependency, source's work waits on target."""

    source: str  # team slug
    target: str  # team slug
    mode: str  # teams.models.InteractionMode value
    since: dt.date | None = None
    expected_end: dt.date | None = None
    severity: str = ""  # teams.models.Severity value, ticket dependencies only
    note: str = ""


@dataclass(frozen=True, slots=True)
class ServiceNode:
    """A service ``owner`` (a team slug) owns, as read by an importer: a Backstage Component,
    System or API (``spec.owner``), an org file's or a TeamAPI file's ``services``."""

    kind: str  # teams.models.ServiceKind value
    slug: str
    owner: str  # team slug
    name: str = ""

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.slug}"


@dataclass(slots=True)
class OrgSnapshot:
    """The whole topology of one organisation at one moment, as plain values."""

    organization: str  # slug
    name: str
    as_of: dt.datetime
    units: list[UnitNode] = field(default_factory=list)
    teams: list[TeamNode] = field(default_factory=list)
    people: list[PersonNode] = field(default_factory=list)
    memberships: list[MembershipEdge] = field(default_factory=list)
    serves: list[ServesEdge] = field(default_factory=list)
    interactions: list[InteractionEdge] = field(default_factory=list)
    thresholds: dict[str, object] = field(default_factory=dict)
