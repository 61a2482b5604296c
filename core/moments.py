"""Parsing a moment in time from text: the one parser behind ``--at``, ``as_of`` and the
date-times of ingested events.

Where a moment comes from decides what a time without an offset means, so callers say it:

- ``naive="local"``: in ``settings.TIME_ZONE`` (a person typing ``--at 2027-01-04T09:00``);
- ``naive="utc"``: in UTC (``as_of`` in the API and ``--as-of``, documented as UTC);
- ``naive="refuse"``: an error (events from other systems: guessing their zone would shift ages
  by hours), and the result is converted to UTC.

A date alone (``YYYY-MM-DD``) is the start of that day, or with ``day_end`` its last microsecond
("the graph as of 1 March" includes that day's changes). Every failure is a ``ValueError`` that
says what was expected.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils import timezone

NaiveRule = Literal["local", "utc", "refuse"]

_EXPECTED_AWARE = (
    "expected an ISO 8601 date-time with a time zone offset, e.g. 2026-03-02T14:30:00Z"
)


def moment_parse(
    value: str | dt.datetime, *, naive: NaiveRule, day_end: bool = False
) -> dt.datetime:
    """The aware datetime ``value`` names (see the module's docstring for ``naive`` and
    ``day_end``). Raises ``ValueError`` when ``value`` is not ISO 8601, or is naive and
    ``naive`` is "refuse"."""
    moment = _read(value, naive=naive, day_end=day_end)
    if moment.tzinfo is None or moment.utcoffset() is None:
        if naive == "refuse":
            shown = value if isinstance(value, str) else moment.isoformat()
            raise ValueError(
                f"expected a timezone-aware date-time (add an offset such as Z or +01:00); "
                f"got {shown!r} without one"
            )
        zone = timezone.get_default_timezone() if naive == "local" else dt.UTC
        return timezone.make_aware(moment, zone)
    if naive != "refuse":
        return moment
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"the date-time {value!r} is out of range") from None


def _read(value: object, *, naive: NaiveRule, day_end: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{_EXPECTED_AWARE}; got {type(value).__name__}")
    text = value.strip()
    try:
        if day_end and len(text) == len("YYYY-MM-DD"):
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time.max)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        if naive == "refuse":
            raise ValueError(f"{_EXPECTED_AWARE}; got {value!r}") from None
        raise


def moment_or_now(text: str | None) -> dt.datetime:
    """The moment a task is told to work at: ISO 8601 text, a naive one read in
    ``settings.TIME_ZONE`` (as ``--at`` is); now when ``text`` is None."""
    return timezone.now() if text is None else moment_parse(text, naive="local")
