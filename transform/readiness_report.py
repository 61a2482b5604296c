"""Readiness per team and organisation from stored survey answers and ingested signals.

Reads (``readiness_report_get``, ``readiness_comments_get``, ``readiness_history``,
``signal_lookup_get``) and the nightly job that stores snapshots and queues drop alerts
(``readiness_nightly``). The formula is ``transform/readiness.py``, the anonymity rules are
``transform/anonymity.py``; this module decides which answers go into which group and what may be
shown. ``docs/readiness.md`` ("Stored results and the API") documents the shapes and the rules.

Anonymity is decided once per organisation and period, on the whole organisation (the
organisation and every team together, so complementary suppression sees every subtraction),
before anything is filtered for a caller: filtering the output to one team never changes what is
hidden. A suppressed group keeps only its objective, ingested signals.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from playbooks.criteria import SignalLookup, SignalReading
from teams.models import Organization, Person, Team
from transform import anonymity
from transform.anonymity import AnonymityPolicy, Group
from transform.errors import ApplicationError
from transform.instrument_store import instrument_get
from transform.instruments import (
    ADKAR_ELEMENTS,
    QUESTION_SIGNALS,
    FreeTextQuestion,
    InstrumentSpec,
    aggregate,
)
from transform.models import (
    CheckinSettings,
    Delivery,
    DeliveryKind,
    Milestone,
    MilestoneStatus,
    ReadinessSnapshot,
    Response,
    ResponseKind,
    Transformation,
)
from transform.readiness import ReadinessScore, readiness_compute, readiness_drop
from transform.rhythm import Period, checkin_settings_get, deliveries_queue, survey_period
from transform.signals import ingested_readings

ORG_GROUP: Final = "org"
CONFIDENCE: Final = "checkin_confidence"
ADKAR_KINDS: Final = tuple(f"adkar_{element}" for element in ADKAR_ELEMENTS)
# Every survey-derived kind: a suppressed group shows none of them, whatever their source.
SURVEY_KINDS: Final = frozenset({*QUESTION_SIGNALS, "adkar_barrier"})
# The kinds judged one by one on their own respondent counts (adkar_barrier follows its elements,
# checkin_confidence comes from milestone owners at organisation level only).
JUDGED_KINDS: Final = tuple(kind for kind in QUESTION_SIGNALS if kind != CONFIDENCE)
PERIOD_FORMAT_HELP: Final = "a date as YYYY-MM-DD (any day inside the wanted survey period)"


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

    def as_dict(self, *, team: str | None = None) -> dict[str, Any]:
        """The API shape; ``team`` keeps only that team's row (suppression is already decided on
        the whole organisation, so filtering cannot reveal anything). Raises ApplicationError
        for a team the organisation does not have."""
        groups = self.teams
        if team is not None:
            found = self.team(team)
            if found is None:
                message = f"No team with slug '{team}' in organisation '{self.organization.slug}'."
                raise ApplicationError(message, extra={"fields": {"team": [message]}})
            groups = (found,)
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


# --- moments and periods -------------------------------------------------------------------------


def local_day(at: dt.datetime) -> dt.date:
    """The day ``at`` falls on in the project's TIME_ZONE (periods are days there)."""
    return at.astimezone(timezone.get_default_timezone()).date()


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the project's TIME_ZONE."""
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def period_param_parse(
    text: str | None, *, settings: CheckinSettings, field: str = "period"
) -> Period | None:
    """The survey period containing the day ``text`` names (YYYY-MM-DD); None for no text.

    Raises ApplicationError naming ``field`` and the expected format otherwise.
    """
    if text is None or not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        day = None
    if day is None or len(text.strip()) != 10:
        message = f"Expected {PERIOD_FORMAT_HELP}; got '{text}'."
        raise ApplicationError(message, extra={"fields": {field: [message]}})
    return survey_period(day, settings=settings)


def anonymity_policy_get(*, settings: CheckinSettings) -> AnonymityPolicy:
    """The organisation's anonymity thresholds from its check-in settings."""
    return anonymity.policy_from_settings(
        {
            "min_group_size": settings.min_group_size,
            "min_free_text_group_size": settings.min_free_text_group_size,
        }
    )


# --- computing ----------------------------------------------------------------------------------


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


def _compute(
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


def readiness_report_get(
    *, organization: Organization, period: Period | None = None, at: dt.datetime
) -> ReadinessReport:
    """The organisation's and every team's readiness for ``period`` (default: the survey period
    containing ``at``'s day), with trends against the period before.

    Survey answers of the period are grouped by team; the anonymity rules are applied to the
    whole organisation at once; a shown group's readiness is computed from its shown survey
    readings plus its ingested signals over the period (up to ``at`` while it runs), its trend
    from the same group's previous-period score when that one was shown. A fixed number of
    queries whatever the number of teams and answers.
    """
    settings = checkin_settings_get(organization=organization)
    if period is None:
        period = survey_period(local_day(at), settings=settings)
    computed = _compute(organization=organization, settings=settings, periods=[period], at=at)
    return computed.reports[period]


# --- exit criteria ------------------------------------------------------------------------------


def organization_readings_get(
    *, organization: Organization, at: dt.datetime
) -> dict[str, SignalReading]:
    """The organisation-level readings exit criteria see at ``at``: those of the current survey
    period, and for a kind without one there, the previous period's (the latest reading; its
    ``as_of`` says which). Survey-derived readings only while the organisation's group is shown
    in that period, each with its respondent count so ``min_respondents`` applies."""
    settings = checkin_settings_get(organization=organization)
    period = survey_period(local_day(at), settings=settings)
    computed = _compute(organization=organization, settings=settings, periods=[period], at=at)
    current = computed.judged[period][None].readings
    previous = computed.judged[period.previous()][None].readings
    return {**previous, **current}


def signal_lookup_get(*, organization: Organization, at: dt.datetime) -> SignalLookup:
    """A lookup from signal kind to the organisation's latest reading (None without data), for
    ``playbooks.criteria.evaluate_criteria``; see ``organization_readings_get``.

    The readings are read on the first call, once: evaluating criteria without a signal
    threshold reads no answers and no events.
    """
    found: list[dict[str, SignalReading]] = []

    def lookup(kind: str) -> SignalReading | None:
        if not found:
            found.append(organization_readings_get(organization=organization, at=at))
        return found[0].get(kind)

    return lookup


# --- free-text comments ---------------------------------------------------------------------------


def _instrument_pairs(value: Any) -> dict[str, int]:
    """``{key: version}`` from a Response's ``instruments`` ([[key, version], ...])."""
    pairs: dict[str, int] = {}
    if not isinstance(value, list):
        return pairs
    for item in value:
        if isinstance(item, list | tuple) and len(item) == 2:
            key, version = item
        elif isinstance(item, dict):
            key, version = item.get("key"), item.get("version")
        else:
            continue
        if isinstance(key, str) and isinstance(version, int) and not isinstance(version, bool):
            pairs[key] = version
    return pairs


def readiness_comments_get(
    *, organization: Organization, period: Period | None = None, at: dt.datetime
) -> dict[str, Any]:
    """The free-text survey answers of ``period`` (default: the one containing ``at``), per
    group, without identity: sorted texts per question, for the organisation (every answer) and
    each team, only for groups outside ``anonymity.free_text_suppressed_groups``; other groups
    read ``{"suppressed": true}``. Queries: settings, teams, answers, one per instrument version
    answered (never per answer or team)."""
    settings = checkin_settings_get(organization=organization)
    if period is None:
        period = survey_period(local_day(at), settings=settings)
    policy = anonymity_policy_get(settings=settings)
    teams = tuple(
        TeamRef(id=row["id"], slug=row["slug"], name=row["name"])
        for row in Team.objects.filter(organization=organization)
        .order_by("slug")
        .values("id", "slug", "name")
    )
    rows = list(
        Response.objects.filter(
            organization=organization, kind=ResponseKind.SURVEY, period_start=period.start
        ).values_list("team_id", "instruments", "answers")
    )
    counts: dict[int | None, int] = defaultdict(int)
    for team_id, _instruments, _answers in rows:
        counts[team_id] += 1
    groups = [Group(key=ORG_GROUP, parent=None, respondents=len(rows))]
    groups += [
        Group(key=team_group_key(t.slug), parent=ORG_GROUP, respondents=counts[t.id]) for t in teams
    ]
    hidden = anonymity.free_text_suppressed_groups(groups, policy=policy)
    specs: dict[tuple[str, int | None], InstrumentSpec | None] = {}

    def spec(key: str, version: int | None) -> InstrumentSpec | None:
        if (key, version) not in specs:
            try:
                specs[(key, version)] = instrument_get(
                    organization=organization, key=key, version=version
                )
            except ApplicationError:
                specs[(key, version)] = None
        return specs[(key, version)]

    texts: dict[int | None, dict[tuple[str, str], list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    questions: dict[tuple[str, str], str] = {}
    if ORG_GROUP not in hidden:
        for team_id, instruments, answers in rows:
            versions = _instrument_pairs(instruments)
            for key, values in (answers or {}).items() if isinstance(answers, dict) else ():
                found = spec(key, versions.get(key))
                if found is None or not isinstance(values, dict):
                    continue
                for question in found.questions:
                    value = values.get(question.key)
                    if not isinstance(question, FreeTextQuestion) or not isinstance(value, str):
                        continue
                    if not value.strip():
                        continue
                    questions.setdefault((key, question.key), question.text)
                    texts[None][(key, question.key)].append(value.strip())
                    texts[team_id][(key, question.key)].append(value.strip())

    def comments(team_id: int | None) -> list[dict[str, Any]]:
        found = texts.get(team_id, {})
        return [
            {
                "instrument": instrument,
                "question": question,
                "text": questions[(instrument, question)],
                # Sorted: no order that could follow who answered first.
                "answers": sorted(found[(instrument, question)]),
            }
            for instrument, question in sorted(found)
        ]

    def entry(key: str, team_id: int | None) -> dict[str, Any]:
        if key in hidden:
            return {"suppressed": True}
        return {"suppressed": False, "comments": comments(team_id)}

    return {
        "organization": {
            "organization": organization.slug,
            "organization_name": organization.name,
            **entry(ORG_GROUP, None),
        },
        "teams": [
            {"team": t.slug, "team_name": t.name, **entry(team_group_key(t.slug), t.id)}
            for t in teams
        ],
        "period": period.as_dict(),
        "min_free_text_group_size": policy.min_free_text_group_size,
    }


# --- history --------------------------------------------------------------------------------------


def readiness_history(
    *, organization: Organization, team: Team | None = None, organization_only: bool = False
) -> QuerySet[ReadinessSnapshot]:
    """Stored snapshots, newest period first, the organisation's row before its teams' (by slug);
    only ``team``'s with a team, only the organisation's with ``organization_only``."""
    rows = ReadinessSnapshot.objects.filter(organization=organization).select_related("team")
    if team is not None:
        rows = rows.filter(team=team)
    elif organization_only:
        rows = rows.filter(team__isnull=True)
    return rows.order_by("-period_start", F("team__slug").asc(nulls_first=True), "id")


# --- nightly snapshots and drop alerts ------------------------------------------------------------


def active_transformations(*, organization: Organization | None = None) -> QuerySet[Transformation]:
    """Transformations with at least one milestone that is not done."""
    rows = Transformation.objects.filter(
        Exists(
            Milestone.objects.filter(transformation=OuterRef("pk")).exclude(
                status=MilestoneStatus.DONE
            )
        )
    )
    if organization is not None:
        rows = rows.filter(organization=organization)
    return rows


def _nightly_organizations(*, at: dt.datetime) -> list[Organization]:
    """Organisations with an active transformation, and those with survey answers in a recent
    period (narrowed to the current or previous one per organisation by the caller)."""
    longest = max(
        [*CheckinSettings.objects.values_list("survey_every_days", flat=True), 14], default=14
    )
    since = local_day(at) - dt.timedelta(days=2 * longest)
    recent = Response.objects.filter(
        organization=OuterRef("pk"), kind=ResponseKind.SURVEY, period_start__gte=since
    )
    active = active_transformations().filter(organization=OuterRef("pk"))
    return list(Organization.objects.filter(Q(Exists(active)) | Q(Exists(recent))).order_by("slug"))


_SNAPSHOT_FIELDS: Final = (
    "period_end",
    "respondents",
    "suppressed",
    "score",
    "barrier",
    "trend",
    "delta",
    "components",
    "signals",
    "computed_at",
)


def _snapshot_values(group: GroupReadiness, *, at: dt.datetime) -> dict[str, Any]:
    fields = group.fields()
    return {
        "period_end": group.period.end,
        # Stored as 0 when suppressed: the history shows no count the API would hide.
        "respondents": group.respondents or 0,
        "suppressed": group.suppressed,
        "score": fields["score"],
        "barrier": fields["barrier"] or "",
        "trend": fields["trend"] or "",
        "delta": fields["delta"],
        "components": fields["components"],
        "signals": fields["signals"],
        "computed_at": at,
    }


def _snapshots_store(
    *, organization: Organization, reports: Sequence[ReadinessReport], at: dt.datetime
) -> tuple[int, int]:
    """Insert or update one snapshot per group and report; returns (created, updated)."""
    starts = [report.period.start for report in reports]
    existing = {
        (row.team_id, row.period_start): row
        for row in ReadinessSnapshot.objects.select_for_update().filter(
            organization=organization, period_start__in=starts
        )
    }
    to_create: list[ReadinessSnapshot] = []
    to_update: list[ReadinessSnapshot] = []
    for report in reports:
        for group in (report.organization_group, *report.teams):
            team_id = group.team.id if group.team is not None else None
            values = _snapshot_values(group, at=at)
            row = existing.get((team_id, report.period.start))
            if row is None:
                to_create.append(
                    ReadinessSnapshot(
                        organization=organization,
                        team_id=team_id,
                        period_start=report.period.start,
                        **values,
                    )
                )
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                to_update.append(row)
    ReadinessSnapshot.objects.bulk_create(to_create, batch_size=500)
    ReadinessSnapshot.objects.bulk_update(to_update, list(_SNAPSHOT_FIELDS), batch_size=500)
    return len(to_create), len(to_update)


def readiness_url(*, organization: Organization, team: TeamRef) -> str:
    """Where the alert points: the team's readiness in the API."""
    base = django_settings.TRANSFORM_BASE_URL.rstrip("/")
    return f"{base}/api/v1/orgs/{organization.slug}/readiness/?team={team.slug}"


def _alert_recipients(*, organization: Organization) -> list[Person]:
    """The lead change agent of each active transformation (oldest first), then the other
    change agents, each person once."""
    people: dict[int, Person] = {}
    transformations = list(
        active_transformations(organization=organization)
        .select_related("lead_change_agent")
        .prefetch_related("change_agents")
        .order_by("start_date", "id")
    )
    for transformation in transformations:
        people.setdefault(transformation.lead_change_agent_id, transformation.lead_change_agent)
    for transformation in transformations:
        for agent in sorted(transformation.change_agents.all(), key=lambda p: p.pk):
            people.setdefault(agent.pk, agent)
    return list(people.values())


def readiness_drop_dedupe_key(*, team_id: int, period: Period, person: Person | None) -> str:
    """``readiness_drop:team:<team id>:<period key>`` for the first recipient (the lead change
    agent), with ``:person:<person id>`` appended for every other change agent's copy."""
    key = f"readiness_drop:team:{team_id}:{period.key}"
    return key if person is None else f"{key}:person:{person.pk}"


def _drop_payload(
    *,
    organization: Organization,
    group: GroupReadiness,
    previous: GroupReadiness,
) -> dict[str, str]:
    assert group.team is not None
    assert group.result is not None
    assert previous.result is not None
    team = group.team
    before, now = previous.result.score, group.result.score
    barrier = group.result.barrier
    lines = [
        f"Readiness of team {team.name} ({team.slug}) in {organization.name} fell from "
        f"{before:g} to {now:g} points between the survey period starting "
        f"{previous.period.start.isoformat()} and the one starting {group.period.start.isoformat()}.",
        (
            f"ADKAR barrier point: {barrier}. Work on it first."
            if barrier
            else "ADKAR barrier point: none found."
        ),
        f"Details: {readiness_url(organization=organization, team=team)}",
    ]
    return {
        "subject": f"Readiness of {team.name} dropped from {before:g} to {now:g}",
        "text": "\n".join(lines),
    }


def _drop_alerts(
    *,
    organization: Organization,
    settings: CheckinSettings,
    report: ReadinessReport,
    previous: ReadinessReport,
    at: dt.datetime,
) -> int:
    """Queue an alert for each shown team whose readiness fell by more than the organisation's
    ``readiness_drop_alert`` points since the previous period. Never for a suppressed team in
    either period: a drop there could tell who answered what."""
    before = {g.team.id: g for g in previous.teams if g.team is not None}
    dropped = []
    for group in report.teams:
        if group.team is None or group.suppressed:
            continue
        old = before.get(group.team.id)
        if old is None or old.suppressed:
            continue
        if readiness_drop(old.result, group.result, threshold=settings.readiness_drop_alert):
            dropped.append((group, old))
    if not dropped:
        return 0
    recipients = _alert_recipients(organization=organization)
    rows = []
    for group, old in dropped:
        assert group.team is not None
        payload = _drop_payload(organization=organization, group=group, previous=old)
        for position, person in enumerate(recipients):
            rows.append(
                Delivery(
                    organization=organization,
                    kind=DeliveryKind.READINESS_DROP,
                    dedupe_key=readiness_drop_dedupe_key(
                        team_id=group.team.id,
                        period=report.period,
                        person=None if position == 0 else person,
                    ),
                    recipient=person,
                    channel=settings.channel,
                    payload=payload,
                    next_attempt_at=at,
                    created_at=at,
                )
            )
    return deliveries_queue(rows, at=at)


def readiness_organization_nightly(
    *, organization: Organization, at: dt.datetime, only_with_answers: bool = False
) -> dict[str, int]:
    """Snapshots of the current and the previous survey period (so a late answer updates last
    period's) for the organisation and every team, and the drop alerts of the current period,
    in one transaction. With ``only_with_answers`` nothing is done when neither period has a
    survey answer. Returns ``{"snapshots_created", "snapshots_updated", "alerts"}``."""
    settings = checkin_settings_get(organization=organization)
    current = survey_period(local_day(at), settings=settings)
    previous = current.previous()
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                computed = _compute(
                    organization=organization,
                    settings=settings,
                    periods=[current, previous],
                    at=at,
                )
                if only_with_answers and not any(
                    computed.judged[period][None].respondents for period in (current, previous)
                ):
                    return {"snapshots_created": 0, "snapshots_updated": 0, "alerts": 0}
                reports = [computed.reports[current], computed.reports[previous]]
                created, updated = _snapshots_store(
                    organization=organization, reports=reports, at=at
                )
                alerts = _drop_alerts(
                    organization=organization,
                    settings=settings,
                    report=reports[0],
                    previous=reports[1],
                    at=at,
                )
                return {
                    "snapshots_created": created,
                    "snapshots_updated": updated,
                    "alerts": alerts,
                }
        except IntegrityError:
            # Another run inserted the same snapshots between our read and our insert: the
            # second attempt finds them and updates them instead.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def readiness_nightly(*, at: dt.datetime) -> dict[str, int]:
    """Readiness snapshots and drop alerts for every organisation with an active transformation
    or with survey answers in its current or previous survey period; safe to run twice (the
    same rows are updated, an alert is queued once per team and period).

    Returns ``{"organizations", "snapshots_created", "snapshots_updated", "alerts"}``.
    """
    totals = {"organizations": 0, "snapshots_created": 0, "snapshots_updated": 0, "alerts": 0}
    active = set(active_transformations().values_list("organization_id", flat=True))
    for organization in _nightly_organizations(at=at):
        counts = readiness_organization_nightly(
            organization=organization, at=at, only_with_answers=organization.pk not in active
        )
        if counts["snapshots_created"] or counts["snapshots_updated"]:
            totals["organizations"] += 1
        for name, value in counts.items():
            totals[name] += value
    return totals
