"""Rendering outgoing messages: the check-in, reminder, escalation, digest and alert a delivery row
sends, as a one-line subject and a plain-text body (check-in templates in
templates/transform/messages/, the others in ``transform.outbox.alerts``). Rendering happens when
a message is sent, so it says what is true then."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from django.template.loader import get_template

from core.zones import moment_in_zone_text
from teams.zones import person_zone
from transform.instruments.estimates import QuestionCounter, answer_minutes, answer_time_text
from transform.models import (
    ANONYMOUS_CHECKIN_KINDS,
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Delivery,
    DeliveryKind,
    SignalEvent,
)
from transform.outbox import alerts
from transform.rhythm import links

CHECKIN_DELIVERY_KINDS = frozenset({DeliveryKind.CHECKIN, DeliveryKind.REMINDER})


TEMPLATE_DIR = "transform/messages"


@functools.cache
def _checkin_template(kind: str) -> Any:
    # Looked up once per check-in kind and process, not once per message: a round of 100,000
    # pulse surveys renders one compiled template 100,000 times (the personal parts, name, link
    # and expiry, are still rendered per message).
    return get_template(f"{TEMPLATE_DIR}/{kind}.txt")


@dataclass(frozen=True)
class Message:
    """A rendered message: a one-line subject and a plain-text body."""

    subject: str
    body: str

    @property
    def text(self) -> str:
        """The whole message as one text, for chat channels."""
        return f"{self.subject}\n\n{self.body}"


class Skip(Exception):
    """The message must not go out (its check-in was answered or has expired, its recipient
    has left the organisation, or what it reports on has changed so nothing is left to say)."""


class RenderError(Exception):
    """The row lacks what its message needs; sending it again would not help."""


EVENT_DESCRIPTIONS = {
    "first_deploy": "your team's first deploy on the platform",
    "deploy": "a recent deploy",
    "incident": "a recent incident",
    "ticket": "a recent ticket",
    "adoption": "adopting a platform capability",
}


def _event_description(event: SignalEvent | None) -> str:
    if event is None:
        return "a recent event"
    if event.kind == "adoption" and event.data.get("capability"):
        return f"adopting {event.data['capability']}"
    return EVENT_DESCRIPTIONS.get(event.kind, "a recent event")


def _local(moment: dt.datetime, checkin: CheckIn) -> str:
    """``moment`` in the recipient's zone (their own, else their organisation's), named."""
    zone = person_zone(checkin.recipient, organization=checkin.organization)
    return moment_in_zone_text(moment, zone)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def _checkin_subject(checkin: CheckIn, *, event: SignalEvent | None) -> str:
    team = checkin.team.name if checkin.team is not None else "your team"
    if checkin.kind == CheckInKind.MILESTONE_STATUS:
        title = checkin.milestone.title if checkin.milestone is not None else "your milestone"
        return f'Status check-in: how is "{title}" going?'
    if checkin.kind == CheckInKind.PULSE_SURVEY:
        return f"Pulse survey for {team}: how does the change feel?"
    if checkin.kind == CheckInKind.TOPOLOGY_VERIFICATION:
        return f"Please confirm the members and interactions of {team}"
    if checkin.kind == CheckInKind.EVENT_SURVEY:
        return f"How did {_event_description(event)} go? ({team})"
    raise RenderError(f"unknown check-in kind {checkin.kind!r}")


def checkin_message(
    checkin: CheckIn,
    *,
    reminder: bool,
    at: dt.datetime,
    settings_row: CheckinSettings,
    event: SignalEvent | None = None,
    questions: QuestionCounter | None = None,
) -> Message:
    """The message that asks ``checkin``'s recipient to answer it: a subject naming what it is
    about, a greeting by name, the personal link, its expiry, and for anonymous surveys what
    anonymity means. Never contains answers. Raises ``Skip`` when the check-in was answered or
    has expired by ``at``."""
    if checkin.answered_at is not None:
        raise Skip("the check-in was already answered")
    if checkin.closed_at is not None:
        raise Skip(f"the check-in was closed: {checkin.closed_reason}")
    if checkin.expires_at <= at:
        raise Skip(f"the check-in's link expired on {_local(checkin.expires_at, checkin)}")
    subject = _checkin_subject(checkin, event=event)
    if reminder:
        subject = f"Reminder: {subject}"
    milestone = checkin.milestone
    # A survey says how long it takes from its own questions, not a fixed promise.
    asked = 0
    if checkin.kind in (CheckInKind.PULSE_SURVEY, CheckInKind.EVENT_SURVEY):
        asked = (questions or QuestionCounter()).count(
            organization=checkin.organization, instruments=checkin.instruments or []
        )
    context = {
        "name": checkin.recipient.name or checkin.recipient.email,
        "organization": checkin.organization.name,
        "reminder": reminder,
        "team": checkin.team.name if checkin.team is not None else "",
        "milestone": milestone.title if milestone is not None else "",
        "milestone_due": (milestone.forecast_due or milestone.planned_due) if milestone else None,
        "transformation": (
            checkin.transformation.title if checkin.transformation is not None else ""
        ),
        "event": _event_description(event),
        "link": links.checkin_url(checkin),
        "expires": _local(checkin.expires_at, checkin),
        "anonymous": checkin.kind in ANONYMOUS_CHECKIN_KINDS,
        "min_group_size": settings_row.min_group_size,
        "questions": asked,
        "duration": answer_time_text(answer_minutes(asked)),
    }
    body = _checkin_template(checkin.kind).render(context)
    return Message(subject=one_line(subject), body=body.strip() + "\n")


def payload_message(
    delivery: Delivery, *, at: dt.datetime, settings_row: CheckinSettings
) -> Message:
    """The message of an escalation, digest or alert, rendered from the state at ``at``
    (``transform.outbox.alerts``): ``Skip`` when nothing is left to say, ``RenderError`` when
    the payload does not identify what it is about.

    A row queued before messages were rendered at send time carries its ``subject`` and
    ``text``; it is sent as stored."""
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    if payload.get("subject") and payload.get("text"):
        return Message(
            subject=one_line(payload["subject"]), body=str(payload["text"]).rstrip() + "\n"
        )
    try:
        if delivery.kind == DeliveryKind.ESCALATION:
            subject, text = alerts.escalation_message(delivery, at=at, settings_row=settings_row)
        elif delivery.kind == DeliveryKind.DIGEST:
            subject, text = alerts.digest_message(delivery, at=at)
        elif delivery.kind == DeliveryKind.READINESS_DROP:
            subject, text = alerts.readiness_drop_message(delivery, settings_row=settings_row)
        elif delivery.kind == DeliveryKind.INTERACTION_OVERRUN:
            subject, text = alerts.interaction_overrun_message(delivery, at=at)
        else:
            raise RenderError(f"no message for a {delivery.kind} delivery")
    except alerts.AlertSkip as skip:
        raise Skip(str(skip)) from skip
    except alerts.AlertError as error:
        raise RenderError(str(error)) from error
    return Message(subject=one_line(subject), body=text.rstrip() + "\n")


def delivery_message(
    delivery: Delivery,
    *,
    at: dt.datetime,
    settings_row: CheckinSettings,
    event: SignalEvent | None = None,
    questions: QuestionCounter | None = None,
) -> Message:
    """The message a delivery row sends (``Skip`` / ``RenderError`` when it must not be sent).

    A recipient who has left the organisation by the time it is sent gets nothing, whatever was
    queued for them before they left (docs/checkins.md, "People leave")."""
    recipient = delivery.recipient
    if recipient.left_on is not None:
        if recipient.erased_at is not None:
            raise Skip("the recipient's personal data was erased")
        raise Skip(f"the recipient left the organisation on {recipient.left_on.isoformat()}")
    if delivery.kind in CHECKIN_DELIVERY_KINDS:
        if delivery.checkin is None:
            raise RenderError(f"a {delivery.kind} delivery without its check-in")
        return checkin_message(
            delivery.checkin,
            reminder=delivery.kind == DeliveryKind.REMINDER,
            at=at,
            settings_row=settings_row,
            event=event,
            questions=questions,
        )
    return payload_message(delivery, at=at, settings_row=settings_row)


def event_id_of(checkin: CheckIn | None) -> int | None:
    if checkin is None or checkin.kind != CheckInKind.EVENT_SURVEY:
        return None
    prefix, _, value = checkin.subject.partition(":")
    return int(value) if prefix == "event" and value.isdigit() else None
