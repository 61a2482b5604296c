"""The format-independent result of reading import files.

Each format's reader turns a file into entries of an ``ImportBundle``; every entry remembers its
``Origin`` (file, document, line) so that an error found later (an unknown team, a conflicting
duplicate) still names the place that caused it. Nothing touches the database until the whole
bundle has been read and checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from core.files.origin import ImportFailure, Origin
from teams.graph import (
    InteractionEdge,
    MembershipEdge,
    PersonNode,
    ServesEdge,
    ServiceNode,
    TeamNode,
    UnitNode,
)

T = TypeVar("T")

# The role of a membership read from a source that does not know roles (Backstage, a CSV row with
# an empty role): a new membership gets ``member``, an existing one keeps its role, and a role
# given by another file for the same membership wins.
NO_ROLE = ""


@dataclass(slots=True)
class Entry(Generic[T]):
    value: T
    origin: Origin


@dataclass(slots=True)
class ImportBundle:
    """Everything read from the import files, keyed the way the database keys it.

    ``add_*`` accept the same entry twice (e.g. one person in two Backstage namespaces) and refuse
    two different values for one key, naming both origins.
    """

    units: dict[str, Entry[UnitNode]] = field(default_factory=dict)
    teams: dict[str, Entry[TeamNode]] = field(default_factory=dict)
    people: dict[str, Entry[PersonNode]] = field(default_factory=dict)
    memberships: dict[tuple[str, str], Entry[MembershipEdge]] = field(default_factory=dict)
    serves: dict[tuple[str, str], Entry[ServesEdge]] = field(default_factory=dict)
    interactions: dict[tuple[str, str, str], Entry[InteractionEdge]] = field(default_factory=dict)
    # Services by (kind, slug), each with its owning team.
    services: dict[tuple[str, str], Entry[ServiceNode]] = field(default_factory=dict)
    # Team slugs that files refer to without defining (e.g. CSV rows): must exist in the bundle or
    # in the database when the bundle is applied.
    team_references: dict[str, Origin] = field(default_factory=dict)
    # The day each leaver left, by e-mail, from formats that know leavers (an org file's
    # ``left_on``, a CSV's ``left_on`` column). A person the files list without one is not
    # returned: see ``org_import_apply``.
    left_on: dict[str, Entry[dt.date]] = field(default_factory=dict)
    # Lines for the person importing, shown after a successful import: what a reader skipped on
    # purpose (e.g. Backstage kinds Transform has no place for, an entity defined twice alike).
    warnings: list[str] = field(default_factory=list)

    def add_unit(self, unit: UnitNode, origin: Origin) -> None:
        _add(self.units, unit.slug, unit, origin, "unit")

    def add_team(self, team: TeamNode, origin: Origin) -> None:
        _add(self.teams, team.slug, team, origin, "team")

    def add_person(self, person: PersonNode, origin: Origin) -> None:
        _add(self.people, person.email, person, origin, "person")

    def add_membership(self, membership: MembershipEdge, origin: Origin) -> None:
        key = (membership.person, membership.team)
        existing = self.memberships.get(key)
        if existing is not None and NO_ROLE in (existing.value.role, membership.role):
            with_role = membership if existing.value.role == NO_ROLE else existing.value
            without_role = existing.value if with_role is membership else membership
            if replace(without_role, role=with_role.role) == with_role:
                self.memberships[key] = Entry(
                    with_role, origin if with_role is membership else existing.origin
                )
                return
        _add(self.memberships, key, membership, origin, "membership")

    def add_serves(self, serves: ServesEdge, origin: Origin) -> None:
        _add(self.serves, (serves.person, serves.team), serves, origin, "serves link")

    def add_interaction(self, interaction: InteractionEdge, origin: Origin) -> None:
        key = (interaction.source, interaction.target, interaction.mode)
        _add(self.interactions, key, interaction, origin, "interaction")

    def add_service(self, service: ServiceNode, origin: Origin) -> None:
        _add(self.services, (service.kind, service.slug), service, origin, "service")

    def refer_to_team(self, slug: str, origin: Origin) -> None:
        self.team_references.setdefault(slug, origin)

    def add_leaver(self, email: str, left_on: dt.date, origin: Origin) -> None:
        _add(self.left_on, email, left_on, origin, "left_on of person")

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__slots__ if name != "warnings")

    def merge(self, other: ImportBundle) -> None:
        """Add every entry of ``other`` (same rules as ``add_*``) and its warnings."""
        self.warnings.extend(other.warnings)
        if self.is_empty():
            # The first file of an import: its entries are consistent already (its reader added
            # them one by one), so they are taken as they are.
            for name in self.__slots__:
                if name != "warnings":
                    getattr(self, name).update(getattr(other, name))
            return
        for unit in other.units.values():
            self.add_unit(unit.value, unit.origin)
        for team in other.teams.values():
            self.add_team(team.value, team.origin)
        for person in other.people.values():
            self.add_person(person.value, person.origin)
        for membership in other.memberships.values():
            self.add_membership(membership.value, membership.origin)
        for serves in other.serves.values():
            self.add_serves(serves.value, serves.origin)
        for interaction in other.interactions.values():
            self.add_interaction(interaction.value, interaction.origin)
        for service in other.services.values():
            self.add_service(service.value, service.origin)
        for slug, origin in other.team_references.items():
            self.refer_to_team(slug, origin)
        for email, left_on in other.left_on.items():
            self.add_leaver(email, left_on.value, left_on.origin)


def _add(entries: dict, key: object, value: object, origin: Origin, what: str) -> None:
    existing = entries.get(key)
    if existing is None:
        entries[key] = Entry(value, origin)
    elif existing.value != value:
        raise ImportFailure(
            origin,
            f"{what} {_show(key)} is defined differently at {existing.origin}",
        )


def _show(key: object) -> str:
    if isinstance(key, tuple):
        return "(" + ", ".join(repr(part) for part in key) + ")"
    return repr(key)
