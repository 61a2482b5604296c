"""Reads of readiness: the report per team and organisation for a survey period, the free-text
comments above the free-text threshold, the stored history, and the signal lookup that exit
criteria read. ``docs/readiness.md`` ("Stored results and the API") documents the shapes; who may
read what is ``transform.access.readiness_access_get``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Final

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from core.errors import ApplicationError
from playbooks.criteria import SignalLookup, SignalReading
from teams.models import Organization, Team
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
from transform.readiness.anonymity import Group
from transform.readiness.report import (
    ORG_GROUP,
    ReadinessReport,
    TeamRef,
    anonymity_policy_get,
    local_day,
    readiness_periods_compute,
    team_group_key,
)
from transform.rhythm.periods import Period, survey_period
from transform.rhythm.selectors import checkin_settings_get

PERIOD_FORMAT_HELP: Final = "a date as YYYY-MM-DD (any day inside the wanted survey period)"


# --- moments and periods -------------------------------------------------------------------------


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
        period = survey_period(local_day(at), settings=settings)
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
    period = survey_period(local_day(at), settings=settings)
    computed = readiness_periods_compute(
        organization=organization, settings=settings, periods=[period], at=at
    )
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
