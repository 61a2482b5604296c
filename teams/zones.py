"""The organisation's and a person's time zone (docs/time-zones.md).

An organisation's zone decides its days: "today" on its plans, when a milestone is overdue, which
survey period a moment falls in, when its check-ins and digests are due, and how its messages
show times. A person's own zone (blank: the organisation's) only changes how the web pages show
times to them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.zones import day_in_zone, day_start_in_zone, zone_get
from teams.models import Organization, Person


def organization_zone(organization: Organization) -> ZoneInfo:
    """The zone of ``organization`` (UTC when its stored name is unknown to this machine)."""
    return zone_get(organization.time_zone)


def organization_today(organization: Organization, at: dt.datetime | None = None) -> dt.date:
    """The organisation's date at the aware moment ``at`` (now by default): at 23:30 UTC it is
    already tomorrow in Asia/Tokyo."""
    return day_in_zone(organization_zone(organization), at)


def organization_day_start(organization: Organization, day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the organisation's zone."""
    return day_start_in_zone(organization_zone(organization), day)


def display_zone_name(*, organization: Organization, person: Person | None) -> str:
    """The zone name a person reads times in: their own if they chose one, else the
    organisation's."""
    if person is not None and person.time_zone:
        return person.time_zone
    return organization.time_zone


def person_time_zones_for_user(*, user_id: int) -> dict[str, str]:
    """The display zones the login ``user_id`` chose, by organisation id (as text, for a
    session): only people who chose one. One query."""
    return {
        str(organization_id): zone
        for organization_id, zone in Person.objects.filter(user_id=user_id)
        .exclude(time_zone="")
        .values_list("organization_id", "time_zone")
    }


def person_time_zone_set(*, person: Person, time_zone: str) -> Person:
    """Set the zone ``person`` reads times in ("" for the organisation's). Raises Django's
    ``ValidationError`` (the field ``time_zone``) for a name that is not an IANA zone."""
    person.time_zone = time_zone.strip()
    # Only this field: another field's old value must not stop a person choosing a zone.
    person.clean_fields(exclude=[f.name for f in Person._meta.fields if f.name != "time_zone"])
    person.save(update_fields=["time_zone", "updated_at"])
    return person


def person_zone(person: Person, *, organization: Organization) -> ZoneInfo:
    """The zone ``person`` reads times in: their own, else ``organization``'s (theirs)."""
    return zone_get(person.time_zone or organization.time_zone)
