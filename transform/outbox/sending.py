"""Sending a claimed batch over its channel: ONE e-mail connection (Django's backend, SMTP in
production) or ONE HTTP session (chat webhook) per organisation and channel, and recording each
row's outcome (sent, retried with backoff, failed) the moment it is known."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, QuerySet

from transform.models import (
    Delivery,
    DeliveryStatus,
)
from transform.outbox.messages import Message, one_line

logger = logging.getLogger(__name__)

SKIPPED_PREFIX = "skipped: "


# What a webhook or mail server said is kept short: last_error is for a human skimming a list.
ERROR_MAX_CHARS = 500


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


def short_error(error: BaseException | str) -> str:
    text = one_line(
        f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
    )
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


class Batch:
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
            status=DeliveryStatus.FAILED, last_error=short_error(SKIPPED_PREFIX + reason)
        )
        self._resolved(row, "skipped", changed)

    def failed(self, row: Delivery, error: BaseException | str, *, permanent: bool) -> None:
        """Record a failed attempt: pending again after the backoff, or failed when the error is
        permanent or the last attempt is used."""
        message = short_error(error)
        if permanent or row.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            if not permanent:
                message = short_error(f"gave up after {row.attempts} attempts: {message}")
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


def send_email(batch: Batch, rows: list[tuple[Delivery, Message]]) -> None:
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
                    reason = f"could not connect to the mail server: {short_error(error)}"
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
                        reason = (
                            f"not attempted: the mail server failed again ({short_error(error)})"
                        )
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


def send_webhook(batch: Batch, rows: list[tuple[Delivery, Message]], *, url: str) -> None:
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
                batch.failed(row, f"webhook unreachable: {short_error(error)}", permanent=False)
                stop_reason = f"not attempted: the webhook was unreachable ({short_error(error)})"
            except Exception as error:  # retried, bounded by the attempts
                batch.failed(row, error, permanent=False)
                continue
            else:
                status = response.status_code
                if 200 <= status < 300:
                    batch.sent(row)
                    continue
                reply = short_error(f"webhook answered {status}: {response.text[:200]}")
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
