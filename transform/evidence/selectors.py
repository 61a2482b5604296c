"""Reads of ingested evidence: the stored events, and the ingested signal readings per team and for
the organisation, computed by ``transform.evidence.metrics`` from stored events in a fixed
number of queries (docs/signals.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from playbooks.criteria import SignalReading
from teams.models import LineageKind, Membership, Organization, OrgUnit, Team, TeamType
from teams.selectors import TeamAttribution, team_attribution, team_predecessors
from transform.evidence import metrics
from transform.evidence.records import iso_utc, moment_of
from transform.models import SignalEvent, SignalEventKind
from transform.rhythm.selectors import checkin_settings_get

# ``__in`` lookups are split into chunks of this size (SQLite limits bound parameters).
CHUNK_SIZE = 500


T = TypeVar("T")


E = TypeVar("E")


def chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), CHUNK_SIZE):
        yield values[start : start + CHUNK_SIZE]


def signal_event_list(*, organization: Organization) -> QuerySet[SignalEvent]:
    """The organisation's events, oldest first, with their teams."""
    return (
        SignalEvent.objects.filter(organization=organization)
        .select_related("team")
        .order_by("occurred_at", "id")
    )


def signal_events_of_team_q(*, team: Team) -> Q:
    """The events of ``team``'s series: its own, every event of the teams merged into it (their
    history before the merge, then theirs counted under it), and those of a team split into it
    up to the split. The events keep naming the team they were recorded for."""
    series = Q(team=team)
    for predecessor in team_predecessors(team=team):
        if predecessor.kind == LineageKind.MERGED:
            series |= Q(team=predecessor.team)
        else:
            series |= Q(team=predecessor.team, occurred_at__lt=predecessor.until)
    return series


def signal_event_record(event: SignalEvent) -> dict[str, Any]:
    """A stored event in the record format (``team`` slug, times in UTC)."""
    record: dict[str, Any] = {"kind": event.kind, "id": event.external_id}
    if event.kind != SignalEventKind.FIRST_DEPLOY:
        record["team"] = event.team.slug if event.team is not None else None
    record["occurred_at"] = iso_utc(event.occurred_at)
    record.update(event.data)
    return record


@dataclass(slots=True)
class _Events:
    """The organisation's events as transform.evidence.metrics events, loaded once."""

    deploys: list[metrics.DeployEvent]
    incidents: list[metrics.IncidentEvent]
    tickets: list[metrics.TicketEvent]
    adoptions: list[metrics.AdoptionEvent]
    first_deploys: list[metrics.FirstDeployEvent]
    # Kinds with at least one event at or before the window's end (the kind is ingested), and
    # the teams with a deploy by then (their deploys are tracked).
    ingested: set[str]
    deploying_teams: set[str]


def _events_load(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    attribution: TeamAttribution,
) -> _Events:
    """Three or four queries, whatever the number of teams and events. Each event counts for
    the team it names, or that team's successor from a merge on (``TeamAttribution``)."""
    slug_of = attribution.slug_of

    def team_of(team_id: int | None, at: dt.datetime) -> str:
        if team_id is None:
            return ""
        return slug_of.get(attribution.team_id_at(team_id, at), "")

    K = SignalEventKind
    window = Q(kind__in=[K.DEPLOY, K.INCIDENT, K.FIRST_DEPLOY], occurred_at__gte=start) & Q(
        occurred_at__lt=end
    )
    # Adoption counts cumulatively; tickets matter while open during the window or at its end.
    adoptions = Q(kind=K.ADOPTION, occurred_at__lte=end)
    # closed_at is compared as text: stored times share one UTC format, so texts order like
    # instants (the Cast makes it a plain text comparison on every database).
    tickets = Q(kind=K.TICKET, occurred_at__lte=end) & (
        Q(closed__isnull=True) | Q(closed__gt=iso_utc(start))
    )
    rows = list(
        SignalEvent.objects.filter(organization=organization)
        .annotate(closed=Cast(KT("data__closed_at"), output_field=TextField()))
        .filter(window | adoptions | tickets)
        .order_by("occurred_at", "id")
        .values_list("kind", "external_id", "team_id", "occurred_at", "data")
    )
    seen = set(
        SignalEvent.objects.filter(organization=organization, occurred_at__lte=end)
        .order_by()
        .values_list("kind", "team_id")
        .distinct()
    )
    events = _Events([], [], [], [], [], {kind for kind, _ in seen}, set())
    # A team that deployed before merging makes its successors' deploys tracked too.
    events.deploying_teams = {
        slug_of[tracked]
        for kind, team_id in seen
        if kind == K.DEPLOY and team_id in slug_of
        for tracked in [team_id, *attribution.successors_of(team_id)]
        if tracked in slug_of
    }
    for kind, external_id, team_id, occurred_at, data in rows:
        team = team_of(team_id, occurred_at)
        if kind == K.DEPLOY:
            events.deploys.append(
                metrics.DeployEvent(
                    id=external_id,
                    team=team,
                    deployed_at=occurred_at,
                    commit_times=tuple(dt.datetime.fromisoformat(t) for t in data["commit_times"]),
                    caused_failure=data["caused_failure"],
                    is_rework=data["is_rework"],
                )
            )
        elif kind == K.INCIDENT:
            events.incidents.append(
                metrics.IncidentEvent(
                    id=external_id,
                    team=team,
                    started_at=occurred_at,
                    resolved_at=moment_of(data["resolved_at"]),
                    caused_by_deploy=data["caused_by_deploy"],
                )
            )
        elif kind == K.TICKET:
            events.tickets.append(
                metrics.TicketEvent(
                    id=external_id,
                    team=team,
                    opened_at=occurred_at,
                    closed_at=moment_of(data["closed_at"]),
                    waiting_on=data["waiting_on"],
                    developers_waiting=data["developers_waiting"],
                )
            )
        elif kind == K.ADOPTION:
            events.adoptions.append(
                metrics.AdoptionEvent(
                    team=team,
                    capability=data["capability"],
                    adopted_at=occurred_at,
                    mandated=data["mandated"],
                )
            )
        elif kind == K.FIRST_DEPLOY:
            events.first_deploys.append(
                metrics.FirstDeployEvent(
                    subject=data["subject"],
                    joined_at=dt.datetime.fromisoformat(data["joined_at"]),
                    first_deploy_at=occurred_at,
                )
            )

    # A deploy-caused incident belongs to the deploying team, also when the deploy was made
    # before the window: load those deploys too (only for the attribution; out of the window
    # they count for nothing else).
    loaded = {deploy.id for deploy in events.deploys}
    missing = sorted({i.caused_by_deploy for i in events.incidents if i.caused_by_deploy} - loaded)
    for chunk in chunks(missing):
        for external_id, team_id, occurred_at in SignalEvent.objects.filter(
            organization=organization, kind=K.DEPLOY, external_id__in=chunk
        ).values_list("external_id", "team_id", "occurred_at"):
            events.deploys.append(
                metrics.DeployEvent(
                    id=external_id, team=team_of(team_id, occurred_at), deployed_at=occurred_at
                )
            )
    return events


def _incident_team(incident: metrics.IncidentEvent, deploy_team: Mapping[str, str]) -> str:
    # The rule of metrics.dora_metrics_by_team: a deploy-caused incident is the deploying team's.
    return deploy_team.get(incident.caused_by_deploy or "", incident.team)


def _window_check(start: dt.datetime, end: dt.datetime) -> None:
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")


def lead_time_cut_off_get(*, organization: Organization) -> dt.timedelta:
    """The organisation's lead-time cut-off (``CheckinSettings.lead_time_min_change_minutes``;
    the dora.dev default of none without a settings row): one query."""
    return checkin_settings_get(organization=organization).lead_time_min_change_age


def readings_hour(moment: dt.datetime) -> dt.datetime:
    """The start of ``moment``'s hour: where the readings of a window still open at ``moment``
    end. An open window's figures (blocked hours of tickets still waiting, say) grow with the
    clock; ending it at the whole hour makes every page, verdict and digest within the hour show
    the same figure, says up to when it counts, and lets that figure be cached for the hour."""
    return moment.replace(minute=0, second=0, microsecond=0)


def ingested_readings(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    min_change_age: dt.timedelta | None = None,
    versions: ReadingsVersions | None = None,
) -> dict[int | None, dict[str, SignalReading]]:
    """The ingested signal kinds for every team (by team id) and the organisation (key None),
    computed by transform.evidence.metrics from the stored events as of ``end`` (docs/signals.md,
    "Readings from stored events").

    Every live team of the organisation has a key, possibly with no readings. An event counts
    for the team it names, or from a merge on for that team's successor (a retired team's
    events before its merge or retirement count for the organisation, not for a live team).
    Windowed kinds (DORA,
    ``incidents``, ``blocked_developer_hours``, ``time_to_first_deploy``) cover
    ``[start, end)``; ``open_tickets`` and ``platform_adoption`` are the state at ``end``. A kind
    without data has no reading, never a made-up 0. Runs a fixed number of queries, whatever the
    number of teams; the figures are cached per window, keyed by the organisation's topology and
    signal-events versions (docs/signals.md, "Cost and caching"), so an unchanged organisation
    asked for the same window again costs one query (none when the caller passes the
    ``versions`` it read with ``readings_versions_get`` before). Raises ``ValueError`` for naive or reversed ``start``/``end``.

    Lead time for changes leaves out changes younger than ``min_change_age``; None (the default)
    reads the organisation's setting (``lead_time_cut_off_get``, one more query), so a caller
    that holds the settings row passes ``settings.lead_time_min_change_age`` instead.
    """
    _window_check(start, end)
    if min_change_age is None:
        min_change_age = lead_time_cut_off_get(organization=organization)
    if versions is None:
        versions = readings_versions_get(organization=organization)
    key = versions.key(start=start, end=end, min_change_age=min_change_age)
    packed: dict[int | None, dict[str, float]] | None = cache.get(key)
    if packed is not None:
        return {
            team: {kind: SignalReading(value, None, end) for kind, value in values.items()}
            for team, values in packed.items()
        }
    found = _readings_compute(
        organization=organization, start=start, end=end, min_change_age=min_change_age
    )
    cache.set(key, _packed(found, end=end), READINGS_CACHE_TIMEOUT)
    return found


def _packed(
    readings: dict[int | None, dict[str, SignalReading]], *, end: dt.datetime
) -> dict[int | None, dict[str, float]]:
    """The readings as bare values: every ingested reading is ``SignalReading(value, None,
    end)``, and unpickling thousands of dataclasses with their datetimes cost more than
    computing the page they were cached for."""
    packed: dict[int | None, dict[str, float]] = {}
    for team, kinds in readings.items():
        values = packed[team] = {}
        for kind, reading in kinds.items():
            if reading != SignalReading(reading.value, None, end):
                raise ValueError(f"an ingested reading with more than a value: {reading!r}")
            values[kind] = reading.value
    return packed


# Cached readings depend on the code that computes them as well as on the data: a deployment
# with changed metrics must not read figures the previous code stored in a shared cache.
_READINGS_CODE = hashlib.sha256(
    Path(metrics.__file__ or "").read_bytes() + Path(__file__).read_bytes()
).hexdigest()[:12]
# Keys carry both versions and the window, so a stale entry is never read; the timeout frees
# memory from windows nobody asks for again (the running period's end moves every hour).
READINGS_CACHE_TIMEOUT = 6 * 60 * 60


@dataclass(frozen=True, slots=True)
class ReadingsVersions:
    """What the readings of an organisation are a function of, but the window: its events
    (``SignalEventsVersion``), its teams, their lineage and memberships (``topology_version``: a
    merge moves events to the successor) and the code. Read once with ``readings_versions_get``
    and pass it to several ``ingested_readings`` calls to save their one query each."""

    organization_id: int
    topology: str
    events: str

    def key(self, *, start: dt.datetime, end: dt.datetime, min_change_age: dt.timedelta) -> str:
        return (
            f"evidence:readings:{self.organization_id}:{self.topology}:{self.events}:"
            f"{_READINGS_CODE}:{start.timestamp():.6f}:{end.timestamp():.6f}:"
            f"{min_change_age.total_seconds():.0f}"
        )


def readings_versions_get(*, organization: Organization) -> ReadingsVersions:
    """The organisation's current ``ReadingsVersions``: one query, to be run before the events
    are read, so that figures read after a write are never stored under the version from before
    it."""
    topology, events = Organization.objects.values_list(
        "topology_version", "signal_events_version__version"
    ).get(pk=organization.pk)
    return ReadingsVersions(
        organization_id=organization.pk, topology=str(topology), events=str(events)
    )


def _readings_compute(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    min_change_age: dt.timedelta,
) -> dict[int | None, dict[str, SignalReading]]:
    K = SignalEventKind
    teams = list(Team.objects.filter(organization=organization).values_list("id", "slug", "type"))
    attribution = team_attribution(organization=organization)
    slug_of = attribution.slug_of
    events = _events_load(organization=organization, start=start, end=end, attribution=attribution)
    tickets_ingested = K.TICKET in events.ingested
    incidents_ingested = K.INCIDENT in events.ingested
    adoption_ingested = K.ADOPTION in events.ingested

    # Organisation.
    platform_teams = {slug for _, slug, kind in teams if kind == TeamType.PLATFORM}
    readings: dict[int | None, dict[str, SignalReading]] = {}
    readings[None] = metrics.signal_readings(
        as_of=end,
        dora=metrics.dora_metrics(
            events.deploys,
            events.incidents,
            deploys_tracked=bool(events.deploying_teams),
            window_start=start,
            window_end=end,
            min_change_age=min_change_age,
        ),
        backlog=metrics.ticket_backlog(events.tickets, at=end) if tickets_ingested else None,
        blocked_hours=(
            metrics.blocked_developer_hours(events.tickets, window_start=start, window_end=end)
            if tickets_ingested
            else None
        ),
        adoption=(
            metrics.voluntary_adoption(
                [a for a in events.adoptions if a.team not in platform_teams],
                teams_total=len(teams) - len(platform_teams),
                at=end,
            )
            if adoption_ingested
            else None
        ),
        first_deploy_days=metrics.time_to_first_deploy(
            events.first_deploys, window_start=start, window_end=end
        ),
        incidents=metrics.incident_count(events.incidents, window_start=start, window_end=end)
        if incidents_ingested
        else None,
    )

    # Teams.
    dora_tracked, dora_untracked = (
        metrics.dora_metrics_by_team(
            events.deploys,
            events.incidents,
            deploys_tracked=tracked,
            window_start=start,
            window_end=end,
            min_change_age=min_change_age,
        )
        for tracked in (True, False)
    )
    # Each event's team(s), grouped once: no pass over all events per team.
    deploy_team = {deploy.id: deploy.team for deploy in events.deploys}
    tickets_of = _grouped(events.tickets, lambda ticket: [ticket.team])
    adoptions_of = _grouped(events.adoptions, lambda adoption: [adoption.team])
    incidents_of = _grouped(
        events.incidents, lambda incident: [_incident_team(incident, deploy_team)]
    )
    slugs_of_person = _teams_of_people(organization=organization, events=events, slug_of=slug_of)
    first_deploys_of = _grouped(
        events.first_deploys,
        lambda event: [event.subject, *slugs_of_person.get(event.subject, ())],
    )
    for team_id, slug, team_type in teams:
        dora: metrics.DoraMetrics | None
        if slug in events.deploying_teams:
            dora = dora_tracked.get(slug) or metrics.dora_metrics(
                [], [], deploys_tracked=True, window_start=start, window_end=end
            )
        else:
            dora = dora_untracked.get(slug)
        tickets = tickets_of.get(slug, [])
        adoption = None
        if adoption_ingested and team_type != TeamType.PLATFORM:
            # One team: 1.0 voluntary, 0.0 not adopted, None (no reading) when only mandated.
            adoption = metrics.voluntary_adoption(adoptions_of.get(slug, []), teams_total=1, at=end)
        first_deploys = first_deploys_of.get(slug, [])
        incidents = incidents_of.get(slug, [])
        readings[team_id] = metrics.signal_readings(
            as_of=end,
            dora=dora,
            backlog=metrics.ticket_backlog(tickets, at=end) if tickets_ingested else None,
            blocked_hours=(
                metrics.blocked_developer_hours(tickets, window_start=start, window_end=end)
                if tickets_ingested
                else None
            ),
            adoption=adoption,
            first_deploy_days=metrics.time_to_first_deploy(
                first_deploys, window_start=start, window_end=end
            ),
            incidents=metrics.incident_count(incidents, window_start=start, window_end=end)
            if incidents_ingested
            else None,
        )
    return readings


def _grouped(items: Iterable[E], slugs: Callable[[E], Iterable[str]]) -> dict[str, list[E]]:
    """``items`` by the team slugs each belongs to."""
    groups: dict[str, list[E]] = {}
    for item in items:
        for slug in dict.fromkeys(slugs(item)):
            groups.setdefault(slug, []).append(item)
    return groups


def _teams_of_people(
    *, organization: Organization, events: _Events, slug_of: Mapping[int, str]
) -> dict[str, list[str]]:
    """E-mail -> slugs of the person's teams today, for the people with a first deploy (one
    query, none without them)."""
    if not any("@" in event.subject for event in events.first_deploys):
        return {}
    teams: dict[str, list[str]] = {}
    for email, team_id in Membership.objects.filter(organization=organization).values_list(
        "person__email", "team_id"
    ):
        teams.setdefault(email, []).append(slug_of[team_id])
    return teams


# --- DORA per team and per unit -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoraGroup:
    """The DORA figures of one team, or of one unit over the union of its teams' events."""

    slug: str
    name: str
    # A team's unit, a unit's parent unit (None: none, or it is not in the organisation).
    unit: str | None
    # The live teams whose events count: the team itself; a unit's teams and its sub-units'.
    teams: tuple[str, ...]
    # None: no deploy or incident counts for it and none of its teams' deploys are tracked.
    dora: metrics.DoraMetrics | None
    depth: int = 0  # units: 0 for a top-level unit, 1 for its sub-units, ...


@dataclass(frozen=True, slots=True)
class DoraBreakdown:
    start: dt.datetime
    end: dt.datetime
    min_change_age: dt.timedelta
    teams: list[DoraGroup]  # the live teams, by slug
    units: list[DoraGroup]  # every unit, a parent before its sub-units, siblings by slug


def dora_by_team_and_unit(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    min_change_age: dt.timedelta | None = None,
) -> DoraBreakdown:
    """The DORA figures over ``[start, end)`` of every live team and every unit (docs/signals.md,
    "Per team and per unit").

    A team's figures are those of ``ingested_readings`` (an event counts for the team it names
    or, from a merge on, its successor; a deploy-caused incident for the deploying team). A unit's
    are computed over the union of the events of its teams and of its sub-units' teams, never
    as an average of team figures: one team's 30 deploys weigh 30 times one deploy of another.
    A unit of a cycle (``a`` under ``b`` under ``a``) counts each team once. ``min_change_age``
    as in ``ingested_readings`` (None: the organisation's setting). A fixed number of queries,
    whatever the number of teams, units and events; cached per window like
    ``ingested_readings``, so one query (the versions) while nothing changed. Raises ``ValueError`` for naive or reversed
    ``start``/``end``.
    """
    _window_check(start, end)
    if min_change_age is None:
        min_change_age = lead_time_cut_off_get(organization=organization)
    # Cached as the readings are (docs/signals.md, "Cost and caching"): the units and teams are
    # part of the topology version.
    versions = readings_versions_get(organization=organization)
    key = versions.key(start=start, end=end, min_change_age=min_change_age) + ":dora"
    found: DoraBreakdown | None = cache.get(key)
    if found is None:
        found = _dora_compute(
            organization=organization, start=start, end=end, min_change_age=min_change_age
        )
        cache.set(key, found, READINGS_CACHE_TIMEOUT)
    return found


def _dora_compute(
    *,
    organization: Organization,
    start: dt.datetime,
    end: dt.datetime,
    min_change_age: dt.timedelta,
) -> DoraBreakdown:
    teams = list(
        Team.objects.filter(organization=organization)
        .order_by("slug")
        .values_list("slug", "name", "unit_id")
    )
    units = list(
        OrgUnit.objects.filter(organization=organization)
        .order_by("slug")
        .values_list("id", "slug", "name", "parent_id")
    )
    attribution = team_attribution(organization=organization)
    events = _events_load(organization=organization, start=start, end=end, attribution=attribution)

    deploy_team = {deploy.id: deploy.team for deploy in events.deploys}
    deploys_of = _grouped(events.deploys, lambda deploy: [deploy.team])
    incidents_of = _grouped(
        events.incidents, lambda incident: [_incident_team(incident, deploy_team)]
    )

    def figures(slugs: Iterable[str]) -> metrics.DoraMetrics | None:
        members = set(slugs)
        deploys = [d for slug in sorted(members) for d in deploys_of.get(slug, [])]
        incidents = [i for slug in sorted(members) for i in incidents_of.get(slug, [])]
        tracked = bool(members & events.deploying_teams)
        if not (deploys or incidents or tracked):
            return None
        return metrics.dora_metrics(
            deploys,
            incidents,
            window_start=start,
            window_end=end,
            deploys_tracked=tracked,
            min_change_age=min_change_age,
        )

    slug_of_unit = {unit_id: slug for unit_id, slug, _, _ in units}
    parent_of = {unit_id: parent_id for unit_id, _, _, parent_id in units}

    def lineage(unit_id: int) -> list[int]:
        """The unit and its ancestors, nearest first, each once (a cycle stops the walk)."""
        found: list[int] = []
        current: int | None = unit_id
        while current is not None and current in parent_of and current not in found:
            found.append(current)
            current = parent_of[current]
        return found

    members_of: dict[int, list[str]] = {unit_id: [] for unit_id, _, _, _ in units}
    team_rows: list[DoraGroup] = []
    for slug, name, unit_id in teams:
        if unit_id is not None:
            for ancestor in lineage(unit_id):
                members_of[ancestor].append(slug)
        team_rows.append(
            DoraGroup(
                slug=slug,
                name=name,
                unit=slug_of_unit.get(unit_id) if unit_id is not None else None,
                teams=(slug,),
                dora=figures([slug]),
            )
        )

    # A parent before its sub-units (depth first, siblings by slug); units of a cycle, which
    # have no top, come last at depth 0.
    children: dict[int | None, list[int]] = {}
    for unit_id, _, _, parent_id in units:
        top = parent_id is None or parent_id not in parent_of
        children.setdefault(None if top else parent_id, []).append(unit_id)
    ordered: list[tuple[int, int]] = []
    placed: set[int] = set()

    def place(unit_id: int, depth: int) -> None:
        if unit_id in placed:
            return
        placed.add(unit_id)
        ordered.append((unit_id, depth))
        for child in children.get(unit_id, []):
            place(child, depth + 1)

    for unit_id in children.get(None, []):
        place(unit_id, 0)
    for unit_id, _, _, _ in units:
        place(unit_id, 0)
    name_of_unit = {unit_id: name for unit_id, _, name, _ in units}
    unit_rows = [
        DoraGroup(
            slug=slug_of_unit[unit_id],
            name=name_of_unit[unit_id],
            unit=slug_of_unit.get(parent_of[unit_id]) if parent_of[unit_id] is not None else None,
            teams=tuple(sorted(members_of[unit_id])),
            dora=figures(members_of[unit_id]),
            depth=depth,
        )
        for unit_id, depth in ordered
    ]
    return DoraBreakdown(
        start=start, end=end, min_change_age=min_change_age, teams=team_rows, units=unit_rows
    )
