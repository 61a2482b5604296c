"""Ingested (objective) signals: DORA metrics, blocked hours, adoption, time to first deploy.

Pure computation on plain dataclasses: no Django, no database, no clock. Callers (the ingestion
services and the nightly readiness task) load events, pick the window, and call these functions;
``signal_readings`` then maps the results onto the closed vocabulary of
``playbooks.criteria.SIGNAL_KINDS``. Every formula, unit and window rule is documented in
``docs/signals.md``; keep the two in step.

The guiding rule, shared with the exit criteria: no data is ``None``, never a made-up 0. A
deployment frequency of 0 is only reported when the caller says deploys are being ingested.

All datetimes must be timezone-aware: a naive one raises ``ValueError``, because comparing
ingested events across time zones without an offset silently shifts ages by hours. Windows are
half-open, ``[window_start, window_end)``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from playbooks.criteria import SIGNAL_KINDS, SignalReading

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)

# A calendar month and six months, in days, for the deployment frequency bands: the average
# Gregorian month (365.25 / 12), so a band does not change with the month the window falls in.
MONTH_DAYS = 365.25 / 12
SIX_MONTHS_DAYS = 6 * MONTH_DAYS
MONTH = dt.timedelta(days=MONTH_DAYS)
SIX_MONTHS = dt.timedelta(days=SIX_MONTHS_DAYS)

DEFAULT_BLOCKED_THRESHOLD_HOURS = 48.0

# Lead time for changes leaves out no change by default (dora.dev: every committed change, from
# commit to production). Four Keys leaves out changes under a minute: pass FOUR_KEYS_MIN_CHANGE_AGE.
NO_MIN_CHANGE_AGE = dt.timedelta(0)
FOUR_KEYS_MIN_CHANGE_AGE = dt.timedelta(minutes=1)

FrequencyBand = Literal["on_demand", "daily", "weekly", "monthly", "fewer"]

# The signal kinds this module computes, in the order docs/signals.md describes them.
INGESTED_SIGNAL_KINDS: tuple[str, ...] = (
    "deployment_frequency",
    "lead_time_for_changes",
    "change_failure_rate",
    "failed_deployment_recovery_time",
    "deployment_rework_rate",
    "blocked_developer_hours",
    "open_tickets",
    "platform_adoption",
    "time_to_first_deploy",
    "incidents",
)
# The vocabulary is owned by playbooks.criteria; a kind missing there would be unusable in exit
# criteria, so fail at import rather than store readings nobody can query.
assert set(INGESTED_SIGNAL_KINDS) <= set(SIGNAL_KINDS), "ingested kinds must be in SIGNAL_KINDS"


def _require_aware(value: dt.datetime, *, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")


def _check_window(window_start: dt.datetime, window_end: dt.datetime) -> None:
    _require_aware(window_start, what="window_start")
    _require_aware(window_end, what="window_end")
    if window_end <= window_start:
        raise ValueError(
            f"window_end ({window_end.isoformat()}) must be after "
            f"window_start ({window_start.isoformat()})"
        )


def _in_window(moment: dt.datetime, start: dt.datetime, end: dt.datetime) -> bool:
    return start <= moment < end


def _hours(delta: dt.timedelta) -> float:
    return delta / HOUR


# --- input events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeployEvent:
    """One deployment to production.

    ``commit_times`` are the commit times of the changes the deploy shipped (empty for a redeploy
    or a configuration-only deploy: it still counts as a deploy but adds no lead time).
    ``caused_failure`` marks a deploy that needed immediate intervention (rollback, hotfix,
    incident); an incident whose ``caused_by_deploy`` names this deploy marks it too.
    ``is_rework`` marks an unplanned deploy made to fix a problem in production.
    """

    id: str
    team: str
    deployed_at: dt.datetime
    commit_times: tuple[dt.datetime, ...] = ()
    caused_failure: bool = False
    is_rework: bool = False

    def __post_init__(self) -> None:
        where = f"deploy {self.id!r}"
        _require_aware(self.deployed_at, what=f"{where}: deployed_at")
        for position, committed in enumerate(self.commit_times):
            _require_aware(committed, what=f"{where}: commit_times[{position}]")
            if committed > self.deployed_at:
                raise ValueError(
                    f"{where}: commit_times[{position}] ({committed.isoformat()}) is after "
                    f"deployed_at ({self.deployed_at.isoformat()}); a change cannot ship before "
                    "it is committed"
                )


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One production incident; ``resolved_at`` None while it is still open.

    ``caused_by_deploy`` is the id of the deploy that caused it, None when no deploy did (a
    hardware fault, a third-party outage): only deploy-caused incidents feed the DORA stability
    metrics, every incident counts in ``incidents``.
    """

    id: str
    team: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None = None
    caused_by_deploy: str | None = None

    def __post_init__(self) -> None:
        where = f"incident {self.id!r}"
        _require_aware(self.started_at, what=f"{where}: started_at")
        if self.resolved_at is not None:
            _require_aware(self.resolved_at, what=f"{where}: resolved_at")
            if self.resolved_at < self.started_at:
                raise ValueError(
                    f"{where}: resolved_at ({self.resolved_at.isoformat()}) is before "
                    f"started_at ({self.started_at.isoformat()})"
                )


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """A ticket one team filed into another team's queue; ``closed_at`` None while open.

    ``team`` is the team that waits (filed the ticket), ``waiting_on`` the team whose queue it
    sits in. ``developers_waiting`` is how many developers the ticket blocks (1 unless the
    requesting team says more).
    """

    id: str
    team: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None = None
    waiting_on: str | None = None
    developers_waiting: int = 1

    def __post_init__(self) -> None:
        where = f"ticket {self.id!r}"
        _require_aware(self.opened_at, what=f"{where}: opened_at")
        if self.closed_at is not None:
            _require_aware(self.closed_at, what=f"{where}: closed_at")
            if self.closed_at < self.opened_at:
                raise ValueError(
                    f"{where}: closed_at ({self.closed_at.isoformat()}) is before "
                    f"opened_at ({self.opened_at.isoformat()})"
                )
        if isinstance(self.developers_waiting, bool) or self.developers_waiting < 1:
            raise ValueError(
                f"{where}: developers_waiting must be a whole number >= 1, "
                f"got {self.developers_waiting!r}"
            )


@dataclass(frozen=True, slots=True)
class AdoptionEvent:
    """A team started using a platform capability; ``mandated`` when it was told to."""

    team: str
    capability: str
    adopted_at: dt.datetime
    mandated: bool

    def __post_init__(self) -> None:
        _require_aware(
            self.adopted_at, what=f"adoption of {self.capability!r} by {self.team!r}: adopted_at"
        )


@dataclass(frozen=True, slots=True)
class FirstDeployEvent:
    """When a newcomer (a person or a new team) joined, and their first production deploy.

    ``first_deploy_at`` is None while they have not deployed yet.
    """

    subject: str
    joined_at: dt.datetime
    first_deploy_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        where = f"first deploy of {self.subject!r}"
        _require_aware(self.joined_at, what=f"{where}: joined_at")
        if self.first_deploy_at is not None:
            _require_aware(self.first_deploy_at, what=f"{where}: first_deploy_at")
            if self.first_deploy_at < self.joined_at:
                raise ValueError(
                    f"{where}: first_deploy_at ({self.first_deploy_at.isoformat()}) is before "
                    f"joined_at ({self.joined_at.isoformat()})"
                )


# --- DORA ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoraMetrics:
    """The five DORA software delivery metrics over one window, with the counts behind them.

    Every metric is None when the window holds nothing to compute it from.
    """

    window_start: dt.datetime
    window_end: dt.datetime
    deployment_frequency: float | None  # deploys per day
    deployment_frequency_band: FrequencyBand | None
    lead_time_for_changes: float | None  # median hours, commit -> deploy
    change_failure_rate: float | None  # share of deploys, 0..1
    failed_deployment_recovery_time: float | None  # median hours, failure start -> resolved
    deployment_rework_rate: float | None  # share of deploys, 0..1
    deploy_count: int
    change_count: int
    failed_deploy_count: int
    rework_deploy_count: int
    recovered_failure_count: int
    open_failure_count: int
    # Changes shipped in the window but left out of the lead time for being younger than
    # ``min_change_age`` (always 0 with the dora.dev default of no cut-off).
    short_change_count: int = 0


def deployment_frequency_band(
    deploy_times: Iterable[dt.datetime], *, window_start: dt.datetime, window_end: dt.datetime
) -> FrequencyBand:
    """The DORA band of the deploys made at ``deploy_times`` in ``[window_start, window_end)``.

    Judged on how many days, weeks and months have deploys, not on the average rate (the method
    of Four Keys' dashboard): a burst of deploys on a few days does not make a team "on demand".
    The window is cut into periods from ``window_start`` (days of 24 h, weeks of 7 days,
    months of ``MONTH_DAYS``, half-years of ``SIX_MONTHS_DAYS``); a trailing part-period counts
    when it meets the bar and is left out when it does not (it had less time to), so a window
    shorter than one period meets it when it holds a deploy. "Most" means more than half.

    ``on_demand`` most days have two deploys or more (multiple deploys per day); ``daily`` most
    weeks have a deploy (between once per day and once per week); ``weekly`` most months have a
    deploy; ``monthly`` most half-years have a deploy; ``fewer`` otherwise, including no deploy.
    Times outside the window are ignored.
    """
    _check_window(window_start, window_end)
    offsets: list[dt.timedelta] = []
    for moment in deploy_times:
        _require_aware(moment, what="deploy time")
        if _in_window(moment, window_start, window_end):
            offsets.append(moment - window_start)

    def most_periods_have(length: dt.timedelta, at_least: int) -> bool:
        whole, tail = divmod(window_end - window_start, length)
        per_period = Counter(offset // length for offset in offsets)
        busy = sum(1 for count in per_period.values() if count >= at_least)
        # A trailing part-period counts when it is busy, and is left out when it is not: it
        # had less time to get its deploys.
        periods = whole + (1 if tail and per_period[whole] >= at_least else 0)
        return busy * 2 > periods

    if most_periods_have(DAY, 2):
        return "on_demand"
    if most_periods_have(WEEK, 1):
        return "daily"
    if most_periods_have(MONTH, 1):
        return "weekly"
    if most_periods_have(SIX_MONTHS, 1):
        return "monthly"
    return "fewer"


def dora_metrics(
    deploys: Iterable[DeployEvent],
    incidents: Iterable[IncidentEvent],
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    deploys_tracked: bool = False,
    min_change_age: dt.timedelta = NO_MIN_CHANGE_AGE,
) -> DoraMetrics:
    """The DORA metrics of the given deploys and incidents over ``[window_start, window_end)``.

    Pass one team's events for a team's metrics, everybody's for the organisation's. The
    metrics are computed as of ``window_end``: incidents that start later are not known yet.

    - deployment frequency: deploys in the window / window length in days. With no deploy in
      the window it is None, unless ``deploys_tracked`` says the team's deploys are being
      ingested, so that an empty window really means no deploys (0.0, band ``fewer``). Its band
      comes from ``deployment_frequency_band`` (days and weeks with deploys, not the rate).
    - lead time for changes: median over every commit shipped by a deploy in the window of
      (deployed_at - commit time), in hours (dora.dev: commit to running in production). A
      ``min_change_age`` above zero leaves out changes that took less than it (one exactly that
      old counts), as Four Keys leaves out those under a minute; they are counted in
      ``short_change_count``, not in ``change_count``.
    - change failure rate: deploys in the window that caused a failure (``caused_failure`` or
      named by an incident that started before ``window_end``) / deploys in the window.
    - failed deployment recovery time: median (resolved_at - started_at) in hours over
      deploy-caused incidents that started in the window and were resolved by ``window_end``.
      Incidents still open at ``window_end`` are left out (their duration is not known) and
      counted in ``open_failure_count``.
    - deployment rework rate: deploys in the window marked ``is_rework`` / deploys in the window.

    Raises ``ValueError`` for a naive or empty window.
    """
    _check_window(window_start, window_end)
    incidents = list(incidents)
    in_window = [d for d in deploys if _in_window(d.deployed_at, window_start, window_end)]

    deploy_count = len(in_window)
    days = (window_end - window_start) / DAY
    # Without deploys in the window, 0 is only true if deploys are being ingested at all.
    frequency = deploy_count / days if deploy_count or deploys_tracked else None
    band = (
        deployment_frequency_band(
            [d.deployed_at for d in in_window], window_start=window_start, window_end=window_end
        )
        if frequency is not None
        else None
    )

    if min_change_age < dt.timedelta(0):
        raise ValueError(f"min_change_age cannot be negative, got {min_change_age}")
    ages = [d.deployed_at - committed for d in in_window for committed in d.commit_times]
    lead_times = [_hours(age) for age in ages if age >= min_change_age]
    lead_time = statistics.median(lead_times) if lead_times else None

    known = [i for i in incidents if i.started_at < window_end]
    named_by_incident = {i.caused_by_deploy for i in known if i.caused_by_deploy is not None}
    failed = [d for d in in_window if d.caused_failure or d.id in named_by_incident]
    rework = [d for d in in_window if d.is_rework]
    failure_rate = len(failed) / deploy_count if deploy_count else None
    rework_rate = len(rework) / deploy_count if deploy_count else None

    failures = [
        i
        for i in known
        if i.caused_by_deploy is not None and _in_window(i.started_at, window_start, window_end)
    ]
    recovery_hours = [
        _hours(i.resolved_at - i.started_at)
        for i in failures
        if i.resolved_at is not None and i.resolved_at <= window_end
    ]
    recovery = statistics.median(recovery_hours) if recovery_hours else None

    return DoraMetrics(
        window_start=window_start,
        window_end=window_end,
        deployment_frequency=frequency,
        deployment_frequency_band=band,
        lead_time_for_changes=lead_time,
        change_failure_rate=failure_rate,
        failed_deployment_recovery_time=recovery,
        deployment_rework_rate=rework_rate,
        deploy_count=deploy_count,
        change_count=len(lead_times),
        failed_deploy_count=len(failed),
        rework_deploy_count=len(rework),
        recovered_failure_count=len(recovery_hours),
        open_failure_count=len(failures) - len(recovery_hours),
        short_change_count=len(ages) - len(lead_times),
    )


def dora_metrics_by_team(
    deploys: Iterable[DeployEvent],
    incidents: Iterable[IncidentEvent],
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    deploys_tracked: bool = False,
    min_change_age: dt.timedelta = NO_MIN_CHANGE_AGE,
) -> dict[str, DoraMetrics]:
    """``dora_metrics`` per team, keyed by team slug, sorted.

    A deploy counts for its ``team``. An incident caused by a deploy counts for the team that
    made the deploy, even when another team (say, operations) recorded it: the failure and its
    recovery belong to the deploying team's delivery. Other incidents count for their ``team``.
    A team appears when it has at least one deploy or incident among the events given.
    """
    deploys_of: dict[str, list[DeployEvent]] = {}
    incidents_of: dict[str, list[IncidentEvent]] = {}
    for deploy in deploys:
        deploys_of.setdefault(deploy.team, []).append(deploy)
    team_of_deploy = {d.id: team for team, ds in deploys_of.items() for d in ds}
    for incident in incidents:
        team = team_of_deploy.get(incident.caused_by_deploy or "", incident.team)
        incidents_of.setdefault(team, []).append(incident)
    return {
        team: dora_metrics(
            deploys_of.get(team, []),
            incidents_of.get(team, []),
            window_start=window_start,
            window_end=window_end,
            deploys_tracked=deploys_tracked,
            min_change_age=min_change_age,
        )
        for team in sorted(set(deploys_of) | set(incidents_of))
    }


def incident_count(
    incidents: Iterable[IncidentEvent], *, window_start: dt.datetime, window_end: dt.datetime
) -> int:
    """Incidents (deploy-caused or not) that started in ``[window_start, window_end)``."""
    _check_window(window_start, window_end)
    return sum(1 for i in incidents if _in_window(i.started_at, window_start, window_end))


# --- tickets -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketBacklog:
    """The tickets open at one moment: how many, how many are blocking, the oldest age."""

    at: dt.datetime
    open_count: int
    blocked_count: int  # open and older than the threshold
    blocked_developer_hours: float  # developer hours beyond the threshold, open tickets only
    oldest_age_hours: float | None


def _is_open(ticket: TicketEvent, at: dt.datetime) -> bool:
    return ticket.opened_at <= at and (ticket.closed_at is None or ticket.closed_at > at)


def _check_threshold(threshold_hours: float) -> dt.timedelta:
    if threshold_hours < 0:
        raise ValueError(f"threshold_hours must be >= 0, got {threshold_hours}")
    return dt.timedelta(hours=threshold_hours)


def ticket_backlog(
    tickets: Iterable[TicketEvent],
    *,
    at: dt.datetime,
    threshold_hours: float = DEFAULT_BLOCKED_THRESHOLD_HOURS,
) -> TicketBacklog:
    """The open tickets at ``at`` (opened at or before it, not closed by then) and their age.

    A ticket is blocking when its age is strictly more than ``threshold_hours`` (one exactly
    48 hours old is not yet); its blocked developer hours are ``developers_waiting`` times the
    hours beyond the threshold.
    """
    _require_aware(at, what="at")
    threshold = _check_threshold(threshold_hours)
    open_tickets = [t for t in tickets if _is_open(t, at)]
    blocked = [t for t in open_tickets if at - t.opened_at > threshold]
    hours = sum(_hours(at - t.opened_at - threshold) * t.developers_waiting for t in blocked)
    oldest = max((_hours(at - t.opened_at) for t in open_tickets), default=None)
    return TicketBacklog(
        at=at,
        open_count=len(open_tickets),
        blocked_count=len(blocked),
        blocked_developer_hours=float(hours),
        oldest_age_hours=oldest,
    )


def blocked_developer_hours(
    tickets: Iterable[TicketEvent],
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    threshold_hours: float = DEFAULT_BLOCKED_THRESHOLD_HOURS,
) -> float:
    """Developer hours spent blocked on old tickets during ``[window_start, window_end)``.

    A ticket blocks from ``opened_at + threshold_hours`` until it is closed (or for ever while
    open); each ticket adds ``developers_waiting`` times the hours of that blocked stretch that
    fall inside the window. Closed and still-open tickets count alike, and consecutive windows
    add up: a 7-day window gives "blocked developer hours per week".
    """
    _check_window(window_start, window_end)
    threshold = _check_threshold(threshold_hours)
    total = 0.0
    for ticket in tickets:
        blocked_from = max(ticket.opened_at + threshold, window_start)
        blocked_until = (
            window_end if ticket.closed_at is None else min(ticket.closed_at, window_end)
        )
        if blocked_until > blocked_from:
            total += _hours(blocked_until - blocked_from) * ticket.developers_waiting
    return total


# --- adoption and onboarding ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdoptionReading:
    """How many teams adopted the platform of their own accord.

    ``voluntary_share`` = voluntary_count / (teams_total - mandated_count): the share of the
    teams that were free to choose. None when no team was free to choose.
    """

    voluntary_share: float | None
    voluntary_count: int
    mandated_count: int
    teams_total: int


def voluntary_adoption(
    adoptions: Iterable[AdoptionEvent],
    *,
    teams_total: int,
    capability: str | None = None,
    at: dt.datetime | None = None,
) -> AdoptionReading:
    """Voluntary platform adoption across ``teams_total`` teams.

    Only adoptions of ``capability`` count when it is given (otherwise any capability), and only
    those at or before ``at`` when it is given. A (team, capability) pair with any mandated
    adoption is mandated, even if the team also reported adopting it voluntarily: once a team was
    told to use a capability, its use cannot show that the team wanted it. A team is voluntary
    when it adopted at least one capability voluntarily, mandated when all its adoptions are
    mandated; mandated teams leave the denominator (they were not free to choose).

    Raises ``ValueError`` when ``teams_total`` is negative or smaller than the number of teams
    with adoptions.
    """
    if at is not None:
        _require_aware(at, what="at")
    if isinstance(teams_total, bool) or teams_total < 0:
        raise ValueError(f"teams_total must be a whole number >= 0, got {teams_total!r}")
    mandated_pairs: set[tuple[str, str]] = set()
    pairs: set[tuple[str, str]] = set()
    for event in adoptions:
        if capability is not None and event.capability != capability:
            continue
        if at is not None and event.adopted_at > at:
            continue
        pairs.add((event.team, event.capability))
        if event.mandated:
            mandated_pairs.add((event.team, event.capability))
    adopting = {team for team, _ in pairs}
    voluntary = {team for team, _ in pairs - mandated_pairs}
    mandated = adopting - voluntary
    if len(adopting) > teams_total:
        raise ValueError(
            f"teams_total is {teams_total} but {len(adopting)} teams have adoptions: "
            f"{', '.join(sorted(adopting))}"
        )
    free = teams_total - len(mandated)
    return AdoptionReading(
        voluntary_share=len(voluntary) / free if free else None,
        voluntary_count=len(voluntary),
        mandated_count=len(mandated),
        teams_total=teams_total,
    )


def time_to_first_deploy(
    events: Iterable[FirstDeployEvent],
    *,
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
) -> float | None:
    """Median days from joining to the first production deploy; None without any first deploy.

    With a window, only first deploys made in ``[window_start, window_end)`` count (give both or
    neither). Newcomers who have not deployed yet are left out: the median describes those who
    made it, so a rise in people still waiting shows up only once they deploy.
    """
    if (window_start is None) != (window_end is None):
        raise ValueError("give both window_start and window_end, or neither")
    if window_start is not None and window_end is not None:
        _check_window(window_start, window_end)
    days = [
        (e.first_deploy_at - e.joined_at) / DAY
        for e in events
        if e.first_deploy_at is not None
        and (
            window_start is None
            or window_end is None
            or _in_window(e.first_deploy_at, window_start, window_end)
        )
    ]
    return statistics.median(days) if days else None


# --- onto the signal vocabulary ------------------------------------------------------------------


def signal_readings(
    *,
    as_of: dt.datetime,
    dora: DoraMetrics | None = None,
    backlog: TicketBacklog | None = None,
    blocked_hours: float | None = None,
    adoption: AdoptionReading | None = None,
    first_deploy_days: float | None = None,
    incidents: int | None = None,
) -> dict[str, SignalReading]:
    """The computed results as ``SignalReading``s keyed by signal kind, for storage and criteria.

    Only kinds with a value appear: a result that is None, or not given, yields no reading (no
    data, never a 0). Objective readings have ``respondents=None``. ``open_tickets`` is the open
    count of ``backlog``; ``blocked_developer_hours`` is ``blocked_hours`` (the windowed total of
    ``blocked_developer_hours()``) when given, else the backlog's blocked hours at its moment.
    """
    _require_aware(as_of, what="as_of")
    values: dict[str, float | None] = {}
    if dora is not None:
        values["deployment_frequency"] = dora.deployment_frequency
        values["lead_time_for_changes"] = dora.lead_time_for_changes
        values["change_failure_rate"] = dora.change_failure_rate
        values["failed_deployment_recovery_time"] = dora.failed_deployment_recovery_time
        values["deployment_rework_rate"] = dora.deployment_rework_rate
    if backlog is not None:
        values["open_tickets"] = backlog.open_count
        values["blocked_developer_hours"] = backlog.blocked_developer_hours
    if blocked_hours is not None:
        values["blocked_developer_hours"] = blocked_hours
    if adoption is not None:
        values["platform_adoption"] = adoption.voluntary_share
    values["time_to_first_deploy"] = first_deploy_days
    values["incidents"] = incidents
    return {
        kind: SignalReading(value=float(value), respondents=None, as_of=as_of)
        for kind in INGESTED_SIGNAL_KINDS
        if (value := values.get(kind)) is not None
    }
