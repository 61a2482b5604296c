"""Sending the outbox: claim due ``Delivery`` rows, render them, send them in batches, and record
each outcome (sent, retried with backoff, failed). docs/delivery.md is the reference.

The database is the only coordinator. A row moves pending -> sending by a conditional UPDATE that
names its claimer (``claimed_by``: the Celery task id), so two workers, two dispatches or a
redelivered task never send the same row twice; a claim older than
``DELIVERY_CLAIM_TIMEOUT_SECONDS`` belongs to a worker presumed dead and is taken over. Each sent
message is committed on its own, so a crash loses at most the record of the one message that was
in flight (which may then be sent again: the only duplicate the design allows).

A batch holds many messages and opens ONE e-mail connection (Django's backend, SMTP in
production) or ONE HTTP session (chat webhook) per organisation and channel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import smtplib
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from teams.models import Organization
from transform import links
from transform.models import (
    ANONYMOUS_CHECKIN_KINDS,
    Channel,
    CheckIn,
    CheckInKind,
    CheckinSettings,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    SignalEvent,
)
from transform.rhythm import checkin_settings_get

logger = logging.getLogger(__name__)

CHECKIN_DELIVERY_KINDS = frozenset({DeliveryKind.CHECKIN, DeliveryKind.REMINDER})
SKIPPED_PREFIX = "skipped: "
TEMPLATE_DIR = "transform/messages"
# What a webhook or mail server said is kept short: last_error is for a human skimming a list.
ERROR_MAX_CHARS = 500


# --- clock -------------------------------------------------------------------------------------


def delivery_moment(at: dt.datetime | None = None) -> dt.datetime:
    """The clock a sender works by: ``at`` when it is later than now, else now.

    ``at`` may move the clock forward (tests, ``run_checkins --at`` a future moment), never back:
    a task that waited in the queue claims rows at the time it runs, so its claim is not already
    stale when it starts sending."""
    now = timezone.now()
    return now if at is None or at < now else at


# --- results -----------------------------------------------------------------------------------


OUTCOMES = ("sent", "retried", "failed", "skipped")


@dataclass
class BatchResult:
    """What became of the rows one or more batches were asked to send, counted by delivery kind.

    ``sent``: delivered; ``retried``: back to pending for a later attempt; ``failed``: given up
    (last attempt used, or a permanent error); ``skipped``: not sent because its check-in was
    answered or expired (recorded as failed with a "skipped: ..." reason); ``not_claimed``:
    asked for but not ours to send (already sent, not due, or claimed by another live worker).
    """

    sent: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    not_claimed: int = 0

    def count(self, outcome: str) -> int:
        counter: Counter[str] = getattr(self, outcome)
        return sum(counter.values())

    def merge(self, other: BatchResult) -> None:
        for outcome in OUTCOMES:
            getattr(self, outcome).update(getattr(other, outcome))
        self.not_claimed += other.not_claimed

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {outcome: self.count(outcome) for outcome in OUTCOMES}
        data["not_claimed"] = self.not_claimed
        data["by_kind"] = {
            outcome: dict(sorted(getattr(self, outcome).items())) for outcome in OUTCOMES
        }
        return data


# --- finding and claiming ------------------------------------------------------------------------


def _stale_before(at: dt.datetime) -> dt.datetime:
    return at - dt.timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT_SECONDS)


def _due_filter(at: dt.datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=at) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=_stale_before(at)
    )


def _due_rows(*, at: dt.datetime) -> list[tuple[int, int]]:
    return list(
        Delivery.objects.filter(_due_filter(at))
        .order_by("organization_id", "next_attempt_at", "id")
        .values_list("id", "organization_id")
    )


def deliveries_due(*, at: dt.datetime) -> list[int]:
    """Ids of the rows to send at ``at``: pending with ``next_attempt_at <= at``, or sending under
    a stale claim (claimed before ``at - DELIVERY_CLAIM_TIMEOUT_SECONDS``: its worker died).
    Ordered by organisation, then by when they fell due."""
    return [pk for pk, _org in _due_rows(at=at)]


@dataclass
class _Claim:
    ids: list[int]
    exhausted: Counter[str]  # rows failed instead of claimed, by kind


def _claim(
    delivery_ids: Sequence[int], *, at: dt.datetime, claimed_by: str, attempt: bool
) -> _Claim:
    """Claim the claimable rows among ``delivery_ids`` for ``claimed_by``.

    Claimable: due (pending, or a stale claim) or, when ``attempt``, already claimed by
    ``claimed_by`` (rows a dispatcher reserved for this task, or a redelivered task's own rows).
    With ``attempt`` the claim counts as an attempt; a row that comes back abandoned (its last
    attempt was interrupted) with no attempt left is marked failed instead. Row locks are taken
    with SKIP LOCKED, so a row another claimer is busy with is skipped, never waited for; on
    SQLite the IMMEDIATE transaction serialises claimers instead.
    """
    if not delivery_ids:
        return _Claim(ids=[], exhausted=Counter())
    claimable = _due_filter(at)
    if attempt:
        claimable |= Q(status=DeliveryStatus.SENDING, claimed_by=claimed_by)
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(claimable, pk__in=list(delivery_ids))
            .values_list("pk", "status", "attempts", "kind")
        )
        exhausted = {
            pk: kind
            for pk, status, attempts, kind in rows
            if attempt
            and status == DeliveryStatus.SENDING
            and attempts >= settings.DELIVERY_MAX_ATTEMPTS
        }
        if exhausted:
            Delivery.objects.filter(pk__in=exhausted).update(
                status=DeliveryStatus.FAILED,
                last_error=(
                    "gave up: the last attempt was interrupted (the worker sending it stopped) "
                    "and no attempt is left"
                ),
            )
        claimed = [pk for pk, *_rest in rows if pk not in exhausted]
        changes: dict[str, Any] = {
            "status": DeliveryStatus.SENDING,
            "claimed_at": at,
            "claimed_by": claimed_by,
        }
        if attempt:
            changes["attempts"] = F("attempts") + 1
        Delivery.objects.filter(pk__in=claimed).update(**changes)
    return _Claim(ids=claimed, exhausted=Counter(exhausted.values()))


# --- rendering -----------------------------------------------------------------------------------


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
    """The message must not go out (its check-in was answered or has expired)."""


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


def _local(moment: dt.datetime) -> str:
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    return f"{local:%A} {local.day} {local:%B %Y at %H:%M} ({settings.TIME_ZONE})"


def _one_line(text: str) -> str:
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
) -> Message:
    """The message that asks ``checkin``'s recipient to answer it: a subject naming what it is
    about, a greeting by name, the personal link, its expiry, and for anonymous surveys what
    anonymity means. Never contains answers. Raises ``Skip`` when the check-in was answered or
    has expired by ``at``."""
    if checkin.answered_at is not None:
        raise Skip("the check-in was already answered")
    if checkin.expires_at <= at:
        raise Skip(f"the check-in's link expired on {_local(checkin.expires_at)}")
    subject = _checkin_subject(checkin, event=event)
    if reminder:
        subject = f"Reminder: {subject}"
    milestone = checkin.milestone
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
        "expires": _local(checkin.expires_at),
        "anonymous": checkin.kind in ANONYMOUS_CHECKIN_KINDS,
        "min_group_size": settings_row.min_group_size,
    }
    body = render_to_string(f"{TEMPLATE_DIR}/{checkin.kind}.txt", context)
    return Message(subject=_one_line(subject), body=body.strip() + "\n")


def payload_message(delivery: Delivery) -> Message:
    """The message of an escalation, digest or alert: the ``subject`` and ``text`` its creator
    stored in the payload. Raises ``RenderError`` when either is missing."""
    subject = delivery.payload.get("subject") if isinstance(delivery.payload, dict) else None
    text = delivery.payload.get("text") if isinstance(delivery.payload, dict) else None
    if not subject or not text:
        raise RenderError("the payload lacks its subject or text")
    return Message(subject=_one_line(subject), body=str(text).rstrip() + "\n")


def delivery_message(
    delivery: Delivery,
    *,
    at: dt.datetime,
    settings_row: CheckinSettings,
    event: SignalEvent | None = None,
) -> Message:
    """The message a delivery row sends (``Skip`` / ``RenderError`` when it must not be sent)."""
    if delivery.kind in CHECKIN_DELIVERY_KINDS:
        if delivery.checkin is None:
            raise RenderError(f"a {delivery.kind} delivery without its check-in")
        return checkin_message(
            delivery.checkin,
            reminder=delivery.kind == DeliveryKind.REMINDER,
            at=at,
            settings_row=settings_row,
            event=event,
        )
    return payload_message(delivery)


def _event_id(checkin: CheckIn | None) -> int | None:
    if checkin is None or checkin.kind != CheckInKind.EVENT_SURVEY:
        return None
    prefix, _, value = checkin.subject.partition(":")
    return int(value) if prefix == "event" and value.isdigit() else None


# --- sending -------------------------------------------------------------------------------------


def _short(error: BaseException | str) -> str:
    text = _one_line(
        f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
    )
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


class _Batch:
    """The rows one call claimed, and the bookkeeping of their outcomes.

    Every outcome is written at once with its own conditional UPDATE (autocommit, outside any
    transaction): a crash after message k leaves messages 1..k recorded."""

    def __init__(self, *, rows: list[Delivery], at: dt.datetime, claimed_by: str) -> None:
        self.at = at
        self.claimed_by = claimed_by
        self.result = BatchResult()
        self.unresolved: dict[int, Delivery] = {row.pk: row for row in rows}
        self.in_flight: int | None = None

    def _mine(self, row: Delivery) -> QuerySet[Delivery]:
        return Delivery.objects.filter(
            pk=row.pk, status=DeliveryStatus.SENDING, claimed_by=self.claimed_by
        )

    def _resolved(self, row: Delivery, outcome: str, changed: int) -> None:
        self.unresolved.pop(row.pk, None)
        if self.in_flight == row.pk:
            self.in_flight = None
        if changed:
            getattr(self.result, outcome)[row.kind] += 1
        else:
            # Only when this batch outlived its claim and another worker took the row over.
            logger.warning("delivery %s was taken over by another worker", row.pk)

    def sent(self, row: Delivery) -> None:
        changed = self._mine(row).update(status=DeliveryStatus.SENT, sent_at=self.at, last_error="")
        self._resolved(row, "sent", changed)

    def skipped(self, row: Delivery, reason: str) -> None:
        changed = self._mine(row).update(
            status=DeliveryStatus.FAILED, last_error=_short(SKIPPED_PREFIX + reason)
        )
        self._resolved(row, "skipped", changed)

    def failed(self, row: Delivery, error: BaseException | str, *, permanent: bool) -> None:
        """Record a failed attempt: pending again after the backoff, or failed when the error is
        permanent or the last attempt is used."""
        message = _short(error)
        if permanent or row.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            if not permanent:
                message = _short(f"gave up after {row.attempts} attempts: {message}")
            changed = self._mine(row).update(status=DeliveryStatus.FAILED, last_error=message)
            self._resolved(row, "failed", changed)
            logger.warning("delivery %s failed: %s", row.pk, message)
            return
        delay = settings.DELIVERY_RETRY_SECONDS * 2 ** (max(row.attempts, 1) - 1)
        changed = self._mine(row).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=self.at + dt.timedelta(seconds=delay),
            last_error=message,
        )
        self._resolved(row, "retried", changed)
        logger.info("delivery %s will be retried in %ss: %s", row.pk, delay, message)

    def release_unattempted(self) -> None:
        """Give back the rows not tried yet (the batch is being stopped): pending, due at once,
        their claim's attempt not counted. The message in flight, if any, stays claimed: it
        may have gone out, so it waits for the claim timeout like a crashed worker's."""
        ids = [pk for pk in self.unresolved if pk != self.in_flight]
        if ids:
            Delivery.objects.filter(
                pk__in=ids, status=DeliveryStatus.SENDING, claimed_by=self.claimed_by
            ).update(
                status=DeliveryStatus.PENDING,
                attempts=F("attempts") - 1,
                next_attempt_at=self.at,
            )


def _smtp_error_is_permanent(error: Exception) -> bool:
    """A 5xx reply to a message (RFC 5321: permanent) fails it at once; everything else, 4xx
    replies, timeouts and lost connections, is retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def _smtp_connection_lost(error: Exception) -> bool:
    """Whether the connection is unusable after ``error`` (the server answered with an error
    reply: still usable; a timeout or a dropped connection: not)."""
    return not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)


def _connection_drop(connection: Any) -> None:
    # After a timeout the server may never answer QUIT; close the socket first (the SMTP backend
    # keeps its smtplib client in ``.connection``), then let the backend tidy up.
    client = getattr(connection, "connection", None)
    if client is not None and hasattr(client, "close"):
        with contextlib.suppress(OSError):
            client.close()
    try:
        connection.close()
    except Exception:  # nothing to do about a connection that will not close
        logger.debug("closing a failed e-mail connection raised", exc_info=True)


def _send_email(batch: _Batch, rows: list[tuple[Delivery, Message]]) -> None:
    """Send over ONE connection of Django's e-mail backend. A connection that cannot be opened
    fails every row of the group for this attempt; a connection lost mid-batch is reopened once,
    and lost again fails the rest for this attempt (a hanging server must not eat the task's
    time limit one timeout at a time)."""
    connection = get_connection(fail_silently=False)
    is_open = False
    losses = 0
    queue = list(rows)
    try:
        while queue:
            row, message = queue.pop(0)
            if not is_open:
                try:
                    connection.open()
                except Exception as error:  # any failure to connect is retried
                    reason = f"could not connect to the mail server: {_short(error)}"
                    for failed_row, _message in [(row, message), *queue]:
                        batch.failed(failed_row, reason, permanent=False)
                    return
                is_open = True
            email = EmailMessage(
                subject=message.subject,
                body=message.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[row.recipient.email],
                connection=connection,
                headers={"Auto-Submitted": "auto-generated", "X-Transform-Delivery": str(row.pk)},
            )
            batch.in_flight = row.pk
            try:
                count = connection.send_messages([email])
            except SoftTimeLimitExceeded:
                raise
            except Exception as error:  # classified below, never swallowed
                batch.failed(row, error, permanent=_smtp_error_is_permanent(error))
                if _smtp_connection_lost(error):
                    _connection_drop(connection)
                    is_open = False
                    losses += 1
                    if losses > 1:
                        reason = f"not attempted: the mail server failed again ({_short(error)})"
                        for failed_row, _message in queue:
                            batch.failed(failed_row, reason, permanent=False)
                        return
                continue
            if count == 1:
                batch.sent(row)
            else:
                batch.failed(row, "the e-mail backend did not send the message", permanent=False)
    finally:
        if is_open:
            try:
                connection.close()
            except Exception:  # every message's outcome is already recorded
                logger.warning("closing the e-mail connection failed", exc_info=True)


def webhook_body(row: Delivery, message: Message) -> dict[str, str]:
    """The JSON a chat webhook receives: Slack's incoming-webhook ``text``, plus ``recipient``
    (the person the message is for) for receivers that route messages themselves."""
    return {"text": message.text, "recipient": row.recipient.email}


def _send_webhook(batch: _Batch, rows: list[tuple[Delivery, Message]], *, url: str) -> None:
    """POST each message over ONE HTTP session to the organisation's webhook. 2xx: sent; 429,
    5xx, timeouts and connection errors: retried (after a timeout, a connection error or a 429
    the rest of the group waits for the next attempt too); any other status (4xx, 3xx): failed
    at once, since a wrong URL will not fix itself."""
    if not url:
        for row, _message in rows:
            batch.failed(
                row,
                "the organisation's check-in settings have no webhook_url for the webhook channel",
                permanent=True,
            )
        return
    with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as client:
        for index, (row, message) in enumerate(rows):
            batch.in_flight = row.pk
            stop_reason = ""
            try:
                response = client.post(url, json=webhook_body(row, message))
            except SoftTimeLimitExceeded:
                raise
            except httpx.TransportError as error:
                batch.failed(row, f"webhook unreachable: {_short(error)}", permanent=False)
                stop_reason = f"not attempted: the webhook was unreachable ({_short(error)})"
            except Exception as error:  # retried, bounded by the attempts
                batch.failed(row, error, permanent=False)
                continue
            else:
                status = response.status_code
                if 200 <= status < 300:
                    batch.sent(row)
                    continue
                reply = _short(f"webhook answered {status}: {response.text[:200]}")
                if status == 429 or status >= 500:
                    batch.failed(row, reply, permanent=False)
                    if status == 429:
                        stop_reason = "not attempted: the webhook asked to slow down (429)"
                else:
                    batch.failed(row, reply, permanent=True)
            if stop_reason:
                for later, _message in rows[index + 1 :]:
                    batch.failed(later, stop_reason, permanent=False)
                return


def deliver_batch(*, delivery_ids: Sequence[int], at: dt.datetime, claimed_by: str) -> BatchResult:
    """Claim, render and send the rows among ``delivery_ids`` that are ours to send at ``at``.

    Claimable rows are due ones (pending with ``next_attempt_at <= at``, or stale claims) and
    rows already claimed by ``claimed_by`` (reserved by ``dispatch_due`` for this task, or a
    redelivered task's own). Rows sent, not due or claimed by another live worker are left
    alone. Must not run inside a transaction: every outcome commits on its own. Never raises for
    a failed message; the outcome is recorded on the row (docs/delivery.md#retries-and-backoff).
    """
    claim = _claim(delivery_ids, at=at, claimed_by=claimed_by, attempt=True)
    rows = list(
        Delivery.objects.filter(
            pk__in=claim.ids, status=DeliveryStatus.SENDING, claimed_by=claimed_by
        )
        .select_related(
            "recipient",
            "organization",
            "checkin__recipient",
            "checkin__organization",
            "checkin__milestone",
            "checkin__team",
            "checkin__transformation",
        )
        .order_by("organization_id", "channel", "id")
    )
    batch = _Batch(rows=rows, at=at, claimed_by=claimed_by)
    batch.result.failed.update(claim.exhausted)
    batch.result.not_claimed = len(set(delivery_ids)) - len(claim.ids) - claim.exhausted.total()
    try:
        _deliver_rows(batch, rows)
    except BaseException:
        batch.release_unattempted()
        raise
    return batch.result


def _deliver_rows(batch: _Batch, rows: list[Delivery]) -> None:
    settings_by_org: dict[int, CheckinSettings] = {}
    event_ids = {pk for row in rows if (pk := _event_id(row.checkin)) is not None}
    events = SignalEvent.objects.in_bulk(list(event_ids)) if event_ids else {}
    groups: dict[tuple[int, str], list[tuple[Delivery, Message]]] = defaultdict(list)
    for row in rows:
        if row.organization_id not in settings_by_org:
            settings_by_org[row.organization_id] = checkin_settings_get(
                organization=row.organization
            )
        event_id = _event_id(row.checkin)
        try:
            message = delivery_message(
                row,
                at=batch.at,
                settings_row=settings_by_org[row.organization_id],
                event=events.get(event_id) if event_id is not None else None,
            )
        except Skip as skip:
            batch.skipped(row, str(skip))
            continue
        except RenderError as error:
            batch.failed(row, f"cannot render the message: {error}", permanent=True)
            continue
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:
            # A bug or a missing template: retried (bounded by the attempts), never a loop.
            logger.exception("rendering delivery %s failed", row.pk)
            batch.failed(row, f"cannot render the message: {_short(error)}", permanent=False)
            continue
        groups[(row.organization_id, row.channel)].append((row, message))
    for (org_id, channel), group in groups.items():
        if channel == Channel.EMAIL:
            _send_email(batch, group)
        elif channel == Channel.WEBHOOK:
            _send_webhook(batch, group, url=settings_by_org[org_id].webhook_url)
        else:
            for row, _message in group:
                batch.failed(row, f"unknown channel {channel!r}", permanent=True)


# --- dispatching -------------------------------------------------------------------------------


def dispatch_due(
    *, at: dt.datetime, enqueue: Callable[[list[int], str, str], None] | None = None
) -> int:
    """Hand every row due at ``at`` to the workers, in tasks of at most ``DELIVERY_BATCH_SIZE``
    rows of one organisation; returns how many rows were handed out.

    Each task's rows are reserved for it first (sending, ``claimed_by`` = the task's id, no
    attempt counted) and the task is enqueued once that commits: a dispatch that runs again a
    minute later, or twice at once, finds nothing left to hand out, and a task that never runs
    leaves a claim that goes stale and is dispatched again. ``enqueue(ids, at_iso, task_id)``
    replaces the Celery call (tests)."""
    send = enqueue or _enqueue_deliver
    by_org: dict[int, list[int]] = defaultdict(list)
    for pk, org_id in _due_rows(at=at):
        by_org[org_id].append(pk)
    size = max(1, settings.DELIVERY_BATCH_SIZE)
    handed = 0
    for ids in by_org.values():
        for start in range(0, len(ids), size):
            task_id = str(uuid.uuid4())
            with transaction.atomic():
                reserved = _claim(
                    ids[start : start + size], at=at, claimed_by=task_id, attempt=False
                ).ids
                if reserved:
                    transaction.on_commit(
                        functools.partial(send, reserved, at.isoformat(), task_id)
                    )
            handed += len(reserved)
    return handed


def _enqueue_deliver(delivery_ids: list[int], at: str, task_id: str) -> None:
    from transform.tasks import deliver_checkins  # tasks import this module, not vice versa

    deliver_checkins.apply_async(kwargs={"delivery_ids": delivery_ids, "at": at}, task_id=task_id)


def deliver_due_now(*, at: dt.datetime, claimed_by: str | None = None) -> BatchResult:
    """Send every row due at ``at`` in this process, batch by batch, with ``deliver_batch``
    (``run_checkins`` without ``--enqueue``)."""
    owner = claimed_by or f"local:{uuid.uuid4()}"
    total = BatchResult()
    by_org: dict[int, list[int]] = defaultdict(list)
    for pk, org_id in _due_rows(at=at):
        by_org[org_id].append(pk)
    size = max(1, settings.DELIVERY_BATCH_SIZE)
    for ids in by_org.values():
        for start in range(0, len(ids), size):
            total.merge(
                deliver_batch(delivery_ids=ids[start : start + size], at=at, claimed_by=owner)
            )
    return total


# --- reading ---------------------------------------------------------------------------------------


def delivery_list(
    *, organization: Organization, status: str | None = None, kind: str | None = None
) -> QuerySet[Delivery]:
    """The organisation's outbox, newest first, optionally by status and kind."""
    rows = Delivery.objects.filter(organization=organization).select_related("recipient")
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-id")
