"""What the check-in, readiness and alert code shares: an organisation's rhythm settings, survey
periods and queueing outgoing messages.

Periods are anchored on a fixed Monday (``PERIOD_EPOCH``) so every organisation's periods are
reproducible from the date and the cadence alone: with the default 14 days, period starts are
every other Monday. Changing the cadence starts a new series of periods (docs/checkins.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from teams.models import Organization
from transform.models import CheckinSettings, Delivery

PERIOD_EPOCH = dt.date(2024, 1, 1)  # a Monday


def moment_parse(text: str) -> dt.datetime:
    """An ISO 8601 date-time (or date: midnight) as an aware datetime; a naive value is read in
    ``settings.TIME_ZONE``. Raises ValueError when ``text`` is not ISO 8601. The clock the
    rhythm's tasks and commands are given (``--at``, the tasks' ``at``)."""
    moment = dt.datetime.fromisoformat(text.strip())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def checkin_settings_get(*, organization: Organization) -> CheckinSettings:
    """The organisation's rhythm settings: its stored row, or an unsaved row with the defaults."""
    found = CheckinSettings.objects.filter(organization=organization).first()
    return found if found is not None else CheckinSettings(organization=organization)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open run of days ``[start, end)``; ``key`` is the start in ISO form."""

    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        return self.start.isoformat()

    def previous(self) -> Period:
        length = self.end - self.start
        return Period(start=self.start - length, end=self.start)

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def period_containing(day: dt.date, *, every_days: int, anchor: dt.date = PERIOD_EPOCH) -> Period:
    """The period of ``every_days`` days, counted from ``anchor``, that contains ``day``."""
    if every_days < 1:
        raise ValueError(f"every_days must be at least 1, got {every_days}")
    index = (day - anchor).days // every_days
    start = anchor + dt.timedelta(days=index * every_days)
    return Period(start=start, end=start + dt.timedelta(days=every_days))


def survey_period(day: dt.date, *, settings: CheckinSettings) -> Period:
    """The organisation's survey period containing ``day``."""
    return period_containing(day, every_days=settings.survey_every_days)


def deliveries_queue(deliveries: Iterable[Delivery], *, at: dt.datetime) -> int:
    """Insert outgoing messages, skipping any whose ``dedupe_key`` is already queued, and have
    them delivered once the current transaction commits. Returns how many rows were new.

    Callers build unsaved ``Delivery`` rows with ``next_attempt_at`` and ``created_at`` set to
    ``at``, the planning moment, which the dispatch then uses as its clock. The unique ``dedupe_key`` makes this safe to call twice or from two workers
    at once: the second insert is ignored by the database, not by a flag in memory.
    """
    rows = list(deliveries)
    if not rows:
        return 0
    keys = [row.dedupe_key for row in rows]
    before = set(Delivery.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    new = len(set(keys) - before)
    if new:
        from transform.tasks import dispatch_deliveries  # tasks import services, not vice versa

        moment = at.isoformat()
        transaction.on_commit(lambda: dispatch_deliveries.delay(at=moment))
    return new
