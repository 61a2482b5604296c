"""Synthetic evidence for a generated organisation (``teams.synthetic``): a running
transformation with a few hundred milestones, pulse-survey answers and signal events over a year.

Deterministic for a seed and a day. Everything is bulk-inserted in chunks of ``CHUNK`` rows, built
by generators, so memory stays bounded for a million answers. The writes bypass the services
that answer a check-in or ingest events one batch at a time (the rows they would store are built
here directly, in the same shapes: ``transform.answers.services.checkin_answer`` and
``transform.evidence.services._data_of``), so no event surveys are triggered, no check-ins exist
and no readiness snapshot is stored: run ``compute_readiness`` afterwards for the nightly figures.
Used by ``python manage.py generate_org`` (docs/performance.md, "Synthetic organisations").
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.utils import timezone

from teams.models import Organization, OrgUnit, Person, TeamType
from teams.synthetic import GeneratedOrg, GeneratedTeam
from transform.evidence.records import iso_utc
from transform.instruments.format import InstrumentSpec, ScaleQuestion
from transform.instruments.scoring import score_response
from transform.instruments.selectors import instrument_get
from transform.models import (
    EventKind,
    Milestone,
    MilestoneEvent,
    MilestoneStatus,
    OwnerRole,
    Response,
    ResponseKind,
    SignalEvent,
    SignalEventKind,
    Transformation,
    signal_events_changed,
)
from transform.plans.services import transformation_schedule_refresh, transformation_start
from transform.rhythm.periods import survey_period
from transform.rhythm.selectors import checkin_settings_get

CHUNK = 5_000
BATCH_SIZE = 1_000
PLAYBOOKS = ("unify-ops-silos", "devops-buddy-programme", "platform-as-a-product")
MILESTONES = 300
# The roll-out every department goes through after the playbooks' own milestones.
ROLLOUT_STEPS = [
    ("map-ticket-flows", "Map the ticket flows into the ops silos"),
    ("name-devops-buddies", "Name a DevOps buddy in every squad"),
    ("adopt-self-service", "Move the top requests to platform self-service"),
    ("pair-with-platform", "Pair each squad with its platform team for a sprint"),
    ("retire-tickets", "Retire the ticket queue for routine changes"),
    ("verify-topology", "Verify the new topology with every team"),
]
CAPABILITIES = ["ci", "logging", "observability", "kubernetes", "feature-flags", "secrets"]
SURVEYED_PERIODS = 26  # a year of the default 14-day survey periods

T = TypeVar("T")


def _chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _bulk(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    *,
    json_text: bool = False,
) -> int:
    """Insert ``rows`` (values of ``fields``, attribute names) CHUNK at a time; the number
    inserted. JSON fields' values are Python values, or their JSON text when ``json_text``. On
    PostgreSQL through ``COPY ... FROM STDIN`` (measured: several times faster than multi-row
    INSERTs for a million answers, docs/performance.md); elsewhere ``bulk_create``."""
    count = 0
    by_name: dict[str, Any] = {f.attname: f for f in model._meta.concrete_fields}
    json_at = [i for i, name in enumerate(fields) if isinstance(by_name[name], models.JSONField)]
    # Each JSON value is serialised here, or parsed back for bulk_create when it came as text.
    convert = json.loads if json_text else json.dumps
    if connection.vendor == "postgresql":
        if json_text:
            json_at = []
        columns = ", ".join(connection.ops.quote_name(by_name[name].column) for name in fields)
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                values = list(row)
                for i in json_at:
                    values[i] = convert(values[i])
                copy.write_row(values)
                count += 1
        return count
    parse_at = json_at if json_text else []
    for chunk in _chunked(rows):
        objects = []
        for row in chunk:
            values = list(row)
            for i in parse_at:
                values[i] = convert(values[i])
            objects.append(model(**dict(zip(fields, values, strict=True))))
        model._default_manager.bulk_create(objects, batch_size=BATCH_SIZE)
        count += len(chunk)
    return count


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, value))


# --- the transformation ---------------------------------------------------------------------------


@transaction.atomic
def transformation_generate(
    *, generated: GeneratedOrg, today: dt.date, seed: int, milestones: int = MILESTONES
) -> Transformation:
    """Start a transformation from the built-in playbooks (``transformation_start``, as the
    ``start_transformation`` command does) ten weeks before ``today``, then add department
    roll-out milestones until the plan has ``milestones`` (each after the previous step of its
    department and after one of the playbooks' milestones), owned by the department's team
    managers, and recompute the schedule once."""
    rng = random.Random(seed + 1)
    organization = generated.organization
    transformation = transformation_start(
        organization=organization,
        playbooks=list(PLAYBOOKS),
        start_date=today - dt.timedelta(weeks=10),
        owner_email=generated.lead_change_agent_email,
        sponsor_email=generated.sponsor_email,
        title="Synthetic: from ops silos to platforms",
        today=today,
    )
    existing = list(transformation.milestones.order_by("position"))
    extra = max(0, milestones - len(existing))
    if extra == 0:
        return transformation
    units = list(
        OrgUnit.objects.filter(organization=organization, kind="department")
        .exclude(slug__in=["infrastructure", "platforms"])
        .order_by("slug")
        .values_list("pk", "slug")
    )
    managers: dict[int, list[int]] = {}
    for team in generated.teams:
        if team.type == TeamType.STREAM_ALIGNED:
            managers.setdefault(team.unit_id, []).append(team.manager_id)
    units = [(pk, slug) for pk, slug in units if managers.get(pk)]
    steps = math.ceil(extra / len(units))
    playbook = existing[0].playbook
    rows: list[Milestone] = []
    depends: list[tuple[int, int | Milestone]] = []  # (row index, Milestone or row index)
    for step in range(steps):
        for unit_index, (unit_pk, unit_slug) in enumerate(units):
            if len(rows) == extra:
                break
            key, title = ROLLOUT_STEPS[step % len(ROLLOUT_STEPS)]
            wave = step // len(ROLLOUT_STEPS)
            suffix = f"-{wave + 1}" if wave else ""
            rows.append(
                Milestone(
                    transformation=transformation,
                    playbook=playbook,
                    position=len(existing) + len(rows),
                    phase_key="rollout",
                    phase_title="Roll-out by department",
                    key=f"rollout/{unit_slug}/{key}{suffix}",
                    source_key=f"{key}{suffix}",
                    title=f"{title} ({unit_slug})",
                    why="Synthetic roll-out milestone.",
                    duration_days=rng.randint(5, 30),
                    owner_role=OwnerRole.ENGINEERING_MANAGER,
                    owner_id=rng.choice(managers[unit_pk]),
                    checkin_every_days=rng.choice([7, 14]),
                    exit_criteria=[],
                )
            )
            index = len(rows) - 1
            if step == 0:
                depends.append((index, rng.choice(existing)))
            else:
                depends.append((index, index - len(units)))
                if unit_index > 0 and rng.random() < 0.2:
                    # Waves: some departments wait for the one before them.
                    depends.append((index, index - 1))
    Milestone.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    through = Milestone.depends_on.through
    through.objects.bulk_create(
        [
            through(
                from_milestone_id=rows[index].pk,
                to_milestone_id=(target if isinstance(target, Milestone) else rows[target]).pk,
            )
            for index, target in depends
        ],
        batch_size=BATCH_SIZE,
    )
    emails = dict(
        Person.objects.filter(pk__in={row.owner_id for row in rows}).values_list("pk", "email")
    )
    MilestoneEvent.objects.bulk_create(
        [
            MilestoneEvent(
                milestone=row,
                kind=EventKind.CREATED,
                to_status=MilestoneStatus.PLANNED,
                reason="Synthetic roll-out milestone (generate_org).",
                data={
                    "owner": emails[row.owner_id],
                    "playbook": f"{playbook.key}@{playbook.version}",
                },
            )
            for row in rows
        ],
        batch_size=BATCH_SIZE,
    )
    return transformation_schedule_refresh(transformation=transformation, today=today)


# --- survey answers -------------------------------------------------------------------------------


# Answers are drawn per instrument and mood: 51 mood levels, each with VARIANTS pre-drawn answer
# sets (values, scores and their JSON), one picked at random per answer. Drawing, scoring and
# serialising every answer one by one took most of the time of a million answers (measured: about
# 300 us an answer on the busy 2-core machine); Likert answers repeat a lot anyway.
MOOD_LEVELS = 50
VARIANTS = 32


@dataclass(frozen=True, slots=True)
class _Variant:
    answers_json: str
    scores_json: str  # the members, without braces: instruments feed distinct signal kinds


@dataclass(frozen=True, slots=True)
class _Scorer:
    """An instrument's pre-drawn answers by mood level, each level drawn on first use from a
    generator of its own (so the order of first use does not change them)."""

    spec: InstrumentSpec
    scales: tuple[ScaleQuestion, ...]
    seed: int
    levels: dict[int, list[_Variant]]

    def answer(self, mood: float, rng: random.Random) -> _Variant:
        level = round(_clamp(mood) * MOOD_LEVELS)
        variants = self.levels.get(level)
        if variants is None:
            variants = self.levels[level] = self._draw(level)
        return variants[rng.randrange(VARIANTS)]

    def _draw(self, level: int) -> list[_Variant]:
        rng = random.Random(f"{self.seed}/{self.spec.key}/{level}")
        mood = level / MOOD_LEVELS
        variants = []
        for _ in range(VARIANTS):
            answers = {
                q.key: round(q.min + _clamp(mood + rng.gauss(0, 0.15)) * (q.max - q.min))
                for q in self.scales
            }
            scores = score_response(self.spec, answers)
            variants.append(
                _Variant(answers_json=json.dumps(answers), scores_json=json.dumps(scores)[1:-1])
            )
        return variants


def answers_generate(
    *,
    organization: Organization,
    teams: Sequence[GeneratedTeam],
    answers: int,
    today: dt.date,
    seed: int,
) -> int:
    """Store ``answers`` anonymous pulse-survey responses (kind survey: team, period, day; the
    organisation's pulse instruments at their latest versions, every scale question answered),
    from the current survey period back, a year of periods when the count allows it (more
    periods only when ``answers`` exceeds what a year of every member answering could give).

    Each team answers with a participation rate chosen so the answers cover about a year, never
    more answers than it has members in one period; each team has its own mood, which rises
    slowly over the year with noise per period and per answer. Returns the number stored."""
    if answers <= 0:
        return 0
    rng = random.Random(seed + 2)
    settings = checkin_settings_get(organization=organization)
    scorers = []
    for key in settings.pulse_instruments:
        spec = instrument_get(organization=organization, key=key)
        scales = tuple(q for q in spec.questions if isinstance(q, ScaleQuestion))
        scorers.append(_Scorer(spec=spec, scales=scales, seed=seed, levels={}))
    instruments = json.dumps([[s.spec.key, s.spec.version] for s in scorers])
    keys = [json.dumps(s.spec.key) for s in scorers]
    current = survey_period(today, settings=settings)
    every = settings.survey_every_days
    surveyed = [team for team in teams if team.size > 0]
    capacity = sum(team.size for team in surveyed)
    rate = _clamp(answers / (capacity * SURVEYED_PERIODS), 0.55, 0.95)
    moods = {team.id: _clamp(rng.gauss(0.58, 0.1), 0.2, 0.9) for team in surveyed}

    def rows() -> Iterator[tuple[Any, ...]]:
        remaining = answers
        back = 0
        while remaining > 0:
            start = current.start - dt.timedelta(days=back * every)
            last_day = min(start + dt.timedelta(days=every - 1), today)
            span = (last_day - start).days
            progress = max(0.0, 1 - back / SURVEYED_PERIODS)
            for team in surveyed:
                wanted = round(team.size * rate + rng.uniform(-1.5, 1.5))
                count = min(remaining, team.size, max(0, wanted))
                mood = moods[team.id] + 0.12 * progress + rng.gauss(0, 0.04)
                for _ in range(count):
                    drawn = [scorer.answer(mood, rng) for scorer in scorers]
                    given = ", ".join(
                        f"{key}: {v.answers_json}" for key, v in zip(keys, drawn, strict=True)
                    )
                    scores = ", ".join(v.scores_json for v in drawn if v.scores_json)
                    yield (
                        organization.pk,
                        ResponseKind.SURVEY.value,
                        team.id,
                        start,
                        start + dt.timedelta(days=rng.randint(0, span)),
                        instruments,
                        "{" + given + "}",
                        "{" + scores + "}",
                    )
                remaining -= count
                if remaining == 0:
                    return
            back += 1

    fields = [
        "organization_id",
        "kind",
        "team_id",
        "period_start",
        "submitted_on",
        "instruments",
        "answers",
        "scores",
    ]
    return _bulk(Response, fields, rows(), json_text=True)


# --- signal events --------------------------------------------------------------------------------


def signal_events_generate(*, generated: GeneratedOrg, today: dt.date, seed: int) -> dict[str, int]:
    """Store a year of signal events up to the start of ``today`` (UTC) in the shapes the ingest
    stores (docs/signal-events-format.md): deploys of every squad with commit times (a quarter to
    two a week), incidents caused by failed deploys and a few others, tickets from squads into
    the silos and platforms they have ticket dependencies on (some still open, blocking ones
    waiting longer), and platform adoption. Returns the count per kind."""
    rng = random.Random(seed + 3)
    organization = generated.organization
    end = dt.datetime.combine(today, dt.time(0), tzinfo=dt.UTC)
    start = end - dt.timedelta(days=365)
    year = (end - start).total_seconds()
    counts = {kind: 0 for kind in SignalEventKind.values}
    ingested_at = timezone.now()
    slug_of = {team.id: team.slug for team in generated.teams}
    squads = [team for team in generated.teams if team.type == TeamType.STREAM_ALIGNED]

    def moment() -> dt.datetime:
        return start + dt.timedelta(seconds=rng.uniform(0, year))

    def event(
        kind: str, external_id: str, team_id: int | None, at: dt.datetime, data: dict[str, Any]
    ) -> tuple[Any, ...]:
        counts[kind] += 1
        return (organization.pk, kind, external_id, team_id, at, data, ingested_at)

    def outage(
        number: int, team_id: int | None, opened: dt.datetime, *, hours: float, cause: str | None
    ) -> tuple[Any, ...]:
        """An incident resolved after about ``hours`` (still open when that is after ``end``)."""
        resolved = opened + dt.timedelta(hours=rng.lognormvariate(math.log(hours), 1.0))
        data = {
            "resolved_at": iso_utc(resolved) if resolved < end else None,
            "caused_by_deploy": cause,
        }
        return event(SignalEventKind.INCIDENT, f"INC-{number}", team_id, opened, data)

    def events() -> Iterator[tuple[Any, ...]]:
        incident = 0
        for team in squads:
            slug = slug_of[team.id]
            per_week = rng.uniform(0.25, 2.0)
            deploys = sorted(moment() for _ in range(round(per_week * 52)))
            for n, at in enumerate(deploys):
                commits = sorted(
                    at - dt.timedelta(hours=rng.lognormvariate(math.log(20), 1.0))
                    for _ in range(rng.randint(1, 3))
                )
                # Failures get rarer as the year goes on.
                failed = rng.random() < 0.18 - 0.1 * (at - start).total_seconds() / year
                deploy_id = f"deploy-{slug}-{n + 1}"
                yield event(
                    SignalEventKind.DEPLOY,
                    deploy_id,
                    team.id,
                    at,
                    {
                        "commit_times": [iso_utc(c) for c in commits],
                        "caused_failure": failed,
                        "is_rework": rng.random() < 0.05,
                    },
                )
                if failed:
                    incident += 1
                    opened = at + dt.timedelta(minutes=rng.randint(5, 240))
                    yield outage(incident, team.id, opened, hours=3, cause=deploy_id)
            for _ in range(rng.randint(0, 3)):
                incident += 1
                team_id = team.id if rng.random() < 0.8 else None
                yield outage(incident, team_id, moment(), hours=5, cause=None)
            for capability in rng.sample(CAPABILITIES, rng.randint(1, 3)):
                yield event(
                    SignalEventKind.ADOPTION,
                    f"adopt-{slug}-{capability}",
                    team.id,
                    moment(),
                    {"capability": capability, "mandated": rng.random() < 0.3},
                )
        ticket = 0
        for team in squads:
            for target in generated.ticket_targets.get(team.slug, []):
                for _ in range(rng.randint(12, 36)):
                    ticket += 1
                    opened = moment()
                    closed = opened + dt.timedelta(days=rng.lognormvariate(math.log(4), 0.9))
                    yield event(
                        SignalEventKind.TICKET,
                        f"TICKET-{ticket}",
                        team.id,
                        opened,
                        {
                            "closed_at": iso_utc(closed) if closed < end else None,
                            "waiting_on": target,
                            "developers_waiting": rng.randint(1, 3),
                        },
                    )

    fields = [
        "organization_id",
        "kind",
        "external_id",
        "team_id",
        "occurred_at",
        "data",
        "ingested_at",
    ]
    _bulk(SignalEvent, fields, events())
    signal_events_changed(organization_id=organization.pk)
    return {kind: count for kind, count in counts.items() if count}
