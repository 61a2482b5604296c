"""Survey periods: the half-open runs of days that answers and readiness are counted in.

Periods are anchored on a fixed Monday (``PERIOD_EPOCH``) so every organisation's periods are
reproducible from the date and the cadence alone: with the default 14 days, period starts are
every other Monday. Changing the cadence starts a new series of periods (docs/checkins.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from transform.models import CheckinSettings

PERIOD_EPOCH = dt.date(2024, 1, 1)  # a Monday


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
