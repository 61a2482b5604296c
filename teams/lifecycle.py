"""Writes that change the shape of the organisation without losing what was measured: teams are
formed, renamed, merged, split and retired, people leave or are erased, scenario changes are
enacted (docs/scenarios.md, "Lineage"; docs/anonymity.md, "Anonymity over time").

The rule all of them keep: nothing measured is deleted. Evidence rows (survey answers, signal
events, readiness snapshots, check-ins, deliveries, verifications) point at teams and people with
``on_delete=RESTRICT``, so a team or person that carries any is retired or marked a leaver, never
deleted. ``holders`` names those rows without knowing the apps that own them (Django's deletion
collector finds every restricting and protecting relation), which keeps this app free of any
import from ``transform``. Rules that only the plans know (an open milestone's owner, a lead
change agent) reach here through ``departure_checks``, registered by the ``transform`` app.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, models, router, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone

from core.errors import ApplicationError, ConflictError
from teams.models import (
    Interaction,
    LineageKind,
    LineageSource,
    Membership,
    Organization,
    OrgUnit,
    Person,
    ServesLink,
    Service,
    Team,
    TeamLineageEvent,
)
from teams.scenarios import (
    Change,
    MergeTeams,
    ScenarioError,
    SplitTeam,
    TopologyDiff,
    apply_changes,
    snapshot_diff,
)
from teams.selectors import org_snapshot_get
from teams.services import (
    history_user_set,
    interaction_create,
    interaction_delete,
    interaction_update,
    membership_create,
    membership_delete,
    membership_update,
    serves_link_create,
    serves_link_delete,
    serves_link_update,
    team_create,
    team_update,
)
from teams.zones import organization_today

Source = Literal["milestone", "api", "web", "import", "command"]

# A person's departure refused by another app: (what, items), e.g. ("open milestones", [...]).
DepartureHold = tuple[str, list[dict[str, Any]]]
DepartureCheck = Callable[[Person], list[DepartureHold]]

# Filled by apps that own rules about people (transform registers open milestones and lead change
# agents in its AppConfig.ready); each returns what stops the person from leaving.
departure_checks: list[DepartureCheck] = []


# --- what holds a row ---------------------------------------------------------------------------


def holders(instance: models.Model) -> dict[str, int]:
    """What keeps ``instance`` from being deleted: ``{verbose name plural: count}`` of the rows
    that point at it with RESTRICT or PROTECT (its evidence), sorted by name; {} when nothing
    does. Reads only: nothing is deleted."""
    using = router.db_for_write(type(instance), instance=instance) or DEFAULT_DB_ALIAS
    collector = Collector(using=using)
    try:
        collector.collect([instance])
    except (RestrictedError, ProtectedError) as exc:
        rows = exc.restricted_objects if isinstance(exc, RestrictedError) else exc.protected_objects
        counts: Counter[str] = Counter(str(row._meta.verbose_name_plural) for row in rows)
        return dict(sorted(counts.items()))
    return {}


def _holders_text(found: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in found.items())


# --- lineage ------------------------------------------------------------------------------------


def lineage_record(
    *,
    team: Team,
    kind: str,
    at: dt.datetime,
    source: Source,
    successor: Team | None = None,
    old_slug: str = "",
    new_slug: str = "",
    reason: str = "",
    reference: str = "",
    actor: User | None = None,
) -> TeamLineageEvent:
    """Store one lineage event (no validation beyond the model's: callers are the services here)."""
    return TeamLineageEvent.objects.create(
        organization_id=team.organization_id,
        team=team,
        kind=kind,
        successor=successor,
        occurred_at=at,
        old_slug=old_slug,
        new_slug=new_slug,
        reason=reason[:2000],
        source=source,
        reference=reference[:100],
        recorded_by=actor,
    )


def _end_topology(team: Team, *, actor: User | None) -> None:
    """Remove the team's memberships, serves links and interactions from the live graph (their
    history rows keep them for the as-of views)."""
    rows: list[models.Model] = [
        *Membership.objects.filter(team=team),
        *ServesLink.objects.filter(team=team),
        *Interaction.objects.filter(models.Q(source=team) | models.Q(target=team)),
    ]
    for row in rows:
        history_user_set(row, actor)
        row.delete()


def _services_hand_over(
    *, team: Team, successor: Team, actor: User | None, source: Source
) -> list[Service]:
    """Make ``successor`` the owner of ``team``'s services (a merge: its work goes there), each
    change in the service's history with ``actor`` and a reason naming both teams."""
    services = list(Service.objects.select_for_update().filter(team=team).order_by("pk"))
    for service in services:
        service.team = successor
        history_user_set(service, actor)
        # django-simple-history's documented way to give a change its reason (as person_leave).
        service._change_reason = (  # type: ignore[attr-defined]
            f"{team.slug} merged into {successor.slug} ({source})"
        )
        service.save(update_fields=["team", "updated_at"])
    return services


@transaction.atomic
def team_retire(
    *,
    team: Team,
    source: Source,
    actor: User | None = None,
    reason: str = "",
    reference: str = "",
    at: dt.datetime | None = None,
    successors: Sequence[Team] = (),
    kind: str = LineageKind.RETIRED,
) -> Team:
    """Take ``team`` out of the live graph, keeping its row and all its evidence.

    ``kind`` is ``retired`` (no successor), ``merged`` (one successor) or ``split`` (one event per
    successor). Its memberships, serves links and interactions end (history keeps them). A merged
    team's services pass to its successor (the service history records it); otherwise they keep
    the retired team as owner, which takes them out of the live graph (docs/scenarios.md,
    "Lineage"). Retiring a retired team again is refused with 409."""
    team = Team.all_objects.select_for_update().get(pk=team.pk)
    if team.retired_at is not None:
        raise ConflictError(
            f"Team '{team.slug}' was already retired on {team.retired_at:%Y-%m-%d}.",
            extra={"team": team.slug},
        )
    moment = at or timezone.now()
    _end_topology(team, actor=actor)
    team.retired_at = moment
    history_user_set(team, actor)
    team.save(update_fields=["retired_at", "updated_at"])
    if kind == LineageKind.MERGED and len(successors) == 1:
        _services_hand_over(team=team, successor=successors[0], actor=actor, source=source)
    if kind == LineageKind.RETIRED or not successors:
        lineage_record(
            team=team,
            kind=LineageKind.RETIRED,
            at=moment,
            source=source,
            reason=reason,
            reference=reference,
            actor=actor,
        )
    for successor in successors:
        lineage_record(
            team=team,
            kind=kind,
            successor=successor,
            at=moment,
            source=source,
            reason=reason,
            reference=reference,
            actor=actor,
        )
    return team


def _history_beyond_creation(team: Team) -> int:
    """How many recorded changes the team has had after its creation (edits, lineage)."""
    edits = team.history.count() - 1
    lineage = (
        team.lineage.exclude(kind=LineageKind.FORMED).count() + team.predecessor_events.count()
    )
    return max(edits, 0) + lineage


@dataclass(frozen=True, slots=True)
class TeamRemoval:
    """What ``team_delete`` did: ``deleted``, or ``retired`` because ``held_by`` evidence."""

    outcome: Literal["deleted", "retired"]
    team: Team
    held_by: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def team_delete(
    *, team: Team, source: Source = "api", actor: User | None = None, reason: str = ""
) -> TeamRemoval:
    """Delete a team created by mistake; retire one that carries evidence or history.

    - No evidence and no history beyond its creation: deleted, with its memberships, serves links
      and interactions.
    - Evidence (answers, signal events, readiness, check-ins, verifications) or recorded changes
      since its creation (edits, lineage, which the as-of views rely on): retired instead, with a
      ``retired`` lineage event; ``held_by`` counts what held it.
    - A team already retired: ``ConflictError`` (409); it is kept for its history and evidence.
    """
    team = Team.all_objects.select_for_update().get(pk=team.pk)
    if team.retired_at is not None:
        raise ConflictError(
            f"Team '{team.slug}' was retired on {team.retired_at:%Y-%m-%d} and is kept for its "
            "history and evidence; a retired team cannot be deleted.",
            extra={"team": team.slug, "held_by": holders(team)},
        )
    held_by = holders(team)
    changes = _history_beyond_creation(team)
    if changes:
        held_by["recorded changes"] = changes
    if held_by:
        retired = team_retire(
            team=team,
            source=source,
            actor=actor,
            reason=reason or f"Deleted while it held {_holders_text(held_by)}; retired instead.",
        )
        return TeamRemoval(outcome="retired", team=retired, held_by=held_by)
    TeamLineageEvent.objects.filter(team=team).delete()  # its own "formed" event
    for row in Membership.objects.filter(team=team):
        history_user_set(row, actor)
    history_user_set(team, actor)
    team.delete()
    return TeamRemoval(outcome="deleted", team=team)


# --- people -------------------------------------------------------------------------------------


def departure_holds(person: Person) -> list[DepartureHold]:
    """What another app says must happen before ``person`` may leave (empty: nothing)."""
    found: list[DepartureHold] = []
    for check in departure_checks:
        found.extend(check(person))
    return found


def _titles(items: list[dict[str, Any]], shown: int = 3) -> str:
    titles = [f"'{item.get('title', item.get('id'))}'" for item in items[:shown]]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(titles) + more


def _departure_refuse(person: Person, *, action: str) -> None:
    holds = [hold for hold in departure_holds(person) if hold[1]]
    if not holds:
        return
    parts = [f"{what} ({len(items)}): {_titles(items)}" for what, items in holds]
    raise ConflictError(
        f"{person.email} cannot be {action}; reassign first their {'; '.join(parts)}.",
        extra={what.replace(" ", "_"): items for what, items in holds},
    )


@transaction.atomic
def person_leave(
    *,
    person: Person,
    on: dt.date | None = None,
    source: Source = "api",
    actor: User | None = None,
) -> Person:
    """Mark ``person`` as a leaver from ``on`` (default today): their memberships and serves links
    end, teams they managed lose their manager, and they get no more check-ins. Their history and
    evidence stay. Refused (409) while they own open milestones or lead a transformation, listing
    them. Leaving twice keeps the first day. A day after today is refused (400): the memberships
    end now, so a future departure would be recorded on the wrong day."""
    # The organisation's day (docs/time-zones.md), not the zone of whoever marks them.
    today = organization_today(person.organization)
    if on is not None and on > today:
        message = (
            f"left_on {on.isoformat()} is after today; mark {person.email} as a leaver on or "
            "after the day they leave."
        )
        raise ApplicationError(message, extra={"fields": {"left_on": [message]}})
    person = Person.objects.select_for_update().get(pk=person.pk)
    _departure_refuse(person, action="marked as a leaver")
    if person.left_on is not None:
        return person
    for row in [
        *Membership.objects.filter(person=person),
        *ServesLink.objects.filter(person=person),
    ]:
        history_user_set(row, actor)
        row.delete()
    for team in Team.all_objects.filter(manager=person):
        history_user_set(team, actor)
        team.manager = None
        team.save(update_fields=["manager", "updated_at"])
    person.left_on = on or today
    history_user_set(person, actor)
    person._change_reason = f"left ({source})"  # type: ignore[attr-defined]
    person.save(update_fields=["left_on", "updated_at"])
    return person


@transaction.atomic
def person_return(*, person: Person, actor: User | None = None) -> Person:
    """Undo ``person_leave`` (someone listed as a leaver by mistake, or rehired)."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.left_on is None:
        return person
    person.left_on = None
    history_user_set(person, actor)
    person.save(update_fields=["left_on", "updated_at"])
    return person


@dataclass(frozen=True, slots=True)
class PersonRemoval:
    """What ``person_delete`` did: ``deleted``, or ``left`` because ``held_by`` evidence."""

    outcome: Literal["deleted", "left"]
    person: Person
    held_by: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def person_delete(
    *, person: Person, source: Source = "api", actor: User | None = None
) -> PersonRemoval:
    """Delete a person added by mistake; mark one with history or evidence as a leaver.

    Refused (409) while they own open milestones or lead a transformation, listing them.
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    _departure_refuse(person, action="removed")
    evidence = holders(person)
    if evidence:
        left = person_leave(person=person, source=source, actor=actor)
        return PersonRemoval(outcome="left", person=left, held_by=evidence)
    history_user_set(person, actor)
    person.delete()
    return PersonRemoval(outcome="deleted", person=person)


# --- enacting scenario changes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LineagePlan:
    merged: dict[str, str]  # retired slug -> successor slug
    split: dict[str, list[str]]  # parent slug -> new slugs (the parent stays live)


def _lineage_plan(changes: Iterable[Change]) -> _LineagePlan:
    merged: dict[str, str] = {}
    split: dict[str, list[str]] = {}
    for change in changes:
        if isinstance(change, MergeTeams):
            for slug in change.teams:
                if slug != change.into:
                    merged[slug] = change.into
        elif isinstance(change, SplitTeam):
            for part in change.into:
                split.setdefault(change.team, []).append(part.slug)
    return _LineagePlan(merged=merged, split=split)


@transaction.atomic
def topology_changes_enact(
    *,
    organization: Organization,
    changes: Sequence[Change],
    user: User | None,
    source: Source = "command",
    reference: str = "",
    reason: str = "",
) -> TopologyDiff:
    """Apply scenario ``changes`` to the live graph of ``organization``, all or nothing.

    The changes are re-validated against the graph as it is now (``teams.scenarios``), then the
    difference between the graph before and after is written through the services, so every row
    change is validated and recorded in the history tables with ``user`` as the history user
    (also outside a request, e.g. from a command). Teams the changes remove are retired, never
    deleted, and each merge, split and new team is a lineage event naming ``source``,
    ``reference`` and ``reason``. The services of merged teams pass to the final successor; a
    split parent stays live and keeps its services (a split change cannot say which part takes
    which). Returns what changed. Raises ``ConflictError`` (409) naming the change that no longer
    applies (``extra.change_index``, 0-based), or ``ApplicationError`` for a row the services
    refuse; either way nothing is written.
    """
    before = org_snapshot_get(organization=organization)
    try:
        after = apply_changes(before, changes)
    except ScenarioError as exc:
        raise ConflictError(
            f"The changes no longer apply to the organisation graph: {exc}",
            extra={"change_index": exc.index, "kind": exc.kind},
        ) from exc
    diff = snapshot_diff(before, after)
    if diff.empty:
        return diff
    now = timezone.now()
    plan = _lineage_plan(changes)

    units = {unit.slug: unit for unit in OrgUnit.objects.filter(organization=organization)}
    people = {person.email: person for person in Person.objects.filter(organization=organization)}
    teams = {team.slug: team for team in Team.objects.filter(organization=organization)}
    memberships = {
        (row.team.slug, row.person.email): row
        for row in Membership.objects.filter(organization=organization).select_related(
            "team", "person"
        )
    }
    serves = {
        (row.team.slug, row.person.email): row
        for row in ServesLink.objects.filter(organization=organization).select_related(
            "team", "person"
        )
    }
    interactions = {
        (row.source.slug, row.target.slug, row.mode): row
        for row in Interaction.objects.filter(organization=organization).select_related(
            "source", "target"
        )
    }

    for row in [*teams.values(), *memberships.values(), *serves.values(), *interactions.values()]:
        history_user_set(row, user)

    def team_values(node: Any) -> dict[str, Any]:
        return {
            "name": node.name,
            "type": node.type,
            "specialty": node.specialty,
            "description": node.description,
            "unit": units[node.unit] if node.unit else None,
            "manager": people[node.manager] if node.manager else None,
        }

    for node in diff.teams_created:
        teams[node.slug] = team_create(
            organization=organization,
            slug=node.slug,
            history_user=user,
            source=source,
            reference=reference,
            reason=reason,
            **team_values(node),
        )
    for node in diff.teams_updated:
        team_update(team=teams[node.slug], data=team_values(node))
    for membership in diff.memberships_deleted:
        membership_delete(membership=memberships[(membership.team, membership.person)])
    for link in diff.serves_deleted:
        serves_link_delete(serves_link=serves[(link.team, link.person)])
    for edge in diff.interactions_deleted:
        interaction_delete(interaction=interactions[(edge.source, edge.target, edge.mode)])
    for update in diff.interactions_updated:
        old, new = update.before, update.after
        interaction_update(
            interaction=interactions[(old.source, old.target, old.mode)],
            data={
                "mode": new.mode,
                "severity": new.severity,
                "since": new.since,
                "expected_end": new.expected_end,
                "note": new.note,
            },
        )
    for membership in diff.memberships_updated:
        membership_update(
            membership=memberships[(membership.team, membership.person)],
            data={"role": membership.role, "allocation_percent": membership.allocation_percent},
        )
    for link in diff.serves_updated:
        serves_link_update(serves_link=serves[(link.team, link.person)], data={"note": link.note})
    for membership in diff.memberships_created:
        membership_create(
            organization=organization,
            person=people[membership.person],
            team=teams[membership.team],
            role=membership.role,
            allocation_percent=membership.allocation_percent,
            history_user=user,
        )
    for link in diff.serves_created:
        serves_link_create(
            organization=organization,
            person=people[link.person],
            team=teams[link.team],
            note=link.note,
            history_user=user,
        )
    for edge in diff.interactions_created:
        interaction_create(
            organization=organization,
            source=teams[edge.source],
            target=teams[edge.target],
            mode=edge.mode,
            since=edge.since,
            expected_end=edge.expected_end,
            severity=edge.severity,
            note=edge.note,
            history_user=user,
        )
    for parent, parts in plan.split.items():
        if parent in teams:
            for part in parts:
                lineage_record(
                    team=teams[parent],
                    kind=LineageKind.SPLIT,
                    successor=teams[part],
                    at=now,
                    source=source,
                    reference=reference,
                    reason=reason,
                    actor=user,
                )
    for node in diff.teams_deleted:
        successor = _final_successor(node.slug, plan.merged)
        team_retire(
            team=teams[node.slug],
            at=now,
            kind=LineageKind.MERGED if successor else LineageKind.RETIRED,
            successors=[teams[successor]] if successor and successor in teams else [],
            source=source,
            reference=reference,
            reason=reason,
            actor=user,
        )
    return diff


def _final_successor(slug: str, merged: dict[str, str]) -> str | None:
    """Where a merged team's work went at the end of the changes (a chain of merges followed)."""
    seen = {slug}
    current = merged.get(slug)
    while current is not None and current in merged and current not in seen:
        seen.add(current)
        current = merged[current]
    return current


__all__ = [
    "LineageSource",
    "PersonRemoval",
    "TeamRemoval",
    "departure_checks",
    "holders",
    "lineage_record",
    "person_delete",
    "person_leave",
    "person_return",
    "team_delete",
    "team_retire",
    "topology_changes_enact",
]
