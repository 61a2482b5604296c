"""People by name on the milestone page's history, not by e-mail or login (issue 17).

A milestone event keeps what it must for the record: its actor (a login) and, for a reassignment,
the previous and new owners' e-mails (``data.from`` / ``data.to``, docs/transformations.md). The
page shows the people behind them by name, read in one query for a page of events; a person
without a name, or an e-mail no person has any more (erased), shows as it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from teams.models import Organization, Person
from transform.models import EventKind, MilestoneEvent


def events_name_people(events: Iterable[MilestoneEvent], *, organization: Organization) -> None:
    """Set ``who`` (the actor's name, else their login's name, else "command line") on each of
    ``events``, and ``from_name`` / ``to_name`` on reassignments (the owners' names, else their
    e-mails). One query, none when no event names anybody."""
    events = list(events)
    emails = {
        str(event.data.get(key, "")).lower()
        for event in events
        if event.kind == EventKind.REASSIGNED and isinstance(event.data, dict)
        for key in ("from", "to")
    } - {""}
    users = {event.actor_id for event in events if event.actor_id is not None}
    by_email: dict[str, str] = {}
    by_user: dict[int, str] = {}
    if emails or users:
        for email, name, user_id in Person.objects.filter(
            Q(email__in=emails) | Q(user_id__in=users), organization=organization
        ).values_list("email", "name", "user_id"):
            if name:
                by_email[email.lower()] = name
                if user_id is not None:
                    by_user[user_id] = name
    for event in events:
        actor = event.actor
        event.who = (  # type: ignore[attr-defined]
            by_user.get(event.actor_id or 0)
            or (actor.get_full_name() or actor.get_username() if actor is not None else "")
            or "command line"
        )
        if event.kind == EventKind.REASSIGNED and isinstance(event.data, dict):
            for key in ("from", "to"):
                email = str(event.data.get(key, ""))
                setattr(event, f"{key}_name", by_email.get(email.lower(), email))
