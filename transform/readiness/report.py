"""The readiness report of one organisation and survey period: stored answers and ingested signals
grouped by team, judged on the whole organisation by the anonymity rules, then scored.

Anonymity is decided once per organisation and period, on the whole organisation (the
organisation and every team together, so complementary suppression sees every subtraction),
before anything is filtered for a caller: filtering the output to one team never changes what is
hidden. Every survey figure covers only published answers (``anonymity.published_answers``:
whole batches of the minimum group size, in arrival order, counted for the team each answer was
given for), so figures move only in steps of whole batches, as answers arrive, never because the
topology changed (docs/anonymity.md, "Anonymity over time"). A suppressed group keeps only its objective, ingested signals. The formula is
``transform.readiness.formula``, the anonymity rules ``transform.readiness.anonymity``."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.errors import ApplicationError
from playbooks.criteria import SignalReading
from teams.models import Organization, Team
from teams.zones import organization_zone
from transform.evidence.selectors import (
    ReadingsVersions,
    ingested_readings,
    readings_hour,
    readings_versions_get,
)
from transform.instruments.format import (
    ADKAR_ELEMENTS,
    QUESTION_SIGNALS,
)
from transform.instruments.scoring import aggregate
from transform.models import (
    CheckinSettings,
    Response,
    ResponseKind,
    SurveyRollup,
    SurveyRollupScope,
)
from transform.readiness import anonymity, rollups
from transform.readiness.anonymity import AnonymityPolicy, Arrival
from transform.readiness.formula import ReadinessScore, readiness_compute
from transform.rhythm.periods import Period, survey_period

ORG_GROUP: Final = "org"


CONFIDENCE: Final = "checkin_confidence"


ADKAR_KINDS: Final = tuple(f"adkar_{element}" for element in ADKAR_ELEMENTS)


# Every survey-derived kind: a suppressed group shows none of them, whatever their source.
SURVEY_KINDS: Final = frozenset({*QUESTION_SIGNALS, "adkar_barrier"})


# The kinds judged one by one on their own respondent counts (adkar_barrier follows its elements,
# checkin_confidence comes from milestone owners at organisation level only).
JUDGED_KINDS: Final = rollups.KINDS


def team_group_key(slug: str) -> str:
    """The anonymity group key of a team."""
    return f"team:{slug}"


@dataclass(frozen=True, slots=True)
class TeamRef:
    """What a report says about a team: its id (internal), slug and name."""

    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class GroupReadiness:
    """One group's (a team's or the organisation's) readiness for one period, as it may be shown.

    When ``suppressed``, ``respondents`` and ``result`` are None and ``signals`` holds only
    ingested (objective) readings. Otherwise ``signals`` holds the survey-derived readings that
    passed the anonymity rules plus the ingested ones, and ``result`` is the readiness computed
    from exactly those.
    """

    team: TeamRef | None  # None: the organisation
    period: Period
    respondents: int | None
    suppressed: bool
    result: ReadinessScore | None
    signals: dict[str, SignalReading]

    @property
    def score(self) -> float | None:
        return self.result.score if self.result is not None else None

    def fields(self) -> dict[str, Any]:
        """Everything but the group's name: the part teams and the organisation share."""
        result = self.result
        return {
            "period": self.period.as_dict(),
            "respondents": self.respondents,
            "suppressed": self.suppressed,
            "score": result.score if result is not None else None,
            "trend": result.trend if result is not None else None,
            "delta": result.delta if result is not None else None,
            "barrier": result.barrier if result is not None else None,
            "components": (
                {name: c.as_dict() for name, c in result.components.items()}
                if result is not None
                else {}
            ),
            "signals": signals_as_dict(self.signals),
        }


def signals_as_dict(readings: Mapping[str, SignalReading]) -> dict[str, dict[str, Any]]:
    """``{kind: {"value", "respondents"}}`` sorted by kind, ready for JSON."""
    return {
        kind: {"value": reading.value, "respondents": reading.respondents}
        for kind, reading in sorted(readings.items())
    }


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """The readiness of an organisation and each of its teams (by slug) for one period."""

    organization: Organization
    period: Period
    policy: AnonymityPolicy
    organization_group: GroupReadiness
    teams: tuple[GroupReadiness, ...]

    def team(self, slug: str) -> GroupReadiness | None:
        return next((g for g in self.teams if g.team is not None and g.team.slug == slug), None)

    def as_dict(
        self, *, team: str | None = None, team_slugs: frozenset[str] | None = None
    ) -> dict[str, Any]:
        """The API shape; ``team`` keeps only that team's row and ``team_slugs`` (when not None)
        only those teams' rows (suppression is already decided on the whole organisation, so
        filtering cannot reveal anything). Raises ApplicationError for a team the organisation
        does not have."""
        groups = self.teams
        if team is not None:
            found = self.team(team)
            if found is None:
                message = f"No team with slug '{team}' in organisation '{self.organization.slug}'."
                raise ApplicationError(message, extra={"fields": {"team": [message]}})
            groups = (found,)
        if team_slugs is not None:
            groups = tuple(g for g in groups if g.team is not None and g.team.slug in team_slugs)
        return {
            "organization": {
                "organization": self.organization.slug,
                "organization_name": self.organization.name,
                **self.organization_group.fields(),
            },
            "teams": [
                {"team": g.team.slug, "team_name": g.team.name, **g.fields()}
                for g in groups
                if g.team is not None
            ],
            "period": self.period.as_dict(),
            "min_group_size": self.policy.min_group_size,
        }


def local_day(at: dt.datetime, zone: dt.tzinfo | None = None) -> dt.date:
    """The day ``at`` falls on in ``zone``: periods are days of the organisation's zone
    (``teams.zones.organization_zone``; the project's TIME_ZONE when not given)."""
    return at.astimezone(zone or timezone.get_default_timezone()).date()


def day_start(day: dt.date, zone: dt.tzinfo | None = None) -> dt.datetime:
    """Midnight at the start of ``day`` in ``zone`` (the project's TIME_ZONE when not given)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone or timezone.get_default_timezone())


def anonymity_policy_get(*, settings: CheckinSettings) -> AnonymityPolicy:
    """The organisation's anonymity thresholds from its check-in settings."""
    return anonymity.policy_from_settings(
        {
            "min_group_size": settings.min_group_size,
            "min_free_text_group_size": settings.min_free_text_group_size,
        }
    )


@dataclass(frozen=True, slots=True)
class _Judged:
    """One group in one period after the anonymity rules: what may be shown.

    ``respondents`` is the number of published answers the figures cover (0 when suppressed);
    ``answers`` every answer given for the group, for internal decisions only, never shown.
    """

    respondents: int
    suppressed: bool
    readings: dict[str, SignalReading]
    answers: int = 0


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """One stored survey answer as the readiness report reads it: ``id`` (arrival order), the
    team it was given for then, the day it was submitted and its numeric scores."""

    id: int
    team_id: int | None
    submitted_on: dt.date
    scores: dict[str, float]


@dataclass(frozen=True, slots=True)
class _Inputs:
    organization: Organization
    settings: CheckinSettings
    policy: AnonymityPolicy
    teams: tuple[TeamRef, ...]
    live: frozenset[int]
    survey: dict[dt.date, list[SurveyAnswer]]
    confidence: dict[dt.date, list[tuple[int | None, float]]]
    # Read before the answers: the cached ingested readings of every period are keyed by it.
    versions: ReadingsVersions

    def teams_of(self, period: Period) -> tuple[TeamRef, ...]:
        """The groups of ``period``: every live team, and each retired team with answers in it."""
        answered = {answer.team_id for answer in self.survey.get(period.start, [])}
        return period_teams(self.teams, live=self.live, answered=answered)


def survey_teams_get(
    *, organization: Organization, starts: Iterable[dt.date]
) -> tuple[tuple[TeamRef, ...], frozenset[int]]:
    """The organisation's live teams and its retired teams with survey answers in the periods
    starting on ``starts`` (sorted by slug), and the ids of the live ones: one query.

    A retired team stays a group of every period it has answers in, so that its answers keep
    counting for it and no figure of that period changes because it was retired, merged away or
    deleted."""
    answered = Response.objects.filter(
        team=OuterRef("pk"), kind=ResponseKind.SURVEY, period_start__in=sorted(set(starts))
    )
    return _teams_get(organization=organization, answered=answered)


def _teams_get(
    *, organization: Organization, answered: Any
) -> tuple[tuple[TeamRef, ...], frozenset[int]]:
    rows = (
        Team.all_objects.filter(organization=organization)
        .filter(Q(retired_at__isnull=True) | Q(Exists(answered)))
        .order_by("slug")
        .values("id", "slug", "name", "retired_at")
    )
    teams: list[TeamRef] = []
    live: set[int] = set()
    for row in rows:
        teams.append(TeamRef(id=row["id"], slug=row["slug"], name=row["name"]))
        if row["retired_at"] is None:
            live.add(row["id"])
    return tuple(teams), frozenset(live)


def period_teams(
    teams: Iterable[TeamRef], *, live: Collection[int], answered: Collection[int | None]
) -> tuple[TeamRef, ...]:
    """Of ``teams``, those that are groups of a period whose answers were given for the team
    ids ``answered``: the live ones, and retired ones with answers."""
    return tuple(t for t in teams if t.id in live or t.id in answered)


def period_closed(period: Period, *, at: dt.datetime, zone: dt.tzinfo | None = None) -> bool:
    """Whether ``period`` has ended at ``at`` (its last day is over in ``zone``, the
    organisation's)."""
    return at >= day_start(period.end, zone)


def survey_arrivals(
    answers: Iterable[SurveyAnswer], *, teams: Iterable[TeamRef], period: Period, closed: bool
) -> list[Arrival]:
    """The answers as ``anonymity.publication_plan`` sees them: each counted for the team it was
    given for (``team:<slug>``; None when given for no team), late when submitted on or after
    the period's end and the period has closed."""
    keys = {team.id: team_group_key(team.slug) for team in teams}
    return [
        Arrival(
            id=answer.id,
            group=keys[answer.team_id] if answer.team_id is not None else None,
            late=closed and answer.submitted_on >= period.end,
        )
        for answer in answers
    ]


def _answers_load(
    *, organization: Organization, settings: CheckinSettings, starts: Iterable[dt.date]
) -> _Inputs:
    """The organisation's live teams, its retired teams with survey answers in those periods
    (still groups of them), and every answer of the periods starting on ``starts`` in arrival
    order: the reference path (``readiness_periods_compute_from_answers``), never a request's."""
    versions = readings_versions_get(organization=organization)
    starts = sorted(set(starts))
    teams, live = survey_teams_get(organization=organization, starts=starts)
    survey: dict[dt.date, list[SurveyAnswer]] = defaultdict(list)
    confidence: dict[dt.date, list[tuple[int | None, float]]] = defaultdict(list)
    rows = rollups.responses_read(organization=organization, period_start__in=starts)
    for pk, kind, team_id, start, submitted_on, scores, recipient_id in rows:
        numeric = rollups.numeric_scores(scores)
        if kind == ResponseKind.SURVEY:
            # Check-in confidence comes from milestone owners, never from an anonymous survey.
            numeric.pop(CONFIDENCE, None)
            survey[start].append(
                SurveyAnswer(id=pk, team_id=team_id, submitted_on=submitted_on, scores=numeric)
            )
        elif CONFIDENCE in numeric:
            confidence[start].append((recipient_id, numeric[CONFIDENCE]))
    return _Inputs(
        organization=organization,
        settings=settings,
        policy=anonymity_policy_get(settings=settings),
        teams=teams,
        live=live,
        survey=dict(survey),
        confidence=dict(confidence),
        versions=versions,
    )


@dataclass(frozen=True, slots=True)
class _RollupInputs:
    organization: Organization
    settings: CheckinSettings
    policy: AnonymityPolicy
    teams: tuple[TeamRef, ...]
    live: frozenset[int]
    rows: dict[dt.date, list[rollups.RollupRow]]
    versions: ReadingsVersions

    def teams_of(self, period: Period) -> tuple[TeamRef, ...]:
        """The groups of ``period``: every live team, and each retired team with answers in it."""
        answered = {
            row.team_id
            for row in self.rows.get(period.start, ())
            if row.scope == SurveyRollupScope.TEAM
        }
        return period_teams(self.teams, live=self.live, answered=answered)


def _rollups_load(
    *,
    organization: Organization,
    settings: CheckinSettings,
    periods: Iterable[Period],
    at: dt.datetime,
) -> _RollupInputs:
    """The organisation's survey rollups of ``periods`` (refreshed first if answers came in
    since), its live teams and its retired teams with answers in them: two queries when the
    rollups are current, whatever the number of teams and answers."""
    versions = readings_versions_get(organization=organization)
    periods = list(periods)
    ends = {period.start: period.end for period in periods}
    zone = organization_zone(organization)
    closed = {period.start for period in periods if period_closed(period, at=at, zone=zone)}
    rows = rollups.survey_rollups_read(
        organization=organization, settings=settings, ends=ends, closed=closed
    )
    answered = SurveyRollup.objects.filter(
        team=OuterRef("pk"), scope=SurveyRollupScope.TEAM, period_start__in=sorted(ends)
    )
    teams, live = _teams_get(organization=organization, answered=answered)
    return _RollupInputs(
        organization=organization,
        settings=settings,
        policy=anonymity_policy_get(settings=settings),
        teams=teams,
        live=live,
        rows=rows,
        versions=versions,
    )


def _window(
    period: Period, *, at: dt.datetime, zone: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime] | None:
    """The moments the period's ingested signals are computed over: from the period's first
    midnight to its end, or while it runs to the start of ``at``'s hour (``readings_hour``);
    None before then."""
    start = day_start(period.start, zone)
    end = min(day_start(period.end, zone), readings_hour(at))
    return (start, end) if end > start else None


def _ingested(
    inputs: _Inputs | _RollupInputs, window: tuple[dt.datetime, dt.datetime] | None
) -> dict[int | None, dict[str, SignalReading]]:
    """The period's ingested readings per team (None: organisation); none before it begins."""
    if window is None:
        return {}
    return ingested_readings(
        organization=inputs.organization,
        start=window[0],
        end=window[1],
        min_change_age=inputs.settings.lead_time_min_change_age,
        versions=inputs.versions,
    )


def _objective(readings: Mapping[str, SignalReading] | None) -> dict[str, SignalReading]:
    # Defensive: a suppressed group must never carry a survey-derived value, whatever a signal
    # source returns.
    return {kind: r for kind, r in (readings or {}).items() if kind not in SURVEY_KINDS}


def _judge_period(
    inputs: _RollupInputs, period: Period, *, at: dt.datetime, teams_too: bool = True
) -> dict[int | None, _Judged]:
    """Every group's showable readings for ``period`` from its survey rollups, keyed by team id
    (None: organisation): the same figures as ``_judge_period_from_answers`` computes from the
    answers (a property test holds them equal), reading a few rows per team.

    Every published figure is a union of whole batches, so every count is a multiple of the
    minimum group size ``k``: a team's is 0 or at least ``k``, and the organisation's answers
    outside its shown teams (its no-team and pooled batches, and hidden teams') are 0 or at least
    ``k`` too. Complementary suppression over such counts therefore hides exactly the groups
    without a published batch (``anonymity.published_answers`` on the same counts finds nothing
    more), and for each kind, those plus the groups hidden as a whole.
    """
    zone = organization_zone(inputs.organization)
    window = _window(period, at=at, zone=zone)
    as_of = window[1] if window is not None else day_start(period.start, zone)
    closed = period_closed(period, at=at, zone=zone)
    policy = inputs.policy
    teams = inputs.teams_of(period)
    figures = rollups.period_figures(inputs.rows.get(period.start, ()), closed=closed)
    published = figures.counts[rollups.ANSWERS]
    ingested = _ingested(inputs, window)

    def judged(team_id: int | None) -> _Judged:
        objective = _objective(ingested.get(team_id))
        received = figures.received.get(team_id, 0)
        respondents = published.get(team_id, 0)
        if respondents < policy.min_group_size:
            return _Judged(respondents=0, suppressed=True, readings=objective, answers=received)
        counts = {kind: figures.counts[kind].get(team_id, 0) for kind in JUDGED_KINDS}
        sums = {kind: figures.sums[kind].get(team_id, 0.0) for kind in JUDGED_KINDS}
        shown_readings = rollups.readings_from_totals(sums, counts, as_of=as_of)
        if team_id is None and figures.confidence is not None:
            count, total, people = figures.confidence
            if anonymity.reportable(people, policy=policy):
                shown_readings[CONFIDENCE] = SignalReading(
                    value=total / count, respondents=people, as_of=as_of
                )
        return _Judged(
            respondents=respondents,
            suppressed=False,
            readings={**objective, **shown_readings},
            answers=received,
        )

    # Each group is judged on its own figures (see above), so the organisation alone needs no
    # team's judgement.
    result: dict[int | None, _Judged] = {None: judged(None)}
    for team in teams if teams_too else ():
        result[team.id] = judged(team.id)
    return result


def _judge_period_from_answers(
    inputs: _Inputs, period: Period, *, at: dt.datetime
) -> dict[int | None, _Judged]:
    """Every group's showable readings for ``period``, keyed by team id (None: organisation).

    Groups: the organisation ("org") and each team of the period ("team:<slug>", retired ones
    with answers included) under it. Each answer counts for the team it was given for. A group's
    figures cover only its published answers (``anonymity.published_answers`` at the minimum
    group size): a group without a published batch is suppressed, and complementary suppression
    runs on the published counts. Each survey-derived kind is published the same way over the
    answers that have it (people may skip a question, and platform teams are not asked about
    their own platform), starting from the groups hidden as a whole.
    """
    zone = organization_zone(inputs.organization)
    window = _window(period, at=at, zone=zone)
    as_of = window[1] if window is not None else day_start(period.start, zone)
    closed = period_closed(period, at=at, zone=zone)
    answers = inputs.survey.get(period.start, [])
    teams = inputs.teams_of(period)
    keys = [team_group_key(team.slug) for team in teams]
    policy = inputs.policy

    def published(
        selected: Iterable[SurveyAnswer], hidden: Iterable[str] = ()
    ) -> dict[str, frozenset[int] | None]:
        return anonymity.published_answers(
            survey_arrivals(selected, teams=teams, period=period, closed=closed),
            root=ORG_GROUP,
            groups=keys,
            size=policy.min_group_size,
            closed=closed,
            hidden=frozenset(hidden),
        )

    shown = published(answers)
    hidden = [key for key, covered in shown.items() if covered is None]
    by_kind = {
        kind: published([a for a in answers if kind in a.scores], hidden)
        for kind in JUDGED_KINDS
        if any(kind in a.scores for a in answers)
    }
    scores = {answer.id: answer.scores for answer in answers}
    counts: dict[int | None, int] = defaultdict(int)
    for answer in answers:
        counts[None] += 1
        counts[answer.team_id] += 1
    ingested = _ingested(inputs, window)

    def judged(key: str, team_id: int | None) -> _Judged:
        objective = _objective(ingested.get(team_id))
        covered = shown[key]
        if covered is None:
            return _Judged(
                respondents=0, suppressed=True, readings=objective, answers=counts[team_id]
            )
        # Each kind over exactly its published answers; the barrier follows from those means.
        per_answer: dict[int, dict[str, float]] = defaultdict(dict)
        for kind, groups in by_kind.items():
            for answer_id in groups[key] or ():
                per_answer[answer_id][kind] = scores[answer_id][kind]
        shown_readings = aggregate(
            [per_answer[answer_id] for answer_id in sorted(per_answer)], as_of=as_of
        )
        if team_id is None:
            confidence = _confidence_reading(
                inputs.confidence.get(period.start, []), as_of=as_of, policy=policy
            )
            if confidence is not None:
                shown_readings[CONFIDENCE] = confidence
        return _Judged(
            respondents=len(covered),
            suppressed=False,
            readings={**objective, **shown_readings},
            answers=counts[team_id],
        )

    result: dict[int | None, _Judged] = {None: judged(ORG_GROUP, None)}
    for team in teams:
        result[team.id] = judged(team_group_key(team.slug), team.id)
    return result


def _confidence_reading(
    answers: Sequence[tuple[int | None, float]], *, as_of: dt.datetime, policy: AnonymityPolicy
) -> SignalReading | None:
    """Milestone owners' mean confidence over the period's status answers; ``respondents`` is
    the number of different owners who answered. Withheld below the minimum group size like any
    other survey aggregate."""
    if not answers:
        return None
    people = {person for person, _value in answers}
    if not anonymity.reportable(len(people), policy=policy):
        return None
    mean = sum(value for _person, value in answers) / len(answers)
    return SignalReading(value=mean, respondents=len(people), as_of=as_of)


def _group(
    *,
    team: TeamRef | None,
    period: Period,
    current: _Judged,
    previous: _Judged | None,
) -> GroupReadiness:
    if current.suppressed:
        return GroupReadiness(
            team=team,
            period=period,
            respondents=None,
            suppressed=True,
            result=None,
            signals=current.readings,
        )
    before = None
    if previous is not None and not previous.suppressed:
        before = readiness_compute(previous.readings)
    return GroupReadiness(
        team=team,
        period=period,
        respondents=current.respondents,
        suppressed=False,
        result=readiness_compute(current.readings, previous=before),
        signals=current.readings,
    )


@dataclass(frozen=True, slots=True)
class _Computed:
    reports: dict[Period, ReadinessReport]
    judged: dict[Period, dict[int | None, _Judged]]


def readiness_periods_compute(
    *,
    organization: Organization,
    settings: CheckinSettings,
    periods: Sequence[Period],
    at: dt.datetime,
) -> _Computed:
    """The reports of ``periods`` (and each one's previous period, for trends) from the survey
    rollups (``transform.readiness.rollups``), never from the answers themselves."""
    needed = {*periods, *(period.previous() for period in periods)}
    inputs = _rollups_load(organization=organization, settings=settings, periods=needed, at=at)
    judged = {period: _judge_period(inputs, period, at=at) for period in needed}
    return _reports_build(inputs, periods=periods, judged=judged)


def organization_readings_compute(
    *,
    organization: Organization,
    settings: CheckinSettings,
    periods: Sequence[Period],
    at: dt.datetime,
) -> dict[Period, dict[str, SignalReading]]:
    """The organisation's showable readings of each of ``periods``: those of
    ``readiness_periods_compute``'s ``judged[period][None]``, without judging every team (exit
    criteria read the organisation only)."""
    inputs = _rollups_load(organization=organization, settings=settings, periods=periods, at=at)
    return {
        period: _judge_period(inputs, period, at=at, teams_too=False)[None].readings
        for period in periods
    }


def readiness_periods_compute_from_answers(
    *,
    organization: Organization,
    settings: CheckinSettings,
    periods: Sequence[Period],
    at: dt.datetime,
) -> _Computed:
    """The same reports computed from every stored answer, as before rollups: the reference
    the rollups are checked against (tests, ``rebuild_readiness_rollups --check``). Reads every
    answer of the periods; never on a request path."""
    needed = {*periods, *(period.previous() for period in periods)}
    inputs = _answers_load(
        organization=organization, settings=settings, starts=[p.start for p in needed]
    )
    judged = {period: _judge_period_from_answers(inputs, period, at=at) for period in needed}
    return _reports_build(inputs, periods=periods, judged=judged)


def _reports_build(
    inputs: _Inputs | _RollupInputs,
    *,
    periods: Sequence[Period],
    judged: dict[Period, dict[int | None, _Judged]],
) -> _Computed:
    organization, policy, teams_of = inputs.organization, inputs.policy, inputs.teams_of
    reports = {}
    for period in periods:
        now, before = judged[period], judged[period.previous()]
        reports[period] = ReadinessReport(
            organization=organization,
            period=period,
            policy=policy,
            organization_group=_group(
                team=None, period=period, current=now[None], previous=before[None]
            ),
            teams=tuple(
                _group(team=team, period=period, current=now[team.id], previous=before.get(team.id))
                for team in teams_of(period)
            ),
        )
    return _Computed(reports=reports, judged=judged)


def readiness_rollups_check(
    *, organization: Organization, settings: CheckinSettings, at: dt.datetime
) -> list[str]:
    """Differences between the figures of the survey period containing ``at`` (and the one
    before) read from the rollups and computed from every answer; [] when they agree. Means may
    differ in the last bits (sums are added batch by batch), so they are compared to 1e-9."""
    period = survey_period_of(at, settings=settings, zone=organization_zone(organization))
    rolled = readiness_periods_compute(
        organization=organization, settings=settings, periods=[period], at=at
    )
    raw = readiness_periods_compute_from_answers(
        organization=organization, settings=settings, periods=[period], at=at
    )
    problems = []
    for when, groups in raw.judged.items():
        for key, expected in groups.items():
            got = rolled.judged[when].get(key)
            where = f"period {when.start} group {'organisation' if key is None else key}"
            if got is None:
                problems.append(f"{where}: missing from the rollups")
                continue
            if (got.suppressed, got.respondents) != (expected.suppressed, expected.respondents):
                problems.append(
                    f"{where}: rollups say suppressed={got.suppressed} respondents="
                    f"{got.respondents}, answers say suppressed={expected.suppressed} "
                    f"respondents={expected.respondents}"
                )
            for kind in sorted(set(got.readings) | set(expected.readings)):
                a, b = got.readings.get(kind), expected.readings.get(kind)
                if (
                    a is None
                    or b is None
                    or a.respondents != b.respondents
                    or not math.isclose(float(a.value), float(b.value), rel_tol=1e-9)
                ):
                    problems.append(f"{where}: {kind} reads {a} from rollups, {b} from answers")
    return problems


def survey_period_of(
    at: dt.datetime, *, settings: CheckinSettings, zone: dt.tzinfo | None = None
) -> Period:
    """The survey period containing ``at`` (its day in ``zone``, the organisation's)."""
    return survey_period(local_day(at, zone), settings=settings)
