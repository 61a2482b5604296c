"""Writes of the check-in rhythm: creating check-ins (once each, by the database's unique key)
with their deliveries, counting reminders, the surveys ingested events trigger, and an
organisation's check-in settings."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    F,
    Q,
)

from core.errors import ApplicationError
from teams.models import Membership, Organization, Team, TeamType
from teams.zones import organization_today
from transform.instruments.selectors import instrument_get
from transform.models import (
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Delivery,
    DeliveryKind,
    SignalEvent,
)
from transform.models.evidence import SignalEventKind
from transform.outbox.services import deliveries_queue
from transform.rhythm.links import link_nonce_new
from transform.rhythm.periods import survey_period
from transform.rhythm.selectors import checkin_settings_get

logger = logging.getLogger(__name__)

PLATFORM_SATISFACTION = "platform-satisfaction"


BATCH_SIZE = 500


CheckInKey = tuple[int, str, str, str]  # (recipient id, kind, subject, period): the unique key


class InstrumentVersions:
    """Latest instrument versions of one organisation, looked up once per key."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self.versions: dict[str, int | None] = {}

    def version(self, key: str) -> int | None:
        """The latest version of ``key``, or None (logged) when the organisation has no such
        instrument: a misconfigured key must not stop the rest of the rhythm."""
        if key not in self.versions:
            try:
                spec = instrument_get(organization=self.organization, key=key)
            except ApplicationError as exc:
                logger.warning("Organisation %s: %s", self.organization.slug, exc.message)
                self.versions[key] = None
            else:
                self.versions[key] = spec.version
        return self.versions[key]

    def pairs(self, keys: Iterable[str]) -> list[list[Any]]:
        """``[[key, version], ...]`` for the known ``keys``, in order, each once."""
        pairs: list[list[Any]] = []
        for key in dict.fromkeys(keys):
            version = self.version(key)
            if version is not None:
                pairs.append([key, version])
        return pairs


def reminders_count_up(seen: Sequence[tuple[int, int]]) -> int:
    """Add one to ``reminders_sent`` of each ``(check-in id, reminders_sent as read)`` whose count
    is still the one read: a planner that lost a race to another one (which counted the same
    reminder first) counts nothing. Returns the number of check-ins counted up."""
    counted = 0
    for start in range(0, len(seen), BATCH_SIZE):
        by_count: dict[int, list[int]] = defaultdict(list)
        for checkin_id, sent in seen[start : start + BATCH_SIZE]:
            by_count[sent].append(checkin_id)
        unchanged = Q()
        for sent, ids in by_count.items():
            unchanged |= Q(pk__in=ids, reminders_sent=sent)
        counted += CheckIn.objects.filter(unchanged).update(reminders_sent=F("reminders_sent") + 1)
    return counted


def _key(checkin: CheckIn) -> CheckInKey:
    return (checkin.recipient_id, checkin.kind, checkin.subject, checkin.period)


def checkins_create(
    *,
    organization: Organization,
    settings: CheckinSettings,
    checkins: Sequence[CheckIn],
    at: dt.datetime,
) -> list[CheckIn]:
    """Insert the unsaved ``checkins`` (built with ``created_at=at``) that do not exist yet and
    queue one delivery (``checkin:<id>``) for each. Returns the rows this call inserted.

    Existing ones (same recipient, kind, subject and period) are skipped, by a read first and by
    the unique constraint for a concurrent planner; a row inserted by another planner is not
    counted here, since its nonce is not one of ours. Call inside a transaction.
    """
    wanted: dict[CheckInKey, CheckIn] = {}
    for checkin in checkins:
        wanted.setdefault(_key(checkin), checkin)
    if not wanted:
        return []
    existing = set(
        CheckIn.objects.filter(
            organization=organization,
            kind__in={key[1] for key in wanted},
            period__in={key[3] for key in wanted},
        ).values_list("recipient_id", "kind", "subject", "period")
    )
    # A fixed insert order: two planners inserting the same rows queue behind each other.
    missing = [wanted[key] for key in sorted(wanted) if key not in existing]
    if not missing:
        return []
    CheckIn.objects.bulk_create(missing, ignore_conflicts=True, batch_size=BATCH_SIZE)
    nonces = {checkin.link_nonce for checkin in missing}
    created = [
        checkin
        for checkin in CheckIn.objects.filter(organization=organization, created_at=at)
        .only("id", "kind", "recipient_id", "link_nonce")
        .order_by("id")
        if checkin.link_nonce in nonces
    ]
    deliveries_queue(
        (
            Delivery(
                organization=organization,
                kind=DeliveryKind.CHECKIN,
                dedupe_key=f"checkin:{checkin.pk}",
                recipient_id=checkin.recipient_id,
                checkin_id=checkin.pk,
                channel=settings.channel,
                payload={},
                next_attempt_at=at,
                created_at=at,
            )
            for checkin in created
        ),
        at=at,
    )
    return created


def event_surveys_trigger(*, events: Sequence[SignalEvent], at: dt.datetime) -> int:
    """Send the surveys that ``events`` trigger: for an event with a team whose kind is named in
    its organisation's ``event_surveys`` settings, one event-survey check-in to each member of
    the team (subject and period ``event:<event id>``), asking every instrument configured for
    that kind at its latest version. Returns the number of check-ins created; an event seen
    again creates nothing. Runs in the caller's transaction (the ingest's), in a savepoint.
    """
    with_team = [event for event in events if event.team_id is not None and event.pk is not None]
    if not with_team:
        return 0
    organizations = Organization.objects.in_bulk({event.organization_id for event in with_team})
    by_organization: dict[int, list[SignalEvent]] = defaultdict(list)
    for event in with_team:
        by_organization[event.organization_id].append(event)
    created = 0
    with transaction.atomic():
        for organization_id in sorted(by_organization):
            created += _event_surveys_create(
                organization=organizations[organization_id],
                events=by_organization[organization_id],
                at=at,
            )
    return created


def _event_surveys_create(
    *, organization: Organization, events: list[SignalEvent], at: dt.datetime
) -> int:
    settings = checkin_settings_get(organization=organization)
    surveys: dict[str, list[str]] = defaultdict(list)
    for entry in settings.event_surveys or []:
        if isinstance(entry, dict) and entry.get("event") and entry.get("instrument"):
            surveys[str(entry["event"])].append(str(entry["instrument"]))
    triggered = [event for event in events if event.kind in surveys]
    if not triggered:
        return 0
    instruments = InstrumentVersions(organization)
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, person_id in (
        Membership.objects.filter(team_id__in={event.team_id for event in triggered})
        .order_by("person_id")
        .values_list("team_id", "person_id")
    ):
        members[team_id].append(person_id)
    platform_teams = set(
        Team.objects.filter(
            pk__in={event.team_id for event in triggered}, type=TeamType.PLATFORM
        ).values_list("pk", flat=True)
    )
    period_start = survey_period(organization_today(organization, at), settings=settings).start
    expires_at = at + dt.timedelta(days=settings.link_valid_days)
    checkins = []
    for event in triggered:
        pairs = instruments.pairs(surveys[event.kind])
        if event.team_id in platform_teams:
            # As in pulse surveys: the platform team does not rate its own platform.
            pairs = [pair for pair in pairs if pair[0] != PLATFORM_SATISFACTION]
        if not pairs or event.team_id is None:
            continue
        for person_id in members[event.team_id]:
            checkins.append(
                CheckIn(
                    organization=organization,
                    kind=CheckInKind.EVENT_SURVEY,
                    recipient_id=person_id,
                    subject=f"event:{event.pk}",
                    period=f"event:{event.pk}",
                    period_start=period_start,
                    team_id=event.team_id,
                    instruments=[list(pair) for pair in pairs],
                    link_nonce=link_nonce_new(),
                    created_at=at,
                    expires_at=expires_at,
                )
            )
    return len(
        checkins_create(organization=organization, settings=settings, checkins=checkins, at=at)
    )


SETTINGS_FIELDS: tuple[str, ...] = (
    "channel",
    "webhook_url",
    "slack_bot_token",
    "slack_alert_channel",
    "msteams_webhook_url",
    "survey_every_days",
    "pulse_instruments",
    "event_surveys",
    "topology_verify_every_days",
    "link_valid_days",
    "reminder_after_days",
    "max_reminders",
    "escalate_blocked_after_days",
    "readiness_drop_alert",
    "digest_weekday",
    "min_group_size",
    "min_free_text_group_size",
    "lead_time_min_change_minutes",
)


@transaction.atomic
def checkin_settings_update(
    *, organization: Organization, changes: Mapping[str, Any]
) -> CheckinSettings:
    """Apply ``changes`` (field -> value, types already checked) to the organisation's check-in
    settings, creating the row on first use, and check the rules that span fields or need the
    database: min_group_size >= 3, min_free_text_group_size >= min_group_size, a webhook_url
    when the channel is webhook, pulse_instruments and event_surveys naming existing survey
    instruments and known event kinds. Raises ApplicationError (400) with every problem under
    ``extra.fields``; nothing is stored then."""
    row, _created = CheckinSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    errors: dict[str, list[str]] = {name: ["unknown setting"] for name in unknown}
    for name, value in changes.items():
        if name in SETTINGS_FIELDS:
            setattr(row, name, value)
    if row.min_group_size < 3:
        errors.setdefault("min_group_size", []).append(
            "must be at least 3: smaller groups would expose individual answers"
        )
    if row.min_free_text_group_size < row.min_group_size:
        errors.setdefault("min_free_text_group_size", []).append(
            f"must be at least min_group_size ({row.min_group_size})"
        )
    if row.channel == "webhook" and not row.webhook_url:
        errors.setdefault("webhook_url", []).append("required when the channel is webhook")
    if row.channel == "slack" and not row.slack_bot_token:
        errors.setdefault("slack_bot_token", []).append("required when the channel is slack")
    if row.channel == "msteams" and not row.msteams_webhook_url:
        errors.setdefault("msteams_webhook_url", []).append("required when the channel is msteams")
    errors.update(_instrument_setting_errors(organization=organization, row=row))
    if errors:
        first, problems = next(iter(errors.items()))
        raise ApplicationError(
            f"The check-in settings are not valid: {first}: {problems[0]}",
            extra={"fields": errors},
        )
    try:
        row.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ApplicationError(
            "The check-in settings are not valid.", extra={"fields": exc.message_dict}
        ) from exc
    row.save()
    return row


def _survey_instrument_problem(*, organization: Organization, key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return f"expected an instrument key; got {type(key).__name__}"
    try:
        spec = instrument_get(organization=organization, key=key)
    except ApplicationError:
        return f"unknown instrument '{key}'"
    if spec.kind != "survey":
        return f"instrument '{key}' is a {spec.kind} instrument, not a survey"
    return None


def _instrument_setting_errors(
    *, organization: Organization, row: CheckinSettings
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    pulse = row.pulse_instruments
    if not isinstance(pulse, list) or not pulse:
        errors["pulse_instruments"] = ["expected a non-empty list of instrument keys"]
    else:
        problems = [
            problem
            for key in pulse
            if (problem := _survey_instrument_problem(organization=organization, key=key))
        ]
        if len(set(map(str, pulse))) != len(pulse):
            problems.append("each instrument may be listed once")
        if problems:
            errors["pulse_instruments"] = problems
    surveys = row.event_surveys
    if not isinstance(surveys, list):
        errors["event_surveys"] = ['expected a list of {"event": KIND, "instrument": KEY} objects']
        return errors
    events = list(SignalEventKind.values)
    for index, entry in enumerate(surveys):
        where = f"event_surveys[{index}]"
        if not isinstance(entry, Mapping) or set(entry) != {"event", "instrument"}:
            errors[where] = ['expected an object with exactly "event" and "instrument"']
            continue
        if entry["event"] not in events:
            errors[f"{where}.event"] = [
                f"unknown event {entry['event']!r}; expected one of {', '.join(events)}"
            ]
        problem = _survey_instrument_problem(organization=organization, key=entry["instrument"])
        if problem:
            errors[f"{where}.instrument"] = [problem]
    return errors


def milestone_checkins_close(*, milestone_id: int, reason: str, at: dt.datetime) -> int:
    """Close the milestone's open status check-ins (not answered, not closed) with ``reason``,
    so their links say why instead of refusing the answer, no reminder is planned for them and
    the outbox skips their pending messages. Returns how many were closed; call it inside the
    transaction that makes the milestone done."""
    return CheckIn.objects.filter(
        milestone_id=milestone_id,
        kind=CheckInKind.MILESTONE_STATUS,
        answered_at__isnull=True,
        closed_at__isnull=True,
    ).update(closed_at=at, closed_reason=reason)
