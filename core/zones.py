"""Time zones: the one place that names, validates and applies them (docs/time-zones.md).

Zones are IANA names (``Europe/Berlin``, ``Asia/Tokyo``, ``UTC``) read with the standard
library's ``zoneinfo``. Storage and the API stay in UTC; a zone only decides which *day* a moment
falls on and how a moment is *shown*. An organisation's zone (``teams.zones``) decides its days;
a person may choose another zone to read times in.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (from ``zoneinfo.available_timezones``)."""
    return frozenset(available_timezones())


def time_zone_choices() -> list[tuple[str, str]]:
    """``(name, name)`` for every known zone, sorted: the choices of the zone fields of forms."""
    return [(name, name) for name in sorted(time_zone_names())]


def time_zone_default() -> str:
    """The zone of a new organisation: the installation's ``TIME_ZONE`` (UTC unless set)."""
    return str(settings.TIME_ZONE)


def time_zone_validate(value: str) -> None:
    """Raises ``ValidationError`` unless ``value`` is an IANA zone name (blank is left to the
    field's ``blank`` rule)."""
    if value and value not in time_zone_names():
        raise ValidationError(
            "'%(value)s' is not a known time zone: use an IANA name such as Europe/Berlin, "
            "America/New_York or UTC.",
            code="invalid_time_zone",
            params={"value": value},
        )


def zone_get(name: str) -> ZoneInfo:
    """The zone named ``name``; UTC for a blank or unknown name (a row written before
    validation, or a zone the machine's tz database dropped, never breaks a page)."""
    if name and name in time_zone_names():
        return ZoneInfo(name)
    return ZoneInfo("UTC")


def day_in_zone(zone: dt.tzinfo, at: dt.datetime | None = None) -> dt.date:
    """The date it is in ``zone`` at the aware moment ``at`` (now by default)."""
    return (at or timezone.now()).astimezone(zone).date()


def day_start_in_zone(zone: dt.tzinfo, day: dt.date) -> dt.datetime:
    """The first moment of ``day`` in ``zone`` (midnight there; DST never skips midnight in the
    IANA database's zones except a few historical cases, which ``zoneinfo`` resolves forward)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def moment_in_zone_text(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """``moment`` as people read it in ``zone``, with the zone's name: "Monday 4 January 2027 at
    09:00 (Europe/Berlin)"."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y at %H:%M} ({zone_name(zone)})"


def zone_name(zone: dt.tzinfo) -> str:
    """The IANA name of ``zone`` (``key`` of a ``ZoneInfo``), else its ``tzname``."""
    key = getattr(zone, "key", None)
    return str(key) if key else str(zone.tzname(None) or zone)
