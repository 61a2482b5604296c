"""Reads of readiness: the report per team and organisation for a survey period, the free-text
comments above the free-text threshold, the stored history, and the signal lookup that exit
criteria read. ``docs/readiness.md`` ("Stored results and the API") documents the shapes; who may
read what is ``transform.access.readiness_access_get``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Final

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from core.bounds import DATE_RANGE_HELP, day_in_range
from core.errors import ApplicationError
from playbooks.criteria import SignalLookup, SignalReading
from teams.models import Organization, Team
from teams.selectors import Predecessor, team_attribution
from teams.zones import organization_zone
from transform.instruments.format import (
    FreeTextQuestion,
    InstrumentSpec,
)
from transform.instruments.selectors import instrument_get
from transform.models import (
    CheckinSettings,
    Milestone,
    MilestoneStatus,
    ReadinessSnapshot,
    Response,
    ResponseKind,
    Transformation,
)
from transform.readiness import anonymity
from transform.readiness.report import (
    ORG_GROUP,
    ReadinessReport,
    SurveyAnswer,
    anonymity_policy_get,
    local_day,
    organization_readings_compute,
    period_closed,
    period_teams,
    readiness_periods_compute,
    survey_arrivals,
    survey_teams_get,
    team_group_key,
)
from transform.rhythm.periods import Period, survey_period
from transform.rhythm.selectors import checkin_settings_get

PERIOD_FORMAT_HELP: Final = "a date as YYYY-MM-DD (any day inside the wanted survey period)"


# --- moments and periods -------------------------------------------------------------------------


def period_param_parse(
    text: str | None, *, settings: CheckinSettings, field: str = "period"
) -> Period | None:
    """The survey period containing the day ``text`` names (YYYY-MM-DD, within
    ``core.bounds.DATE_MIN``..``DATE_MAX``); None when the parameter is absent (``text`` None).

    Raises ApplicationError naming ``field`` and the expected format otherwise, an empty value
    included (``?period=`` is a mistake, not a request for the current period).
    """
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        day = None
    if day is None or len(text.strip()) != 10 or not day_in_range(day):
        message = f"Expected {PERIOD_FORMAT_HELP} ({DATE_RANGE_HELP}); got '{text[:40]}'."
        raise ApplicationError(message, extra={"fields": {field: [message]}})
    return survey_period(day, settings=settings)


# --- computing ----------------------------------------------------------------------------------


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
        period = survey_period(local_day(at, organization_zone(organization)), settings=settings)
    computed = readiness_periods_compute(
        organization=organization, settings=settings, periods=[period], at=at
    )
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
    period = survey_period(local_day(at, organization_zone(organization)), settings=settings)
    before = period.previous()
    computed = organization_readings_compute(
        organization=organization, settings=settings, periods=[period, before], at=at
    )
    current, previous = computed[period], computed[before]
    # Each reading carries the period it covers, so a verdict shows which figure it judged.
    return {
        **{kind: _in_period(reading, before) for kind, reading in previous.items()},
        **{kind: _in_period(reading, period) for kind, reading in current.items()},
    }


def _in_period(reading: SignalReading, period: Period) -> SignalReading:
    last_day = period.end - dt.timedelta(days=1)
    return dataclasses.replace(reading, period=(period.start, last_day))


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


def _free_texts(
    answers: Any, instruments: Any, *, spec: Callable[[str, int | None], InstrumentSpec | None]
) -> dict[tuple[str, str], tuple[str, str]]:
    """One answer's non-empty free-text answers: ``{(instrument, question): (question text,
    stripped answer)}``, found from the instrument versions it was given on."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    if not isinstance(answers, dict):
        return found
    versions = _instrument_pairs(instruments)
    for key, values in answers.items():
        instrument = spec(key, versions.get(key))
        if instrument is None or not isinstance(values, dict):
            continue
        for question in instrument.questions:
            value = values.get(question.key)
            if isinstance(question, FreeTextQuestion) and isinstance(value, str) and value.strip():
                found[(key, question.key)] = (question.text, value.strip())
    return found


def readiness_comments_get(
    *, organization: Organization, period: Period | None = None, at: dt.datetime
) -> dict[str, Any]:
    """The free-text survey answers of ``period`` (default: the one containing ``at``), per
    group, without identity: sorted texts per question, for the organisation and each team of the
    period (retired ones with answers included).

    Publication follows the readiness report (docs/anonymity.md, "Anonymity over time"): a group
    reads ``{"suppressed": true}`` where its score is hidden or it has no published batch of
    ``min_free_text_group_size`` answers; otherwise each question lists the texts of its
    published batches of that size (each answer counted for the team it was given for), sorted,
    so a list grows only by whole batches as answers arrive. Queries: settings, teams, answers,
    one per instrument version answered (never per answer or team)."""
    settings = checkin_settings_get(organization=organization)
    if period is None:
        period = survey_period(local_day(at, organization_zone(organization)), settings=settings)
    policy = anonymity_policy_get(settings=settings)
    known_teams, live = survey_teams_get(organization=organization, starts=[period.start])
    rows = list(
        Response.objects.filter(
            organization=organization, kind=ResponseKind.SURVEY, period_start=period.start
        )
        .order_by("id")
        .values_list("id", "team_id", "submitted_on", "instruments", "answers")
    )
    teams = period_teams(known_teams, live=live, answered={row[1] for row in rows})
    keys = [team_group_key(t.slug) for t in teams]
    closed = period_closed(period, at=at, zone=organization_zone(organization))
    answers = [
        SurveyAnswer(id=pk, team_id=team_id, submitted_on=submitted_on, scores={})
        for pk, team_id, submitted_on, _instruments, _answers in rows
    ]

    def published(
        selected: list[SurveyAnswer], *, size: int, hidden: frozenset[str] = frozenset()
    ) -> dict[str, frozenset[int] | None]:
        return anonymity.published_answers(
            survey_arrivals(selected, teams=teams, period=period, closed=closed),
            root=ORG_GROUP,
            groups=keys,
            size=size,
            closed=closed,
            hidden=hidden,
        )

    # Never where the score is hidden, and only with a published batch of free-text size.
    scores_shown = published(answers, size=policy.min_group_size)
    score_hidden = frozenset(key for key, ids in scores_shown.items() if ids is None)
    shown = published(answers, size=policy.min_free_text_group_size, hidden=score_hidden)
    hidden = frozenset(key for key, ids in shown.items() if ids is None)

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

    texts: dict[int, dict[tuple[str, str], str]] = {}
    questions: dict[tuple[str, str], str] = {}
    # Read whether or not anything is shown, so the queries do not depend on what is published.
    for pk, _team_id, _submitted_on, instruments, values in rows:
        for question, (text, answer) in _free_texts(values, instruments, spec=spec).items():
            questions.setdefault(question, text)
            texts.setdefault(pk, {})[question] = answer
    published_texts: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(dict)
    for question in questions:
        answered = [a for a in answers if question in texts.get(a.id, {})]
        covered = published(answered, size=policy.min_free_text_group_size, hidden=hidden)
        for key, ids in covered.items():
            if ids:
                # Sorted: no order that could follow who answered first.
                published_texts[key][question] = sorted(texts[pk][question] for pk in ids)

    def entry(key: str) -> dict[str, Any]:
        if key in hidden:
            return {"suppressed": True}
        found = published_texts.get(key, {})
        return {
            "suppressed": False,
            "comments": [
                {
                    "instrument": instrument,
                    "question": question,
                    "text": questions[(instrument, question)],
                    "answers": found[(instrument, question)],
                }
                for instrument, question in sorted(found)
            ],
        }

    return {
        "organization": {
            "organization": organization.slug,
            "organization_name": organization.name,
            **entry(ORG_GROUP),
        },
        "teams": [
            {"team": t.slug, "team_name": t.name, **entry(team_group_key(t.slug))} for t in teams
        ],
        "period": period.as_dict(),
        "min_free_text_group_size": policy.min_free_text_group_size,
    }


# --- history --------------------------------------------------------------------------------------


def readiness_series_q(*, team: Team, predecessors: list[Predecessor]) -> Q:
    """The snapshots of ``team``'s series: its own, and its ``predecessors``' (from
    ``teams.selectors.team_predecessors``) for the periods that started before their hand-over."""
    series = Q(team=team)
    for predecessor in predecessors:
        series |= Q(team=predecessor.team, period_start__lt=predecessor.until.date())
    return series


def readiness_history_team(*, organization: Organization, slug: str | None) -> Team | None:
    """The team a history filter names (current, former or retired slug); None when there is
    none, the filter then refusing an unknown slug with a 400."""
    if not slug:
        return None
    team_id = team_attribution(organization=organization).team_id_for(slug)
    return Team.all_objects.filter(pk=team_id).first() if team_id is not None else None


def readiness_history(
    *, organization: Organization, team_slugs: frozenset[str] | None = None
) -> QuerySet[ReadinessSnapshot]:
    """Stored snapshots, newest period first, the organisation's row before its teams' (by slug);
    with ``team_slugs``, only the organisation's rows and those teams'."""
    rows = ReadinessSnapshot.objects.filter(organization=organization).select_related("team")
    if team_slugs is not None:
        rows = rows.filter(Q(team__isnull=True) | Q(team__slug__in=team_slugs))
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
