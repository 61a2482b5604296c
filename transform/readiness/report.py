"""The readiness report of one organisation and survey period: stored answers and ingested signals
grouped by team, judged on the whole organisation by the anonymity rules, then scored.

Anonymity is decided once per organisation and period, on the whole organisation (the
organisation and every team together, so complementary suppression sees every subtraction),
before anything is filtered for a caller: filtering the output to one team never changes what is
hidden. A suppressed group keeps only its objective, ingested signals. The formula is
``transform.readiness.formula``, the anonymity rules ``transform.readiness.anonymity``."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.utils import timezone

from core.errors import ApplicationError
from playbooks.criteria import SignalReading
from teams.models import Organization, Team
from transform.evidence.selectors import ingested_readings
from transform.instruments.format import (
    ADKAR_ELEMENTS,
    QUESTION_SIGNALS,
)
from transform.instruments.scoring import aggregate
from transform.models import (
    CheckinSettings,
    Response,
    ResponseKind,
)
from transform.readiness import anonymity
from transform.readiness.anonymity import AnonymityPolicy, Group
from transform.readiness.formula import ReadinessScore, readiness_compute
from transform.rhythm.periods import Period

ORG_GROUP: Final = "org"


CONFIDENCE: Final = "checkin_confidence"


ADKAR_KINDS: Final = tuple(f"adkar_{element}" for element in ADKAR_ELEMENTS)


# Every survey-derived kind: a suppressed group shows none of them, whatever their source.
SURVEY_KINDS: Final = frozenset({*QUESTION_SIGNALS, "adkar_barrier"})


# The kinds judged one by one on their own respondent counts (adkar_barrier follows its elements,
# checkin_confidence comes from milestone owners at organisation level only).
JUDGED_KINDS: Final = tuple(kind for kind in QUESTION_SIGNALS if kind != CONFIDENCE)


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


def local_day(at: dt.datetime) -> dt.date:
    """The day ``at`` falls on in the project's TIME_ZONE (periods are days there)."""
    return at.astimezone(timezone.get_default_timezone()).date()


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the project's TIME_ZONE."""
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


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
    """One group in one period after the anonymity rules: what may be shown."""

    respondents: int
    suppressed: bool
    readings: dict[str, SignalReading]


@dataclass(frozen=True, slots=True)
class _Inputs:
    organization: Organization
    settings: CheckinSettings
    policy: AnonymityPolicy
    teams: tuple[TeamRef, ...]
    survey: dict[dt.date, list[tuple[int | None, dict[str, float]]]]
    confidence: dict[dt.date, list[tuple[int | None, float]]]


def _numeric_scores(scores: Any) -> dict[str, float]:
    if not isinstance(scores, dict):
        return {}
    found: dict[str, float] = {}
    for kind, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            found[str(kind)] = float(value)
    return found


def _inputs_load(
    *, organization: Organization, settings: CheckinSettings, starts: Iterable[dt.date]
) -> _Inputs:
    """The organisation's teams and the answers of the periods starting on ``starts``: two
    queries, whatever the number of teams and answers."""
    teams = tuple(
        TeamRef(id=row["id"], slug=row["slug"], name=row["name"])
        for row in Team.objects.filter(organization=organization)
        .order_by("slug")
        .values("id", "slug", "name")
    )
    survey: dict[dt.date, list[tuple[int | None, dict[str, float]]]] = defaultdict(list)
    confidence: dict[dt.date, list[tuple[int | None, float]]] = defaultdict(list)
    rows = Response.objects.filter(
        organization=organization,
        kind__in=[ResponseKind.SURVEY, ResponseKind.MILESTONE_STATUS],
        period_start__in=sorted(set(starts)),
    ).values_list("kind", "team_id", "period_start", "scores", "checkin__recipient_id")
    for kind, team_id, start, scores, recipient_id in rows:
        numeric = _numeric_scores(scores)
        if kind == ResponseKind.SURVEY:
            # Check-in confidence comes from milestone owners, never from an anonymous survey.
            numeric.pop(CONFIDENCE, None)
            survey[start].append((team_id, numeric))
        elif CONFIDENCE in numeric:
            confidence[start].append((recipient_id, numeric[CONFIDENCE]))
    return _Inputs(
        organization=organization,
        settings=settings,
        policy=anonymity_policy_get(settings=settings),
        teams=teams,
        survey=dict(survey),
        confidence=dict(confidence),
    )


def _window(period: Period, *, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The moments the period's ingested signals are computed over: from the period's first
    midnight to its end, or to ``at`` while it runs; None before the period has begun."""
    start = day_start(period.start)
    end = min(day_start(period.end), at)
    return (start, end) if end > start else None


def _objective(readings: Mapping[str, SignalReading] | None) -> dict[str, SignalReading]:
    # Defensive: a suppressed group must never carry a survey-derived value, whatever a signal
    # source returns.
    return {kind: r for kind, r in (readings or {}).items() if kind not in SURVEY_KINDS}


def _judge_period(inputs: _Inputs, period: Period, *, at: dt.datetime) -> dict[int | None, _Judged]:
    """Every group's showable readings for ``period``, keyed by team id (None: organisation).

    Groups: the organisation ("org") and each team ("team:<slug>") under it. A group whose
    survey responses are too few, or whose numbers could be derived from a shown sibling and the
    organisation, is suppressed (``anonymity.suppressed_groups``). Each survey-derived kind is
    also judged on its own respondent counts (people may skip a question, and platform teams are
    not asked about their own platform), the same way, over the same hierarchy.
    """
    window = _window(period, at=at)
    as_of = window[1] if window is not None else day_start(period.start)
    by_team: dict[int | None, list[dict[str, float]]] = defaultdict(list)
    everything: list[dict[str, float]] = []
    for team_id, scores in inputs.survey.get(period.start, []):
        by_team[team_id].append(scores)
        everything.append(scores)
    readings: dict[str, dict[str, SignalReading]] = {ORG_GROUP: aggregate(everything, as_of=as_of)}
    counts: dict[str, int] = {ORG_GROUP: len(everything)}
    groups = [Group(key=ORG_GROUP, parent=None, respondents=len(everything))]
    for team in inputs.teams:
        key = team_group_key(team.slug)
        answers = by_team.get(team.id, [])
        readings[key] = aggregate(answers, as_of=as_of)
        counts[key] = len(answers)
        groups.append(Group(key=key, parent=ORG_GROUP, respondents=len(answers)))
    policy = inputs.policy
    hidden = anonymity.suppressed_groups(groups, policy=policy)
    # Per kind, over the same tree. For this two-level tree hiding the union of the group-level
    # and the kind-level suppressions stays safe: a team hidden only at group level has at least
    # the threshold of answers to the kind, so the organisation's uncovered count for the kind
    # grows by 0 or by at least the threshold.
    hidden_by_kind = {
        kind: anonymity.suppressed_groups(
            [
                Group(key=g.key, parent=g.parent, respondents=_kind_count(readings[g.key], kind))
                for g in groups
            ],
            policy=policy,
        )
        for kind in JUDGED_KINDS
        if kind in readings[ORG_GROUP]
    }
    ingested: dict[int | None, dict[str, SignalReading]] = {}
    if window is not None:
        ingested = ingested_readings(
            organization=inputs.organization, start=window[0], end=window[1]
        )

    def judged(key: str, team_id: int | None) -> _Judged:
        objective = _objective(ingested.get(team_id))
        if key in hidden:
            return _Judged(respondents=counts[key], suppressed=True, readings=objective)
        raw = readings[key]
        shown = {
            kind: reading
            for kind, reading in raw.items()
            if kind in hidden_by_kind and key not in hidden_by_kind[kind]
        }
        adkar_present = [kind for kind in ADKAR_KINDS if kind in raw]
        if "adkar_barrier" in raw and all(kind in shown for kind in adkar_present):
            shown["adkar_barrier"] = raw["adkar_barrier"]
        if team_id is None:
            confidence = _confidence_reading(
                inputs.confidence.get(period.start, []), as_of=as_of, policy=policy
            )
            if confidence is not None:
                shown[CONFIDENCE] = confidence
        return _Judged(respondents=counts[key], suppressed=False, readings={**objective, **shown})

    result: dict[int | None, _Judged] = {None: judged(ORG_GROUP, None)}
    for team in inputs.teams:
        result[team.id] = judged(team_group_key(team.slug), team.id)
    return result


def _kind_count(readings: Mapping[str, SignalReading], kind: str) -> int:
    reading = readings.get(kind)
    if reading is None or reading.respondents is None:
        return 0
    return reading.respondents


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
    needed = {*periods, *(period.previous() for period in periods)}
    inputs = _inputs_load(
        organization=organization, settings=settings, starts=[p.start for p in needed]
    )
    judged = {period: _judge_period(inputs, period, at=at) for period in needed}
    reports = {}
    for period in periods:
        now, before = judged[period], judged[period.previous()]
        reports[period] = ReadinessReport(
            organization=organization,
            period=period,
            policy=inputs.policy,
            organization_group=_group(
                team=None, period=period, current=now[None], previous=before[None]
            ),
            teams=tuple(
                _group(team=team, period=period, current=now[team.id], previous=before[team.id])
                for team in inputs.teams
            ),
        )
    return _Computed(reports=reports, judged=judged)
