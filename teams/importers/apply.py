"""Writes an ImportBundle into an organisation: all or nothing, upsert only, with history.

``org_import_apply`` first checks every entry on its own (the rules the models enforce) and every
reference (against the bundle and the organisation's rows), reporting each problem at the entry's
origin; only then does it write, in one transaction. It creates what is missing, updates what
differs and leaves identical rows alone (so importing the same files twice writes nothing and adds
no history). It never deletes: a file describes what it knows, not the whole organisation. Asked
to ``prune``, it takes the files as the whole organisation and retires the teams they leave out
and marks the people they leave out as leavers (``teams.lifecycle``), still deleting nothing.

The query count depends on the number of models, not of rows: the organisation's existing rows
are loaded with one query per model (an ``__in`` lookup over thousands of keys would hit SQLite's
variable limit); new rows and their history rows go in with ``teams.importers.bulk`` (``COPY`` on
PostgreSQL), changed rows through django-simple-history's ``bulk_update_with_history`` in
batches, each with its history row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_slug
from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from core.errors import ConflictError
from core.files.origin import ImportFailure, Origin
from core.identifiers import email_is_valid
from teams.graph import PersonNode
from teams.importers.bulk import collector_paused, insert_with_history
from teams.importers.bundle import Entry, ImportBundle
from teams.importers.reader import YAML_SUFFIXES, read_import_files
from teams.lifecycle import departure_holds, person_leave, team_retire
from teams.models import (
    Interaction,
    InteractionMode,
    Membership,
    MembershipRole,
    Organization,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    ServiceKind,
    Severity,
    Specialty,
    Team,
    TeamType,
    topology_changed,
)
from teams.zones import organization_today

# Rows per INSERT/UPDATE statement; Django lowers it further where the database needs it
# (SQLite's 999 variables per statement).
BATCH_SIZE = 1000
# More problems than this are summarised: the first ones are what the author fixes.
MAX_PROBLEMS_SHOWN = 20
KINDS = ("units", "teams", "people", "memberships", "serves", "interactions", "services")
# The choices, listed once: ``TextChoices.values`` builds a new list on every call.
_TEAM_TYPES = TeamType.values
_SPECIALTIES = Specialty.values
_ROLES = MembershipRole.values
_MEMBER = MembershipRole.MEMBER.value
_MODES = InteractionMode.values
_SEVERITIES = Severity.values
_SERVICE_KINDS = ServiceKind.values

_M = TypeVar("_M", bound=models.Model)


@dataclass(slots=True)
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class ImportResult:
    """What an import did, per kind of row: created, updated, left unchanged; and who left or was
    retired: ``left`` (e-mails given a ``left_on`` by the files), and with ``prune`` the teams
    ``retired`` and people ``pruned`` (marked as leavers) because ``source`` leaves them out."""

    organization: str
    counts: dict[str, KindCounts] = field(
        default_factory=lambda: {kind: KindCounts() for kind in KINDS}
    )
    source: str = "the imported files"
    left: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    # What the readers skipped on purpose (``ImportBundle.warnings``), shown after the counts.
    warnings: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(counts.created for counts in self.counts.values())

    @property
    def updated(self) -> int:
        return sum(counts.updated for counts in self.counts.values())

    @property
    def unchanged(self) -> int:
        return sum(counts.unchanged for counts in self.counts.values())

    def summary(self) -> str:
        """One line per kind, then the totals, e.g. ``teams: 3 created, 1 updated, 8 unchanged``."""
        width = max(len(kind) for kind in KINDS)
        lines = [f"Imported into organisation '{self.organization}':"]
        for kind in KINDS:
            counts = self.counts[kind]
            lines.append(
                f"  {kind + ':':<{width + 1}} {counts.created} created, "
                f"{counts.updated} updated, {counts.unchanged} unchanged"
            )
        lines.append(
            f"  {'total:':<{width + 1}} {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.left:
            lines.append(
                f"Recorded {_count(self.left, 'leaver')} from left_on: {', '.join(self.left)}"
            )
        if self.retired:
            lines.append(
                f"Retired {_count(self.retired, 'team')} not in {self.source}: "
                f"{', '.join(self.retired)}"
            )
        if self.pruned:
            lines.append(
                f"Marked {_count(self.pruned, 'person', 'people')} as leavers, not in "
                f"{self.source}: {', '.join(self.pruned)}"
            )
        lines.extend(f"Warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)


def _count(items: Sequence[object], one: str, many: str = "") -> str:
    return f"{len(items)} {one if len(items) == 1 else (many or one + 's')}"


def org_import_files(
    *,
    slug: str,
    paths: Sequence[Path],
    name: str | None = None,
    change_reason: str = "import",
    user: AbstractBaseUser | None = None,
    prune: bool = False,
) -> ImportResult:
    """Read ``paths`` and import them into organisation ``slug`` (created if missing, see
    ``import_organization_upsert``), all in one transaction. With ``prune``, the files are the
    whole organisation: see ``org_import_apply``.

    Raises ImportFailure naming the file and line of the first problem; nothing is written then,
    not even the organisation. JSON and org-format YAML files are first read with C parsers
    (``read_import_files(fast=True)``); on a failure they are read again with line numbers so
    that the message names the line.
    """
    try:
        return _import_files(slug, paths, name, change_reason, user, prune, fast=True)
    except ImportFailure:
        if not any(Path(path).suffix.lower() in YAML_SUFFIXES for path in paths):
            raise
    # Same files, same checks: fails again, now with every entry's line known.
    return _import_files(slug, paths, name, change_reason, user, prune, fast=False)


@transaction.atomic
def _import_files(
    slug: str,
    paths: Sequence[Path],
    name: str | None,
    change_reason: str,
    user: AbstractBaseUser | None,
    prune: bool,
    *,
    fast: bool,
) -> ImportResult:
    # Paused from the read to the last write, not only during each (see collector_paused).
    with collector_paused():
        bundle = read_import_files(paths, fast=fast)
        organization = import_organization_upsert(slug=slug, name=name)
        return org_import_apply(
            organization=organization,
            bundle=bundle,
            change_reason=change_reason,
            user=user,
            prune=prune,
            source=", ".join(str(path) for path in paths),
        )


@transaction.atomic
def import_organization_upsert(*, slug: str, name: str | None = None) -> Organization:
    """The organisation ``slug``, created if missing (named ``name``, else the slug); an existing
    one is renamed when ``name`` is given and differs. ImportFailure for an invalid slug."""
    try:
        validate_slug(slug)
    except DjangoValidationError:
        raise ImportFailure(
            None,
            f"organisation slug {slug!r} is not valid; expected letters, digits, hyphens and "
            "underscores",
        ) from None
    if name is not None and not 1 <= len(name) <= 200:
        raise ImportFailure(None, "organisation name: expected 1 to 200 characters")
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        organization = Organization(slug=slug, name=name or slug)
        organization.save()
    elif name is not None and organization.name != name:
        organization.name = name
        organization.save(update_fields=["name", "updated_at"])
    return organization


@transaction.atomic
def org_import_apply(
    *,
    organization: Organization,
    bundle: ImportBundle,
    change_reason: str = "import",
    user: AbstractBaseUser | None = None,
    prune: bool = False,
    source: str = "the imported files",
) -> ImportResult:
    """Create and update ``organization``'s rows so that they hold everything in ``bundle``.

    People with a ``left_on`` become leavers on that day (``person_leave``; new ones are created
    as leavers); a leaver stays one even when the bundle lists them without it. Retired teams
    stay retired. With ``prune`` the bundle (read from ``source``, the files' names) is the whole
    organisation: its live teams that the bundle leaves out are retired (``team_retire``, source
    ``import``) and its people it leaves out are marked as leavers today; nothing is deleted.

    Raises ImportFailure, naming the entry's origin, for a row that breaks a model rule (a
    ``left_on`` after today too), a reference to a unit, team or person found neither in the
    bundle nor in the organisation (with ``prune``: not in the bundle), a membership, served-by
    link, manager or interaction involving a leaver or a retired team, a unit hierarchy with a
    cycle, and a person who would leave while owning open milestones or leading a transformation
    (listing them); nothing is written then. History rows carry ``change_reason`` and ``user``.
    """
    with collector_paused():
        return _apply(organization, bundle, change_reason, user, prune, source)


def _apply(
    organization: Organization,
    bundle: ImportBundle,
    change_reason: str,
    user: AbstractBaseUser | None,
    prune: bool,
    source: str,
) -> ImportResult:
    # "Today" is the organisation's day, as everywhere else (docs/time-zones.md).
    _check_rows(bundle, today=organization_today(organization))
    if prune:
        _check_whole(bundle, source)
    existing = _Existing.load(organization)
    _check_references(bundle, existing, organization, prune=prune)
    plan = _Departures.plan(bundle, existing, prune=prune, source=source)
    # The history column holds 100 characters.
    writer = _Writer(organization=organization, change_reason=change_reason[:100], user=user)
    result = ImportResult(
        organization=organization.slug, source=source, warnings=list(bundle.warnings)
    )
    _write_units(bundle, existing, writer, result.counts["units"])
    _write_people(bundle, existing, writer, result.counts["people"])
    _write_teams(bundle, existing, writer, result.counts["teams"])
    _write_memberships(bundle, existing, writer, result.counts["memberships"])
    _write_serves(bundle, existing, writer, result.counts["serves"])
    _write_interactions(bundle, existing, writer, result.counts["interactions"])
    _write_services(bundle, existing, writer, result.counts["services"])
    plan.apply(bundle, existing, writer, result)
    return result


# --- Checks ---------------------------------------------------------------------------------


class _Problems:
    """Problems found so far; raised together so one run shows everything to fix."""

    def __init__(self) -> None:
        self.items: list[tuple[Origin, str]] = []

    def add(self, origin: Origin, message: str) -> None:
        self.items.append((origin, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        origin, message = self.items[0]
        rest = [f"{o}: {m}" for o, m in self.items[1:MAX_PROBLEMS_SHOWN]]
        if len(self.items) > MAX_PROBLEMS_SHOWN:
            rest.append(f"... and {len(self.items) - MAX_PROBLEMS_SHOWN} more problems")
        raise ImportFailure(origin, "\n".join([message, *rest]))


def _check_rows(bundle: ImportBundle, *, today: dt.date) -> None:
    """The single-row rules of the models, checked before anything is written."""
    problems = _Problems()

    def text(origin: Origin, what: str, value: str, *, maximum: int, required: bool) -> None:
        if required and not value:
            problems.add(origin, f"{what}: expected a non-empty text")
        elif len(value) > maximum:
            problems.add(origin, f"{what}: expected at most {maximum} characters; got {len(value)}")

    def slug(origin: Origin, what: str, value: str) -> None:
        try:
            validate_slug(value)
        except DjangoValidationError:
            problems.add(
                origin,
                f"{what}: expected a slug (letters, digits, hyphens and underscores); got {value!r}",
            )
            return
        text(origin, what, value, maximum=100, required=True)

    def choice(origin: Origin, what: str, value: str, choices: list[str], *, blank: bool) -> None:
        if value in choices or (blank and value == ""):
            return
        problems.add(origin, f"{what}: expected one of {', '.join(choices)}; got {value!r}")

    for unit_entry in bundle.units.values():
        unit, origin = unit_entry.value, unit_entry.origin
        slug(origin, f"unit {unit.slug!r}", unit.slug)
        text(origin, f"unit {unit.slug!r} name", unit.name, maximum=200, required=True)
        text(origin, f"unit {unit.slug!r} kind", unit.kind, maximum=50, required=True)
        if unit.parent == unit.slug:
            problems.add(origin, f"unit {unit.slug!r}: a unit cannot be its own parent")

    for team_entry in bundle.teams.values():
        team, origin = team_entry.value, team_entry.origin
        slug(origin, f"team {team.slug!r}", team.slug)
        text(origin, f"team {team.slug!r} name", team.name, maximum=200, required=True)
        choice(origin, f"team {team.slug!r} type", team.type, _TEAM_TYPES, blank=False)
        choice(origin, f"team {team.slug!r} specialty", team.specialty, _SPECIALTIES, blank=True)
        if team.specialty and team.type != TeamType.OPS_SILO:
            problems.add(
                origin,
                f"team {team.slug!r}: only ops_silo teams have a specialty; this one is "
                f"{team.type} with specialty {team.specialty!r}",
            )

    for person_entry in bundle.people.values():
        person, origin = person_entry.value, person_entry.origin
        if not email_is_valid(person.email):
            problems.add(origin, f"person: expected an e-mail address; got {person.email!r}")
        text(origin, f"person {person.email!r} name", person.name, maximum=200, required=True)

    for email, left_entry in bundle.left_on.items():
        if left_entry.value > today:
            problems.add(
                left_entry.origin,
                f"person {email!r} left_on: expected a day not after today ({today}), since "
                f"leaving ends their memberships now; got {left_entry.value}",
            )

    for membership_entry in bundle.memberships.values():
        membership, origin = membership_entry.value, membership_entry.origin
        what = f"membership of {membership.person!r} in {membership.team!r}"
        choice(origin, f"{what}: role", membership.role, _ROLES, blank=True)
        percent = membership.allocation_percent
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
            problems.add(origin, f"{what}: allocation_percent: expected 1 to 100; got {percent!r}")

    for serves_entry in bundle.serves.values():
        serves, origin = serves_entry.value, serves_entry.origin
        text(
            origin,
            f"serves link of {serves.person!r} to {serves.team!r}: note",
            serves.note,
            maximum=200,
            required=False,
        )

    for interaction_entry in bundle.interactions.values():
        interaction, origin = interaction_entry.value, interaction_entry.origin
        what = f"interaction {interaction.source!r} -> {interaction.target!r}"
        choice(origin, f"{what}: mode", interaction.mode, _MODES, blank=False)
        choice(origin, f"{what}: severity", interaction.severity, _SEVERITIES, blank=True)
        if interaction.severity and interaction.mode != InteractionMode.TICKET_DEPENDENCY:
            problems.add(
                origin,
                f"{what}: only ticket_dependency interactions have a severity; this one is "
                f"{interaction.mode}",
            )
        if interaction.source == interaction.target:
            problems.add(origin, f"{what}: an interaction needs two different teams")
        if (
            interaction.since is not None
            and interaction.expected_end is not None
            and interaction.expected_end < interaction.since
        ):
            problems.add(
                origin,
                f"{what}: expected_end {interaction.expected_end} is before since "
                f"{interaction.since}",
            )
        text(origin, f"{what}: note", interaction.note, maximum=200, required=False)

    for service_entry in bundle.services.values():
        service, origin = service_entry.value, service_entry.origin
        what = f"service {service.ref!r}"
        choice(origin, f"{what}: kind", service.kind, _SERVICE_KINDS, blank=False)
        slug(origin, f"{what}: slug", service.slug)
        text(origin, f"{what}: name", service.name, maximum=200, required=False)

    problems.raise_if_any()


@dataclass(slots=True)
class _Existing:
    """The organisation's rows, keyed like the bundle (one query per model)."""

    units: dict[str, OrgUnit]
    teams: dict[str, Team]
    people: dict[str, Person]
    memberships: dict[tuple[int, int], Membership]
    serves: dict[tuple[int, int], ServesLink]
    interactions: dict[tuple[int, int, str], Interaction]
    services: dict[tuple[str, str], Service]

    @classmethod
    def load(cls, organization: Organization) -> _Existing:
        def rows(model: type[_M]) -> list[_M]:
            return list(model._default_manager.filter(organization=organization))

        return cls(
            units={unit.slug: unit for unit in rows(OrgUnit)},
            teams={team.slug: team for team in rows(Team)},
            people={person.email.lower(): person for person in rows(Person)},
            memberships={(row.person_id, row.team_id): row for row in rows(Membership)},
            serves={(row.person_id, row.team_id): row for row in rows(ServesLink)},
            interactions={
                (row.source_id, row.target_id, row.mode): row for row in rows(Interaction)
            },
            services={(row.kind, row.slug): row for row in rows(Service)},
        )


def _check_references(
    bundle: ImportBundle, existing: _Existing, organization: Organization, *, prune: bool
) -> None:
    """Every unit, team and person an entry names is in the bundle or the organisation (with
    ``prune``, teams and people in the bundle: the others are about to be retired or to leave),
    no link involves a retired team or someone who is or becomes a leaver, and the unit
    hierarchy has no cycle."""
    problems = _Problems()
    where = f"neither in the imported files nor in organisation '{organization.slug}'"
    pruned = "not in the imported files, which --prune takes as the whole organisation"

    reported: set[tuple[Origin, str | None]] = set()

    def unknown(kind: str, key: str) -> str:
        return f"{kind} {key!r} is {pruned}" if prune else f"unknown {kind} {key!r} ({where})"

    def known(kind: str, key: str | None, pool: Iterable[Any], origin: Origin, what: str) -> None:
        if key is not None and key not in pool and (origin, key) not in reported:
            reported.add((origin, key))
            problems.add(origin, f"{what}: {unknown(kind, key)}")

    unit_slugs = bundle.units.keys() | existing.units.keys()
    bundle_emails = {email.lower() for email in bundle.people}
    team_slugs = set(bundle.teams) if prune else bundle.teams.keys() | existing.teams.keys()
    emails = bundle_emails if prune else bundle_emails | existing.people.keys()

    # What stays out of the live graph after the import: retired teams stay retired, leavers
    # stay leavers (the stored day is kept), and people given a left_on join them.
    retired = {
        slug: team.retired_at.date()
        for slug, team in existing.teams.items()
        if team.retired_at is not None
    }
    leavers = {email: entry.value for email, entry in bundle.left_on.items()}
    leavers.update(
        (email, person.left_on)
        for email, person in existing.people.items()
        if person.left_on is not None
    )

    def live(team: str, origin: Origin, what: str) -> None:
        if team in retired and (origin, team) not in reported:
            reported.add((origin, team))
            problems.add(
                origin,
                f"{what}: team {team!r} was retired on {retired[team]} and a retired team has "
                "no members, links or interactions; remove the entry from the file (a retired "
                "team stays retired: give its successor another slug)",
            )

    def present(person: str | None, origin: Origin, what: str) -> None:
        if person is not None and person in leavers and (origin, person) not in reported:
            reported.add((origin, person))
            problems.add(
                origin,
                f"{what}: {person!r} left the organisation on {leavers[person]} and a leaver "
                "has no memberships, served-by links or teams to manage; remove the entry from "
                "the file",
            )

    for unit_entry in bundle.units.values():
        unit = unit_entry.value
        known("parent unit", unit.parent, unit_slugs, unit_entry.origin, f"unit {unit.slug!r}")
    for team_entry in bundle.teams.values():
        team, origin = team_entry.value, team_entry.origin
        known("unit", team.unit, unit_slugs, origin, f"team {team.slug!r}")
        manager = team.manager.lower() if team.manager else None
        known("person", manager, emails, origin, f"team {team.slug!r} manager")
        present(manager, origin, f"team {team.slug!r} manager")
    for membership_entry in bundle.memberships.values():
        membership, origin = membership_entry.value, membership_entry.origin
        what = f"membership of {membership.person!r} in {membership.team!r}"
        known("person", membership.person.lower(), emails, origin, what)
        known("team", membership.team, team_slugs, origin, what)
        present(membership.person.lower(), origin, what)
        live(membership.team, origin, what)
    for serves_entry in bundle.serves.values():
        serves, origin = serves_entry.value, serves_entry.origin
        what = f"serves link of {serves.person!r} to {serves.team!r}"
        known("person", serves.person.lower(), emails, origin, what)
        known("team", serves.team, team_slugs, origin, what)
        present(serves.person.lower(), origin, what)
        live(serves.team, origin, what)
    for interaction_entry in bundle.interactions.values():
        interaction, origin = interaction_entry.value, interaction_entry.origin
        what = f"interaction {interaction.source!r} -> {interaction.target!r}"
        known("team", interaction.source, team_slugs, origin, what)
        known("team", interaction.target, team_slugs, origin, what)
        live(interaction.source, origin, what)
        live(interaction.target, origin, what)
    for service_entry in bundle.services.values():
        service, origin = service_entry.value, service_entry.origin
        what = f"owner of service {service.ref!r}"
        known("team", service.owner, team_slugs, origin, what)
        live(service.owner, origin, what)
    for slug, origin in bundle.team_references.items():
        known("team", slug, team_slugs, origin, "reference")
    problems.raise_if_any()

    # The unit hierarchy after the import: the organisation's, with the bundle's units on top.
    unit_slug = {unit.pk: unit.slug for unit in existing.units.values()}
    parent_of = {
        unit.slug: unit_slug.get(unit.parent_id) if unit.parent_id else None
        for unit in existing.units.values()
    }
    parent_of.update({slug: entry.value.parent for slug, entry in bundle.units.items()})
    for slug, entry in bundle.units.items():
        chain = [slug]
        current = parent_of.get(slug)
        while current is not None:
            if current == slug:
                problems.add(
                    entry.origin,
                    f"unit {slug!r}: the unit hierarchy has a cycle: {' -> '.join([*chain, slug])}",
                )
                break
            if current in chain:
                break  # a cycle further up: reported at one of its own units
            chain.append(current)
            current = parent_of.get(current)
    problems.raise_if_any()


# --- Leavers and pruning --------------------------------------------------------------------


@dataclass(slots=True)
class _Departures:
    """Who leaves and which teams retire because of the import, checked before any write."""

    source: str
    leaving: dict[str, Entry[dt.date]]  # e-mail -> its left_on, people not yet leavers
    retiring: list[Team]  # with prune: live teams the bundle leaves out
    pruned: list[Person]  # with prune: people the bundle leaves out, not yet leavers

    @classmethod
    def plan(
        cls, bundle: ImportBundle, existing: _Existing, *, prune: bool, source: str
    ) -> _Departures:
        """Raises ImportFailure when someone who would leave owns open milestones or leads a
        transformation (``teams.lifecycle.departure_holds``), naming them and what to reassign."""
        leaving = {
            email: entry
            for email, entry in sorted(bundle.left_on.items())
            if email not in existing.people or existing.people[email].left_on is None
        }
        retiring: list[Team] = []
        pruned: list[Person] = []
        if prune:
            listed = {email.lower() for email in bundle.people}
            retiring = [
                team
                for slug, team in sorted(existing.teams.items())
                if team.retired_at is None and slug not in bundle.teams
            ]
            pruned = [
                person
                for email, person in sorted(existing.people.items())
                # Erased people have a pseudonym no file can list; they are out already.
                if email not in listed and person.left_on is None and person.erased_at is None
            ]

        problems = _Problems()
        for email, entry in leaving.items():
            if email in existing.people:
                _departure_check(
                    problems,
                    existing.people[email],
                    entry.origin,
                    f"has left_on {entry.value} in the file",
                )
        for person in pruned:
            _departure_check(
                problems,
                person,
                Origin(source),
                "is not in the imported files, so --prune would mark them as a leaver,",
            )
        problems.raise_if_any()
        return cls(source=source, leaving=leaving, retiring=retiring, pruned=pruned)

    def apply(
        self, bundle: ImportBundle, existing: _Existing, writer: _Writer, result: ImportResult
    ) -> None:
        """Mark the leavers and retire the teams planned (after the rows are written)."""
        actor = writer.user if isinstance(writer.user, User) else None
        try:
            for email, entry in self.leaving.items():
                person = existing.people[email]
                if person.left_on is None:  # new people were created as leavers
                    person_leave(person=person, on=entry.value, source="import", actor=actor)
            for team in self.retiring:
                team_retire(
                    team=team,
                    source="import",
                    actor=actor,
                    reason=f"Not in {self.source} (import --prune)",
                    reference=writer.change_reason,
                )
            for person in self.pruned:
                person_leave(person=person, source="import", actor=actor)
        except ConflictError as exc:
            # Checked in ``plan``; a plan changed by someone else since then ends up here.
            raise ImportFailure(self.source, f"{exc.message} Nothing was imported.") from exc
        result.left = list(self.leaving)
        result.retired = [team.slug for team in self.retiring]
        result.pruned = [person.email for person in self.pruned]


def _check_whole(bundle: ImportBundle, source: str) -> None:
    """Files that define no teams or no people cannot be the whole organisation (a CSV of people
    alone, TeamAPI files): pruning against them would retire every team or let everyone go."""
    for kind, defined in (("teams", bundle.teams), ("people", bundle.people)):
        if not defined:
            raise ImportFailure(
                source,
                f"--prune takes the files as the whole organisation, but they define no {kind}: "
                f"every one of the organisation's {kind} would be retired or leave. Import them "
                f"together with the files that define the {kind} (the org file, a Backstage "
                "catalog), or leave out --prune",
            )


def _departure_check(problems: _Problems, person: Person, origin: Origin, why: str) -> None:
    for what, items in departure_holds(person):
        if items:
            problems.add(
                origin,
                f"person {person.email!r} {why} but they still have {what} ({len(items)}): "
                f"{'; '.join(_hold_item(item) for item in items)}. Reassign them first "
                "(the plan's page or the API), then import again",
            )


def _hold_item(item: dict[str, Any]) -> str:
    """One item of ``departure_holds``: a milestone (key, title, status, transformation) or a
    transformation (id, title), named so that a person can find it."""
    plan = item.get("transformation")
    if plan is None:
        return f"{item.get('title')!r} (id {item.get('id')})"
    return (
        f"{item.get('key')} {item.get('title')!r} ({item.get('status')}) in transformation "
        f"{plan.get('title')!r} (id {plan.get('id')})"
    )


# --- Writes ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Writer:
    """Bulk creates and updates with one history row per changed row, all stamped alike."""

    organization: Organization
    change_reason: str
    user: AbstractBaseUser | None
    now: dt.datetime = field(default_factory=timezone.now)
    wrote: bool = False

    def _writing(self) -> None:
        # Bulk writes send no model signals: the cached analysis is invalidated here, in the
        # import's transaction, before the first write (teams.models.topology_changed). An
        # import that changes nothing keeps the cache.
        if not self.wrote:
            topology_changed(organization_id=self.organization.pk)
            self.wrote = True

    def create(self, model: type[_M], rows: list[_M]) -> list[_M]:
        if not rows:
            return []
        self._writing()
        insert_with_history(
            model,
            rows,
            history_date=self.now,
            change_reason=self.change_reason,
            user_id=self.user.pk if self.user is not None else None,
        )
        return rows

    def update(self, model: type[models.Model], rows: list[Any], fields: list[str]) -> None:
        if not rows:
            return
        self._writing()
        for row in rows:
            # bulk_update does not run auto_now, so the timestamp is set here.
            row.updated_at = self.now
        bulk_update_with_history(
            rows,
            model,
            [*fields, "updated_at"],
            batch_size=BATCH_SIZE,
            default_user=self.user,
            default_change_reason=self.change_reason,
            default_date=self.now,
        )


def _changed(row: models.Model, values: dict[str, Any]) -> bool:
    """Set ``values`` on ``row``; whether any of them differed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _row_maker(model: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """A function making a new ``model`` instance from its attribute values (``organization_id``,
    not ``organization``), the others taking their defaults: what ``model(**values)`` makes.

    Measured: ``model(**values)`` cost about 20 µs a row (keyword arguments go through every
    field's descriptor), a third of a 50,000-person import once the rows went in with COPY;
    positional values in field order are set directly."""
    fields = model._meta.concrete_fields
    attnames = {field.attname for field in fields}
    dynamic = [field for field in fields if field.has_default() and callable(field.default)]
    static = {field.attname: field.get_default() for field in fields if field not in dynamic}

    def make(values: dict[str, Any]) -> _M:
        unknown = values.keys() - attnames
        if unknown:  # a programming error: every key names a column
            raise TypeError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
        row = static | {field.attname: field.get_default() for field in dynamic} | values
        return model(*(row[field.attname] for field in fields))

    return make


def _upsert(
    *,
    model: type[_M],
    entries: Iterable[tuple[Any, dict[str, Any]]],
    existing: dict[Any, _M],
    writer: _Writer,
    counts: KindCounts,
) -> list[_M]:
    """Create the rows whose key is missing, update those whose values differ; the new rows."""
    new_row = _row_maker(model)
    to_create: list[_M] = []
    to_update: list[_M] = []
    fields: dict[str, None] = {}  # ordered set of the fields any updated row changes
    for key, values in entries:
        row = existing.get(key)
        if row is None:
            given = {name: value for name, value in values.items() if value is not None}
            given["organization_id"] = writer.organization.pk
            to_create.append(new_row(given))
            continue
        # A value the file does not give (None) leaves the stored one alone: an import adds what
        # it knows and never erases what another source or a person set.
        given = {name: value for name, value in values.items() if value is not None}
        if _changed(row, given):
            to_update.append(row)
            fields.update(dict.fromkeys(given))
        else:
            counts.unchanged += 1
    created = writer.create(model, to_create)
    writer.update(model, to_update, list(fields))
    counts.created += len(created)
    counts.updated += len(to_update)
    return created


def _write_units(
    bundle: ImportBundle, existing: _Existing, writer: _Writer, counts: KindCounts
) -> None:
    organization = writer.organization
    missing = {slug: entry for slug, entry in bundle.units.items() if slug not in existing.units}
    created_now = set(missing)
    # New units are created parents first, one statement per level of depth, so each row gets
    # its parent in its creation (and its one history row) without a second pass.
    while missing:
        level = {
            slug: entry
            for slug, entry in missing.items()
            if entry.value.parent is None or entry.value.parent not in missing
        }
        if not level:  # cannot happen after _check_references; never loop forever
            raise ImportFailure(None, f"the units {', '.join(sorted(missing))} form a cycle")
        rows = [
            OrgUnit(
                organization=organization,
                slug=unit.slug,
                name=unit.name,
                kind=unit.kind,
                parent=existing.units[unit.parent] if unit.parent else None,
            )
            for unit in (entry.value for entry in level.values())
        ]
        for row in writer.create(OrgUnit, rows):
            existing.units[row.slug] = row
            counts.created += 1
        for slug in level:
            del missing[slug]

    to_update: list[OrgUnit] = []
    for slug, entry in bundle.units.items():
        if slug in created_now:
            continue
        unit, row = entry.value, existing.units[slug]
        parent_id = existing.units[unit.parent].pk if unit.parent else None
        if _changed(row, {"name": unit.name, "kind": unit.kind, "parent_id": parent_id}):
            to_update.append(row)
        else:
            counts.unchanged += 1
    writer.update(OrgUnit, to_update, ["name", "kind", "parent_id"])
    counts.updated += len(to_update)


def _write_people(
    bundle: ImportBundle, existing: _Existing, writer: _Writer, counts: KindCounts
) -> None:
    def values(email: str, person: PersonNode) -> dict[str, Any]:
        # A new leaver is created as one (no memberships to end); an existing person leaves
        # through ``person_leave`` after the writes (``_Departures``).
        left_on = bundle.left_on.get(email)
        return {
            "email": email,
            "name": person.name,
            "left_on": left_on.value if left_on and email not in existing.people else None,
        }

    created = _upsert(
        model=Person,
        entries=(
            (email.lower(), values(email.lower(), entry.value))
            for email, entry in bundle.people.items()
        ),
        existing=existing.people,
        writer=writer,
        counts=counts,
    )
    for person in created:
        existing.people[person.email] = person


def _write_teams(
    bundle: ImportBundle, existing: _Existing, writer: _Writer, counts: KindCounts
) -> None:
    def values(entry: Entry[Any]) -> dict[str, Any]:
        team = entry.value
        return {
            "slug": team.slug,
            "name": team.name,
            "type": team.type,
            "specialty": team.specialty,
            # Formats without descriptions, units or managers (TeamAPI, Backstage) leave them be.
            "description": team.description or None,
            "unit_id": existing.units[team.unit].pk if team.unit else None,
            "manager_id": existing.people[team.manager.lower()].pk if team.manager else None,
        }

    created = _upsert(
        model=Team,
        entries=((slug, values(entry)) for slug, entry in bundle.teams.items()),
        existing=existing.teams,
        writer=writer,
        counts=counts,
    )
    for team in created:
        existing.teams[team.slug] = team


def _write_memberships(
    bundle: ImportBundle, existing: _Existing, writer: _Writer, counts: KindCounts
) -> None:
    def entries() -> Iterable[tuple[Any, dict[str, Any]]]:
        for entry in bundle.memberships.values():
            edge = entry.value
            person_id = existing.people[edge.person.lower()].pk
            team_id = existing.teams[edge.team].pk
            yield (
                (person_id, team_id),
                {
                    "person_id": person_id,
                    "team_id": team_id,
                    # No role (Backstage, a CSV row without one): member when new, else unchanged.
                    "role": edge.role
                    or (None if (person_id, team_id) in existing.memberships else _MEMBER),
                    "allocation_percent": edge.allocation_percent,
                },
            )

    _upsert(
        model=Membership,
        entries=entries(),
        existing=existing.memberships,
        writer=writer,
        counts=counts,
    )


def _write_serves(
    bundle: ImportBundle, existing: _Existing, writer: _Writer, counts: KindCounts
) -> None:
    def entries() -> Iterable[tuple[Any, dict[str, Any]]]:
        for entry in bundle.serves.values():
            edge = entry.value
            person_id = existing.people[edge.person.lower()].pk
            team_id = existing.teams[edge.team].pk
            yield (
                (person_id, team_id),
                {"person_id": person_id, "team_id": team_id, "note": edge.note},
            )

    _upsert(
        model=ServesLink,
        entries=entries(),
        existing=existing.serves,
        writer=writer,
        counts=counts,
    )


def _write_interactions(
    bundle: ImportBundle, existing: _Existing, writer: _Writer, counts: KindCounts
) -> None:
    def entries() -> Iterable[tuple[Any, dict[str, Any]]]:
        for entry in bundle.interactions.values():
            edge = entry.value
            source_id = existing.teams[edge.source].pk
            target_id = existing.teams[edge.target].pk
            yield (
                (source_id, target_id, edge.mode),
                {
                    "source_id": source_id,
                    "target_id": target_id,
                    "mode": edge.mode,
                    "since": edge.since,
                    "expected_end": edge.expected_end,
                    "severity": edge.severity,
                    "note": edge.note,
                },
            )

    _upsert(
        model=Interaction,
        entries=entries(),
        existing=existing.interactions,
        writer=writer,
        counts=counts,
    )


def _write_services(
    bundle: ImportBundle, existing: _Existing, writer: _Writer, counts: KindCounts
) -> None:
    # A service the files name gets the owner they give; one they leave out keeps its owner
    # (imports add what they know). A name not given leaves the stored one alone.
    def entries() -> Iterable[tuple[Any, dict[str, Any]]]:
        for entry in bundle.services.values():
            service = entry.value
            yield (
                (service.kind, service.slug),
                {
                    "kind": service.kind,
                    "slug": service.slug,
                    "name": service.name or None,
                    "team_id": existing.teams[service.owner].pk,
                },
            )

    _upsert(
        model=Service,
        entries=entries(),
        existing=existing.services,
        writer=writer,
        counts=counts,
    )
