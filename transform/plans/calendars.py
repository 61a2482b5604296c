"""Calendar feeds (docs/integrations.md, "Calendars"): a person's milestones and open check-ins,
or every milestone of a transformation, as an iCalendar (RFC 5545) file at a secret URL.

A feed's URL carries a random token; only its SHA-256 hash is stored (as for invitations,
``teams.invitations``), so the URL is shown once, when it is made or reset, and a reset makes the
old URL answer 404. The feed is read without a login: whoever holds the URL reads it. So it holds
what a calendar needs and nothing more: milestone titles, dates, statuses, owners and plan names,
and for a person their open check-ins' kind and last day, never a check-in's answer link (it is
personal and single use) and never survey data.

Every milestone is an all-day event on its planned due date (``VALUE=DATE``; DTEND the next
day): a due date is what a calendar should remind of, and an event spanning weeks of work would
cover everyone's calendar. The forecast, when it differs, is in the description. An open
check-in is an all-day event on the last day its link can be used, in the organisation's zone.
UIDs are stable (``milestone-<id>.<feed kind>@<host>``), so calendar applications update an
event when a date moves instead of adding a second one; DTSTAMP and LAST-MODIFIED are the row's
last change, so an unchanged plan reads the same on every fetch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vDuration

from core.errors import NotFoundError
from teams.models import Organization, Person
from teams.zones import organization_today, organization_zone
from transform.models import (
    CalendarFeed,
    CalendarFeedKind,
    CheckIn,
    CheckInKind,
    Milestone,
    MilestoneStatus,
    Transformation,
)

# ``secrets.token_urlsafe(32)`` gives 43 characters; longer text is not looked up at all.
MAX_TOKEN_LENGTH: Final = 100
PRODID: Final = "-//Transform//Calendar feeds//EN"
# How often calendar applications should fetch the feed again (they may take longer).
REFRESH_INTERVAL: Final = dt.timedelta(hours=1)
STATUS_LABELS: Final = dict(MilestoneStatus.choices)


class CalendarFeedNotFound(NotFoundError):
    """A token that names no feed: the same answer for a wrong, a malformed, an old (reset) and
    an unknown token."""

    def __init__(self) -> None:
        super().__init__("No calendar feed at this address.")


@dataclass(frozen=True, slots=True)
class CalendarFeedMade:
    feed: CalendarFeed
    token: str  # shown once to whoever made it; never stored

    @property
    def url(self) -> str:
        return calendar_feed_url(self.token)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_url(token: str) -> str:
    """The absolute URL of the feed ``token`` opens."""
    path = reverse("calendar-feed", kwargs={"token": token})
    return f"{settings.TRANSFORM_BASE_URL.rstrip('/')}{path}"


def _absolute(path: str) -> str:
    return f"{settings.TRANSFORM_BASE_URL.rstrip('/')}{path}"


# --- writes ------------------------------------------------------------------------------------


@transaction.atomic
def _feed_reset(
    *,
    organization: Organization,
    kind: str,
    person: Person | None,
    transformation: Transformation | None,
    by: object | None,
) -> CalendarFeedMade:
    token = secrets.token_urlsafe(32)
    subject = {"person": person} if person is not None else {"transformation": transformation}
    # The feed's subject is locked first, so two requests making the first URL at once wait for
    # each other instead of both inserting; then the row is locked while its token changes: two
    # resets at once leave one working URL.
    if person is not None:
        list(Person.objects.select_for_update().filter(pk=person.pk).values_list("pk"))
    elif transformation is not None:
        locked = Transformation.objects.select_for_update().filter(pk=transformation.pk)
        list(locked.values_list("pk"))
    feed = CalendarFeed.objects.select_for_update().filter(**subject).first()
    if feed is None:
        feed = CalendarFeed(organization=organization, kind=kind, **subject)
    feed.token_hash = _token_hash(token)
    feed.reset_by = by if getattr(by, "is_authenticated", False) else None  # type: ignore[assignment]
    feed.reset_at = timezone.now()
    feed.full_clean()
    feed.save()
    return CalendarFeedMade(feed=feed, token=token)


def calendar_feed_reset_for_person(*, person: Person, by: object | None) -> CalendarFeedMade:
    """Make ``person``'s feed URL, or replace it (the old URL then answers 404). Who may: the
    person's own login (``transform.web.calendar_pages``)."""
    return _feed_reset(
        organization=person.organization,
        kind=CalendarFeedKind.PERSON,
        person=person,
        transformation=None,
        by=by,
    )


def calendar_feed_reset_for_transformation(
    *, transformation: Transformation, by: object | None
) -> CalendarFeedMade:
    """Make ``transformation``'s feed URL, or replace it (the old URL then answers 404). Who
    may: the organisation's admins and change agents."""
    return _feed_reset(
        organization=transformation.organization,
        kind=CalendarFeedKind.TRANSFORMATION,
        person=None,
        transformation=transformation,
        by=by,
    )


# --- reads -------------------------------------------------------------------------------------


def calendar_feed_get_by_token(*, token: str) -> CalendarFeed:
    """The feed ``token`` opens, with its organisation, person and transformation (one query);
    ``CalendarFeedNotFound`` (404) otherwise, and for a person who has left or was erased."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise CalendarFeedNotFound()
    feed = (
        CalendarFeed.objects.select_related("organization", "person", "transformation")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if feed is None or _person_gone(feed):
        raise CalendarFeedNotFound()
    return feed


def _person_gone(feed: CalendarFeed) -> bool:
    """A person's feed ends when they leave or are erased (docs/privacy.md): a leaver owns no
    open milestones and gets no check-ins, and their URL should not outlive their place."""
    person = feed.person
    if person is None:
        return False
    if person.erased_at is not None:
        return True
    return person.left_on is not None and person.left_on <= organization_today(feed.organization)


def calendar_feed_of_person(*, person: Person) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(person=person).first()


def calendar_feed_of_transformation(*, transformation: Transformation) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(transformation=transformation).first()


# --- the iCalendar file ------------------------------------------------------------------------


def _uid(kind: str, pk: int, scope: str) -> str:
    host = urlsplit(settings.TRANSFORM_BASE_URL).hostname or "transform"
    return f"{kind}-{pk}.{scope}@{host}"


def _milestone_event(milestone: Milestone, *, organization: Organization, scope: str) -> Event:
    due = milestone.planned_due or milestone.forecast_due
    assert due is not None  # the caller leaves out milestones without dates
    transformation = milestone.transformation
    url = _absolute(
        reverse(
            "web:milestone",
            kwargs={"org_slug": organization.slug, "milestone_id": milestone.pk},
        )
    )
    status = STATUS_LABELS.get(milestone.status, milestone.status)
    lines = [
        f"Plan: {transformation.title}",
        f"Status: {status}" + (f" ({milestone.status_reason})" if milestone.status_reason else ""),
        f"Owner: {milestone.owner.name}",
        f"Phase: {milestone.phase_title}",
    ]
    if milestone.planned_start and milestone.planned_due:
        lines.append(f"Planned: {milestone.planned_start} to {milestone.planned_due}")
    if milestone.forecast_due and milestone.forecast_due != milestone.planned_due:
        lines.append(f"Forecast due: {milestone.forecast_due}")
    if milestone.critical:
        lines.append("On the critical path.")
    lines.append(f"Milestone page: {url}")
    event = Event()
    event.add("uid", _uid("milestone", milestone.pk, scope))
    event.add("dtstamp", milestone.updated_at)
    event.add("last-modified", milestone.updated_at)
    event.add("dtstart", due)
    event.add("dtend", due + dt.timedelta(days=1))
    done = " (done)" if milestone.status == MilestoneStatus.DONE else ""
    event.add("summary", f"Due: {milestone.title}{done}")
    event.add("description", "\n".join(lines))
    event.add("url", url)
    event.add("transp", "TRANSPARENT")  # a due date does not make anyone busy
    event.add("categories", [transformation.title])
    return event


def _checkin_summary(checkin: CheckIn) -> str:
    if checkin.kind == CheckInKind.MILESTONE_STATUS and checkin.milestone is not None:
        return f"Check-in: status of {checkin.milestone.title}"
    if checkin.kind == CheckInKind.PULSE_SURVEY:
        team = f" ({checkin.team.name})" if checkin.team is not None else ""
        return f"Pulse survey{team}"
    if checkin.kind == CheckInKind.TOPOLOGY_VERIFICATION and checkin.team is not None:
        return f"Check-in: confirm {checkin.team.name}'s topology"
    return f"Check-in: {CheckInKind(checkin.kind).label}"


def _checkin_event(checkin: CheckIn, *, organization: Organization, zone: dt.tzinfo) -> Event:
    # The last day the link can be used, in the organisation's zone (a link expiring at midnight
    # is usable until the day before).
    last_day = (checkin.expires_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
    # Never the answer link (personal, single use): the page the check-in is about, which every
    # role of the organisation may read, else the organisation's home.
    if checkin.milestone_id is not None:
        page = reverse(
            "web:milestone",
            kwargs={"org_slug": organization.slug, "milestone_id": checkin.milestone_id},
        )
    else:
        page = reverse("web:org-home", kwargs={"org_slug": organization.slug})
    event = Event()
    event.add("uid", _uid("checkin", checkin.pk, "person"))
    event.add("dtstamp", checkin.created_at)
    event.add("dtstart", last_day)
    event.add("dtend", last_day + dt.timedelta(days=1))
    event.add("summary", _checkin_summary(checkin))
    event.add(
        "description",
        f"Open until {timezone.localtime(checkin.expires_at, zone):%Y-%m-%d %H:%M %Z}. Answer "
        "it from the link in the message you received: the link is personal, so it is not in "
        "this calendar (engineering managers also find their open check-ins on My team).",
    )
    event.add("url", _absolute(page))
    event.add("transp", "TRANSPARENT")
    return event


def _calendar(*, name: str, description: str, organization: Organization) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-caldesc", description)
    calendar.add("x-wr-timezone", organization.time_zone)
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    # An X- property is text to the library: the duration is written as RFC 5545 spells it.
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL).to_ical().decode())
    return calendar


def _dated(milestones: list[Milestone]) -> list[Milestone]:
    return [m for m in milestones if (m.planned_due or m.forecast_due) is not None]


def calendar_feed_ics(*, feed: CalendarFeed, at: dt.datetime | None = None) -> bytes:
    """The feed as an iCalendar file (CRLF lines, folded at 75 octets by ``icalendar``). A
    person's: the milestones they own in the feed's organisation and their open check-ins
    there; a transformation's: every milestone. Three queries at most, whatever their number."""
    at = at or timezone.now()
    organization = feed.organization
    zone = organization_zone(organization)
    if feed.kind == CalendarFeedKind.TRANSFORMATION:
        transformation = feed.transformation
        assert transformation is not None
        calendar = _calendar(
            name=f"{transformation.title} ({organization.name})",
            description=f"Every milestone of {transformation.title}: due dates and owners.",
            organization=organization,
        )
        milestones = list(
            Milestone.objects.filter(transformation=transformation)
            .select_related("owner", "transformation")
            .order_by("position", "id")
        )
        for milestone in _dated(milestones):
            calendar.add_component(
                _milestone_event(milestone, organization=organization, scope="plan")
            )
        return calendar.to_ical()
    person = feed.person
    assert person is not None
    calendar = _calendar(
        name=f"Transform: {person.name} ({organization.name})",
        description=f"The milestones {person.name} owns and their open check-ins.",
        organization=organization,
    )
    milestones = list(
        Milestone.objects.filter(owner=person, transformation__organization=organization)
        .select_related("owner", "transformation")
        .order_by("transformation_id", "position", "id")
    )
    for milestone in _dated(milestones):
        calendar.add_component(
            _milestone_event(milestone, organization=organization, scope="person")
        )
    checkins = (
        CheckIn.objects.filter(
            organization=organization,
            recipient=person,
            answered_at__isnull=True,
            closed_at__isnull=True,
            expires_at__gt=at,
        )
        .select_related("milestone", "team")
        .order_by("expires_at", "id")
    )
    for checkin in checkins:
        calendar.add_component(_checkin_event(checkin, organization=organization, zone=zone))
    return calendar.to_ical()
