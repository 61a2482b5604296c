"""Survey rollups: the readiness report's survey figures kept in the database as answers arrive,
so a request reads a few rows per team instead of every answer (docs/readiness.md, "How figures
are stored").

Publication is in batches (docs/anonymity.md, "Anonymity over time"): in arrival (id) order, each
group's answers form batches of the minimum group size ``k``; a batch never changes once formed.
So per period, group and *family* (the answers as a whole, and each survey-derived kind over the
answers that have it) the rollup keeps the published count and sum, and the fewer than ``k``
answers still waiting. Once a period has closed, the waiting answers of every group and then
the late ones pool into batches for the organisation: that is worked out at read time from the
waiting lists (at most ``k - 1`` per group and family, plus the late answers, which are few), so
the rollups themselves do not depend on the moment of the read.

Writes: ``survey_rollups_refresh`` (under the organisation's ``SurveyRollupState`` row lock)
applies every response stored since the last refresh, in id order; ``checkin_answer`` calls it in
the answer's own transaction after taking the lock before the insert, so ids and locks agree and
two concurrent answers are counted one after the other. Reads: ``survey_rollups_read`` returns a
period's rows and refreshes first when a response is newer than the rollups (answers stored in
bulk, without the service) or a period was built with another batch size or end.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import transaction
from django.db.models import Max, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.db.models.signals import post_delete
from django.utils import timezone

from playbooks.criteria import SignalReading
from teams.models import Organization
from teams.zones import organization_day_start
from transform.instruments.format import ADKAR_ELEMENTS, ADKAR_NO_BARRIER, QUESTION_SIGNALS
from transform.instruments.scoring import adkar_barrier_value
from transform.models import (
    CheckinSettings,
    Response,
    ResponseKind,
    SurveyRollup,
    SurveyRollupScope,
    SurveyRollupState,
)

CONFIDENCE: Final = "checkin_confidence"

# The survey-derived kinds published one by one over the answers that have them (the report's
# judged kinds); check-in confidence comes from milestone owners, never from a survey.
KINDS: Final = tuple(kind for kind in QUESTION_SIGNALS if kind != CONFIDENCE)

# The family of every answer: decides which groups are shown at all.
ANSWERS: Final = "answers"

FAMILIES: Final = (ANSWERS, *KINDS)

_READ_KINDS: Final = (ResponseKind.SURVEY, ResponseKind.MILESTONE_STATUS)

# Every column a report reads, in the order of ``RollupRow``'s fields.
_COLUMNS: Final = (
    "period_start",
    "period_end",
    "size",
    "scope",
    "team_id",
    "received",
    "published",
    *(f"{kind}_{part}" for kind in KINDS for part in ("count", "sum")),
    "checkin_confidence_sum",
)

_ITERATE_CHUNK: Final = 2000


def numeric_scores(scores: Any) -> dict[str, float]:
    """The finite numeric values of a stored ``scores`` mapping (anything else is ignored)."""
    if not isinstance(scores, dict):
        return {}
    found: dict[str, float] = {}
    for kind, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            found[str(kind)] = float(value)
    return found


# --- writing ---------------------------------------------------------------------------------


def survey_rollups_lock(*, organization: Organization) -> SurveyRollupState:
    """The organisation's rollup state, locked until the end of the transaction (created if
    missing). Take it before storing an answer, so answer ids follow the order of the locks."""
    SurveyRollupState.objects.bulk_create(
        [SurveyRollupState(organization=organization)], ignore_conflicts=True
    )
    return SurveyRollupState.objects.select_for_update().get(organization=organization)


class _Period:
    """One period's rollup rows being updated in memory."""

    def __init__(self, *, organization: Organization, start: dt.date, end: dt.date, size: int):
        self.organization = organization
        self.start = start
        self.end = end
        self.size = size
        self.rows: dict[tuple[str, int | None], SurveyRollup] = {}
        self.changed: set[tuple[str, int | None]] = set()
        # False: ``rows`` holds only the stored rows asked for so far (an answer touches one or
        # two of a period's thousand rows); each other is read when first needed.
        self.complete = True

    def row(self, scope: str, team_id: int | None = None) -> SurveyRollup:
        key = (scope, team_id)
        found = self.rows.get(key)
        if found is None and not self.complete:
            team = {"team_id": team_id} if team_id is not None else {"team__isnull": True}
            found = SurveyRollup.objects.filter(
                organization=self.organization, period_start=self.start, scope=scope, **team
            ).first()
            if found is not None:
                self.rows[key] = found
        if found is None:
            found = SurveyRollup(
                organization=self.organization,
                period_start=self.start,
                period_end=self.end,
                scope=scope,
                team_id=team_id,
                size=self.size,
                pending={},
            )
            self.rows[key] = found
        self.changed.add(key)
        return found

    def survey(self, *, pk: int, team_id: int | None, submitted_on: dt.date, scores: Any) -> None:
        numeric = numeric_scores(scores)
        group = self.row(
            SurveyRollupScope.TEAM if team_id is not None else SurveyRollupScope.ROOT, team_id
        )
        group.received += 1
        values = [(kind, numeric[kind]) for kind in KINDS if kind in numeric]
        if submitted_on >= self.end:
            # Late: never for a team; joins the closing pool after the leftovers.
            late = self.row(SurveyRollupScope.LATE)
            late.received += 1
            late.pending.setdefault(ANSWERS, []).append(pk)
            for kind, value in values:
                late.pending.setdefault(kind, []).append([pk, value])
            return
        waiting = group.pending.setdefault(ANSWERS, [])
        waiting.append(pk)
        if len(waiting) == self.size:
            group.published += self.size
            group.pending[ANSWERS] = []
        for kind, value in values:
            kind_waiting = group.pending.setdefault(kind, [])
            kind_waiting.append([pk, value])
            if len(kind_waiting) == self.size:
                # The batch's sum, in arrival order, is added once: the batch never changes.
                total = 0.0
                for _pk, member in kind_waiting:
                    total += member
                setattr(group, f"{kind}_count", getattr(group, f"{kind}_count") + self.size)
                setattr(group, f"{kind}_sum", getattr(group, f"{kind}_sum") + total)
                group.pending[kind] = []

    def confidence(self, *, person_id: int | None, value: float) -> None:
        row = self.row(SurveyRollupScope.CONFIDENCE)
        row.received += 1
        row.checkin_confidence_sum += value
        people = row.pending.setdefault("people", [])
        if person_id not in people:
            people.append(person_id)
        row.published = len(people)

    def pool_store(self) -> None:
        """Cut the closing pool from the rows' waiting answers and store its batches."""
        leftovers: dict[str, list[Any]] = {family: [] for family in FAMILIES}
        late: dict[str, list[Any]] = {family: [] for family in FAMILIES}
        for (scope, _team_id), row in list(self.rows.items()):
            found = late if scope == SurveyRollupScope.LATE else leftovers
            if scope in (SurveyRollupScope.TEAM, SurveyRollupScope.ROOT, SurveyRollupScope.LATE):
                for family in FAMILIES:
                    found[family].extend(row.pending.get(family, []))
        published, counts, sums = pool_totals(leftovers, late, size=self.size)
        pool = self.row(SurveyRollupScope.POOL)
        pool.published = published
        for kind in KINDS:
            setattr(pool, f"{kind}_count", counts[kind])
            setattr(pool, f"{kind}_sum", sums[kind])

    def save(self) -> None:
        created = [
            self.rows[key] for key in sorted(self.changed, key=str) if self.rows[key].pk is None
        ]
        updated = [self.rows[key] for key in sorted(self.changed, key=str) if self.rows[key].pk]
        SurveyRollup.objects.bulk_create(created)
        if updated:
            SurveyRollup.objects.bulk_update(updated, _UPDATED_FIELDS)
        self.changed.clear()


_UPDATED_FIELDS: Final = [
    "received",
    "published",
    *(f"{kind}_{part}" for kind in KINDS for part in ("count", "sum")),
    "checkin_confidence_sum",
    "pending",
]


def responses_read(**filters: Any) -> Iterator[tuple[Any, ...]]:
    """The survey and milestone-status responses matching ``filters`` in id order, as
    ``(id, kind, team_id, period_start, submitted_on, scores, recipient_id)``, streamed."""
    return (
        Response.objects.filter(kind__in=_READ_KINDS, **filters)
        .order_by("id")
        .values_list(
            "id",
            "kind",
            "team_id",
            "period_start",
            "submitted_on",
            "scores",
            "checkin__recipient_id",
        )
        .iterator(chunk_size=_ITERATE_CHUNK)
    )


@transaction.atomic
def survey_rollups_refresh(
    *,
    organization: Organization,
    settings: CheckinSettings,
    ends: Mapping[dt.date, dt.date] | None = None,
    rebuild: bool = False,
) -> int:
    """Apply every survey and milestone-status response of ``organization`` stored since the last
    refresh to its rollups, in id order, under the organisation's rollup lock; returns how many.

    A period whose rollups were built with another batch size (the organisation's
    ``min_group_size`` changed) is rebuilt from its answers first, as is one of ``ends``
    (period start -> end, the periods a report is about to read) stored with another end.
    ``rebuild`` drops every rollup of the organisation and builds them again from all answers
    (``manage.py rebuild_readiness_rollups``). Answers must be stored in id order for the
    batches to match the report's (they are, when stored through ``checkin_answer``; bulk loads
    that race with answers should be followed by a rebuild)."""
    state = survey_rollups_lock(organization=organization)
    if rebuild:
        SurveyRollup.objects.filter(organization=organization).delete()
        state.last_response_id = 0
    size = settings.min_group_size
    cadence = dt.timedelta(days=settings.survey_every_days)
    watermark = state.last_response_id
    # Under the lock no answer of this organisation is being stored through the service, so
    # every one of its responses up to the newest id now is committed: the next refresh starts
    # there, and the staleness check never scans far.
    top = Response.objects.aggregate(top=Max("id"))["top"] or 0
    periods: dict[dt.date, _Period] = {}
    wanted = dict(ends or {})
    now = timezone.now()

    def period(start: dt.date) -> _Period:
        found = periods.get(start)
        if found is not None:
            return found
        stored = SurveyRollup.objects.filter(organization=organization, period_start=start)
        # Every row of a period has the same size and end (written together; a deletion marks
        # them all), so one tells.
        probe = next(iter(stored.order_by().values_list("size", "period_end")[:1]), None)
        end = wanted.get(start, probe[1] if probe is not None else start + cadence)
        current = _Period(organization=organization, start=start, end=end, size=size)
        periods[start] = current
        if probe == (size, end):
            if now >= organization_day_start(organization, end):
                # Over: the closing pool is cut from every row.
                current.rows = {(row.scope, row.team_id): row for row in stored}
            else:
                current.complete = False
            return current
        if probe is not None:
            # Built with another batch size or end: start again from the period's answers.
            stored.delete()
        for row in responses_read(organization=organization, period_start=start, id__lte=watermark):
            _apply(current, row)
        return current

    for start in sorted(wanted):
        period(start)
    applied = 0
    for row in responses_read(organization=organization, id__gt=watermark, id__lte=top):
        _apply(period(row[3]), row)
        applied += 1
    for current in periods.values():
        if (
            current.complete
            and now >= organization_day_start(organization, current.end)
            and any(scope != SurveyRollupScope.POOL for scope, _team in current.rows)
        ):
            current.pool_store()
        current.save()
    state.last_response_id = max(watermark, top)
    state.save(update_fields=["last_response_id"])
    return applied


def pool_totals(
    leftovers: Mapping[str, list[Any]], late: Mapping[str, list[Any]], *, size: int
) -> tuple[int, dict[str, int], dict[str, float]]:
    """The closing pool's complete batches per family, as ``anonymity.publication_plan`` cuts
    them: every group's waiting answers in id order, then the late ones in id order, in batches
    of ``size``; returns the answers published, and per kind their count and sum. ``leftovers``
    and ``late`` hold ids (the answers family) and ``[id, value]`` pairs (each kind)."""
    published = (len(leftovers[ANSWERS]) + len(late[ANSWERS])) // size * size
    counts: dict[str, int] = {}
    sums: dict[str, float] = {}
    for kind in KINDS:
        pool = sorted(leftovers[kind]) + sorted(late[kind])
        cut = len(pool) // size * size
        total = 0.0
        for _pk, value in pool[:cut]:
            total += value
        counts[kind], sums[kind] = cut, total
    return published, counts, sums


def _response_deleted(sender: type[Response], instance: Response, **_kwargs: Any) -> None:
    """The product never deletes an answer, but an administrator may (the shell, the admin):
    mark its period's rollups for a rebuild (size 0 never matches), so no figure keeps counting
    an answer that is gone. A receiver rather than a service because a deletion can come from
    anywhere, including a cascade."""
    if instance.kind in _READ_KINDS:
        SurveyRollup.objects.filter(
            organization_id=instance.organization_id, period_start=instance.period_start
        ).update(size=0)


# Connected when the app loads its task modules (transform.readiness.tasks imports this module
# through the report).
post_delete.connect(
    _response_deleted, sender=Response, dispatch_uid="transform.readiness.rollups.deleted"
)


def _apply(period: _Period, row: tuple[Any, ...]) -> None:
    pk, kind, team_id, _start, submitted_on, scores, recipient_id = row
    if kind == ResponseKind.SURVEY:
        period.survey(pk=pk, team_id=team_id, submitted_on=submitted_on, scores=scores)
        return
    numeric = numeric_scores(scores)
    if CONFIDENCE in numeric:
        period.confidence(person_id=recipient_id, value=numeric[CONFIDENCE])


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One ``SurveyRollup`` row as the report reads it (see the model for the fields; a
    confidence row's ``published`` is its number of distinct owners)."""

    period_start: dt.date
    period_end: dt.date
    size: int
    scope: str
    team_id: int | None
    received: int
    published: int
    counts: dict[str, int]
    sums: dict[str, float]
    confidence_sum: float


def _row(values: Sequence[Any]) -> RollupRow:
    start, end, size, scope, team_id, received, published = values[:7]
    counts: dict[str, int] = {}
    sums: dict[str, float] = {}
    for index, kind in enumerate(KINDS):
        count = values[7 + 2 * index]
        if count:
            counts[kind] = count
            sums[kind] = values[8 + 2 * index]
    return RollupRow(
        period_start=start,
        period_end=end,
        size=size,
        scope=scope,
        team_id=team_id,
        received=received,
        published=published,
        counts=counts,
        sums=sums,
        confidence_sum=values[-1],
    )


def survey_rollups_read(
    *,
    organization: Organization,
    settings: CheckinSettings,
    ends: Mapping[dt.date, dt.date],
    closed: Collection[dt.date] = (),
) -> dict[dt.date, list[RollupRow]]:
    """The rollup rows of the periods ``ends`` (start -> end), by period start, each period's
    in a fixed order; the periods read as ``closed`` include their closing pool (a ``pool``
    row). One query when the rollups are current.

    When a response is newer than them, a period's rows were built with another batch size or
    end, or a period over by the clock has no pool yet, they are refreshed first
    (``survey_rollups_refresh``) and read again. A period read as closed before the clock says
    it is over (a report as of a later moment) gets its pool cut in memory from the waiting
    answers (one more query)."""
    watermark = Coalesce(
        Subquery(
            SurveyRollupState.objects.filter(organization=organization).values("last_response_id")[
                :1
            ]
        ),
        Value(0),
    )
    responses = Response.objects.filter(organization=organization, kind__in=_READ_KINDS)
    newer = responses.filter(id__gt=watermark)
    # The organisation's newest response, found walking the primary key backwards from the end
    # (a few rows at most when the rollups are current), never by scanning its answers.
    newest = Coalesce(Subquery(responses.order_by("-id").values("id")[:1]), Value(0))
    rollups = SurveyRollup.objects.filter(organization=organization, period_start__in=list(ends))

    def query() -> list[tuple[Any, ...]]:
        return list(
            # Unordered: sorted here, which costs less than a sort of the wide rows there.
            rollups.order_by()
            .annotate(stale=GreaterThan(newest, watermark))
            .values_list(*_COLUMNS, "stale")
        )

    def unpooled(values: list[tuple[Any, ...]]) -> set[dt.date]:
        have = {row[0] for row in values}
        pooled = {row[0] for row in values if row[3] == SurveyRollupScope.POOL}
        return {start for start in closed if start in have and start not in pooled}

    values = query()
    if not values:
        # Nothing to read for these periods, unless answers came in since the last refresh.
        if not newer.exists():
            return {}
        survey_rollups_refresh(organization=organization, settings=settings, ends=ends)
        values = query()
    now = timezone.now()
    stale = any(
        row[-1] or row[2] != settings.min_group_size or ends.get(row[0]) != row[1] for row in values
    ) or any(now >= organization_day_start(organization, ends[start]) for start in unpooled(values))
    if stale:
        survey_rollups_refresh(organization=organization, settings=settings, ends=ends)
        values = query()
    rows: dict[dt.date, list[RollupRow]] = {}
    for value in sorted(values, key=lambda v: (v[0], v[3], v[4] or 0)):
        rows.setdefault(value[0], []).append(_row(value[:-1]))
    early = unpooled(values)
    if early:
        pools = _pools_in_memory(organization, rollups.filter(period_start__in=early))
        for start, pool in pools.items():
            rows[start].append(pool)
    return rows


def _pools_in_memory(
    organization: Organization, rollups: QuerySet[SurveyRollup]
) -> dict[dt.date, RollupRow]:
    found: dict[dt.date, _Period] = {}
    for row in rollups.exclude(scope=SurveyRollupScope.POOL):
        current = found.get(row.period_start)
        if current is None:
            current = found[row.period_start] = _Period(
                organization=organization,
                start=row.period_start,
                end=row.period_end,
                size=row.size,
            )
        current.rows[(row.scope, row.team_id)] = row
    pools = {}
    for start, current in found.items():
        current.pool_store()
        pool = current.rows[(SurveyRollupScope.POOL, None)]
        pools[start] = _row([getattr(pool, column) for column in _COLUMNS])
    return pools


@dataclass(slots=True)
class PeriodFigures:
    """One period's published survey figures per group (team id; ``None`` the organisation).

    ``counts[family][group]`` is the number of published answers (a multiple of the batch
    size; 0 or missing: nothing published), ``sums[kind][group]`` the sum of their values,
    ``received[group]`` every answer given for the group (late ones included; the
    organisation's: all), ``answered`` the teams with answers. ``confidence`` is milestone
    owners' (answers, sum, distinct owners), or None."""

    counts: dict[str, dict[int | None, int]] = field(default_factory=dict)
    sums: dict[str, dict[int | None, float]] = field(default_factory=dict)
    received: dict[int | None, int] = field(default_factory=dict)
    answered: set[int] = field(default_factory=set)
    confidence: tuple[int, float, int] | None = None


def period_figures(rows: Iterable[RollupRow], *, closed: bool) -> PeriodFigures:
    """What each group of a period may show, from its rollup rows (no answer is read): each
    team's published batches, and the organisation's: every team's and the no-team answers'
    batches and, once the period has ``closed``, the closing pool's."""
    figures = PeriodFigures(
        counts={family: {None: 0} for family in FAMILIES},
        sums={kind: {None: 0.0} for kind in KINDS},
        received={None: 0},
    )
    for row in rows:
        if row.scope == SurveyRollupScope.CONFIDENCE:
            figures.confidence = (row.received, row.confidence_sum, row.published)
            continue
        if row.scope == SurveyRollupScope.LATE or (
            row.scope == SurveyRollupScope.POOL and not closed
        ):
            continue
        if row.scope != SurveyRollupScope.POOL:
            figures.received[None] += row.received
        figures.counts[ANSWERS][None] += row.published
        for kind, count in row.counts.items():
            figures.counts[kind][None] += count
            figures.sums[kind][None] += row.sums[kind]
        if row.team_id is not None:
            figures.answered.add(row.team_id)
            figures.received[row.team_id] = row.received
            figures.counts[ANSWERS][row.team_id] = row.published
            for kind, count in row.counts.items():
                figures.counts[kind][row.team_id] = count
                figures.sums[kind][row.team_id] = row.sums[kind]
    return figures


def readings_from_totals(
    sums: Mapping[str, float], counts: Mapping[str, int], *, as_of: dt.datetime | None
) -> dict[str, SignalReading]:
    """The group readings ``transform.instruments.scoring.aggregate`` gives for answers with
    these per-kind sums and counts: each kind's mean with its count, and ``adkar_barrier`` on
    the means with the fewest respondents of the elements that decide it. Kept in step with
    ``aggregate`` by the rollup property test."""
    readings = {
        kind: SignalReading(value=sums[kind] / counts[kind], respondents=counts[kind], as_of=as_of)
        for kind in counts
        if counts[kind]
    }
    barrier = adkar_barrier_value({kind: reading.value for kind, reading in readings.items()})
    if barrier is not None:
        elements = ADKAR_ELEMENTS
        if barrier != ADKAR_NO_BARRIER:
            elements = ADKAR_ELEMENTS[: int(barrier)]
        respondents = min(counts[f"adkar_{element}"] for element in elements)
        readings["adkar_barrier"] = SignalReading(
            value=barrier, respondents=respondents, as_of=as_of
        )
    return readings
