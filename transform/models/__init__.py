"""The models of the ``transform`` app, one module per capability; importing them from
``transform.models`` is the way in (Django finds them here, and migrations name them so)."""

from transform.models.answers import Response, ResponseKind
from transform.models.calendars import CalendarFeed, CalendarFeedKind
from transform.models.checkins import (
    ANONYMOUS_CHECKIN_KINDS,
    CheckIn,
    CheckInKind,
    ProposalStatus,
    TeamVerification,
)
from transform.models.evidence import (
    SignalEvent,
    SignalEventKind,
    SignalEventsVersion,
    signal_events_changed,
)
from transform.models.instruments import Instrument
from transform.models.outbox import Delivery, DeliveryKind, DeliveryStatus
from transform.models.plans import (
    EventKind,
    Milestone,
    MilestoneChange,
    MilestoneEvent,
    MilestoneStatus,
    OwnerRole,
    Transformation,
)
from transform.models.readiness import (
    ReadinessSnapshot,
    SurveyRollup,
    SurveyRollupScope,
    SurveyRollupState,
)
from transform.models.rhythm import (
    Channel,
    CheckinSettings,
    default_event_surveys,
    default_pulse_instruments,
)
from transform.models.webhooks import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMapping,
    WebhookSender,
    WebhookStatus,
)

__all__ = [
    "ANONYMOUS_CHECKIN_KINDS",
    "CalendarFeed",
    "CalendarFeedKind",
    "Channel",
    "CheckIn",
    "CheckInKind",
    "CheckinSettings",
    "Delivery",
    "DeliveryKind",
    "DeliveryStatus",
    "EventKind",
    "Instrument",
    "Milestone",
    "MilestoneChange",
    "MilestoneEvent",
    "MilestoneStatus",
    "OwnerRole",
    "ProposalStatus",
    "ReadinessSnapshot",
    "Response",
    "ResponseKind",
    "SignalEvent",
    "SignalEventKind",
    "SignalEventsVersion",
    "SurveyRollup",
    "SurveyRollupScope",
    "SurveyRollupState",
    "TeamVerification",
    "Transformation",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookMapping",
    "WebhookSender",
    "WebhookStatus",
    "default_event_surveys",
    "default_pulse_instruments",
    "signal_events_changed",
]
