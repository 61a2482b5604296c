"""Reads for answering a check-in: the instrument versions it asks and what the form shows about it."""

from __future__ import annotations

from core.bounds import id_parse
from transform.instruments.format import (
    InstrumentSpec,
)
from transform.instruments.selectors import instrument_get
from transform.models import (
    CheckIn,
    CheckInKind,
    MilestoneStatus,
    SignalEvent,
    SignalEventKind,
)
from transform.plans.workflow import milestone_allowed_statuses

# What a milestone status answer asks of the workflow; an answer equal to the current status
# changes nothing (a milestone reported "at risk" two weeks running stays at risk, once).
MILESTONE_STATUS_TARGET: dict[str, str] = {
    "on_track": MilestoneStatus.IN_PROGRESS,
    "at_risk": MilestoneStatus.AT_RISK,
    "blocked": MilestoneStatus.BLOCKED,
}


def checkin_instruments(*, checkin: CheckIn) -> list[InstrumentSpec]:
    """The exact instrument versions the check-in asks, in its order."""
    return [
        instrument_get(organization=checkin.organization, key=str(key), version=int(version))
        for key, version in checkin.instruments
    ]


def milestone_status_options(checkin: CheckIn) -> tuple[str, ...] | None:
    """For a milestone status check-in, the answers its status question offers now: those that
    keep the milestone's current status or move it where the workflow allows from there
    (``milestone_allowed_statuses``), in ``MILESTONE_STATUS_TARGET`` order. The form shows only
    these, the link API lists them and answering refuses any other. None for other kinds (and a
    check-in whose milestone is gone): every option of the instrument is offered."""
    milestone = checkin.milestone
    if checkin.kind != CheckInKind.MILESTONE_STATUS or milestone is None:
        return None
    reachable = {milestone.status, *milestone_allowed_statuses(milestone)}
    return tuple(value for value, target in MILESTONE_STATUS_TARGET.items() if target in reachable)


def checkin_subject_title(checkin: CheckIn) -> str:
    """What the check-in is about, for people: the milestone's title or the team's name."""
    if checkin.milestone is not None:
        return checkin.milestone.title
    if checkin.team is not None:
        return checkin.team.name
    return checkin.organization.name


def checkin_event_label(checkin: CheckIn) -> str | None:
    """For an event survey (subject ``event:<SignalEvent id>``), the kind of event that triggered
    it ("First deploy"), if the event is still there; None otherwise."""
    if checkin.kind != CheckInKind.EVENT_SURVEY:
        return None
    prefix, _sep, event_id = checkin.subject.partition(":")
    event_pk = id_parse(event_id) if prefix == "event" else None
    if event_pk is None:
        return None
    kind = (
        SignalEvent.objects.filter(pk=event_pk, organization_id=checkin.organization_id)
        .values_list("kind", flat=True)
        .first()
    )
    return str(SignalEventKind(kind).label) if kind in SignalEventKind.values else None


def recipient_first_name(checkin: CheckIn) -> str:
    """The recipient's first name only (the form greets them, never shows more)."""
    name = checkin.recipient.name.strip()
    return name.split()[0] if name else ""
