"""Sending a claimed batch over its channel: ONE e-mail connection (Django's backend, SMTP in
production) or ONE HTTP session (chat webhook) per organisation and channel, and recording each
row's outcome (sent, retried with backoff, failed). Failures are recorded the moment they are
known; sent rows are recorded together, one UPDATE per ``DELIVERY_MARK_EVERY`` messages, each
noted in the sent journal (``transform.outbox.journal``) as soon as it is accepted
(docs/delivery.md, "At most once, and the one exception").

Over SMTP, a server that advertises PIPELINING (RFC 2920; Postfix and Exim do) gets MAIL, RCPT and
DATA in one write: two round trips per message instead of four."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import smtplib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import make_msgid, sanitize_address
from django.core.mail.utils import DNS_NAME
from django.db.models import F, QuerySet
from django.utils.http import http_date

from transform.models import (
    Delivery,
    DeliveryStatus,
)
from transform.outbox.journal import (
    delivery_mark_every,
    journal_forget,
    journal_note,
    journal_shared,
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

    A failure, a retry or a skip is written at once with its own conditional UPDATE (autocommit,
    outside any transaction). Sent rows are recorded together: ``sent`` keeps the row in
    ``unrecorded`` and every ``mark_every`` rows (and when the batch ends or is stopped)
    ``record_sent`` writes them with ONE conditional UPDATE. Until then each accepted row is
    noted in the sent journal (one cache SET), which a later claimer reads, so a crash sends
    again at most the one in flight (docs/delivery.md). Without a shared cache ``mark_every`` is
    1 by default; a note that cannot be written has its row recorded at once."""

    def __init__(
        self,
        *,
        rows: list[Delivery],
        at: dt.datetime,
        claimed_by: str,
        mark_every: int | None = None,
    ) -> None:
        self.at = at
        self.claimed_by = claimed_by
        self.result = BatchResult()
        self.unresolved: dict[int, Delivery] = {row.pk: row for row in rows}
        self.in_flight: int | None = None
        self.mark_every = max(1, mark_every or delivery_mark_every())
        # Recording every row on its own leaves nothing for the journal to cover.
        self.journaled = self.mark_every > 1 and journal_shared()
        self.unrecorded: list[Delivery] = []

    def _mine(self, row: Delivery) -> QuerySet[Delivery]:
        return Delivery.objects.filter(
            pk=row.pk, status=DeliveryStatus.SENDING, claimed_by=self.claimed_by
        )

    def _settle(self, row: Delivery) -> None:
        self.unresolved.pop(row.pk, None)
        if self.in_flight == row.pk:
            self.in_flight = None

    def _resolved(self, row: Delivery, outcome: str, changed: int) -> None:
        self._settle(row)
        if changed:
            getattr(self.result, outcome)[row.kind] += 1
        else:
            # Only when this batch outlived its claim and another worker took the row over.
            logger.warning("delivery %s was taken over by another worker", row.pk)

    def sent(self, row: Delivery) -> None:
        """The server accepted ``row``'s message: noted in the journal now, recorded with the
        next ``record_sent`` (at once when the note cannot be written)."""
        self._settle(row)
        self.unrecorded.append(row)
        noted = not self.journaled
        if self.journaled:
            try:
                journal_note(row.pk, claimed_by=self.claimed_by, sent_at=self.at)
                noted = True
            except SoftTimeLimitExceeded:
                raise
            except Exception:  # the row is recorded now instead, so the guarantee holds
                logger.warning("could not note delivery %s in the sent journal", row.pk)
        if not noted or len(self.unrecorded) >= self.mark_every:
            self.record_sent()

    def record_sent(self) -> None:
        """Mark every accepted, not yet recorded row sent with one conditional UPDATE (only rows
        still claimed by this batch change)."""
        rows, self.unrecorded = self.unrecorded, []
        if not rows:
            return
        ids = [row.pk for row in rows]
        changed = Delivery.objects.filter(
            pk__in=ids, status=DeliveryStatus.SENDING, claimed_by=self.claimed_by
        ).update(status=DeliveryStatus.SENT, sent_at=self.at, last_error="")
        if self.journaled:
            journal_forget(ids)
        if changed == len(ids):
            self.result.sent.update(row.kind for row in rows)
            return
        # Only when this batch outlived its claim and another worker took rows over.
        mine = set(
            Delivery.objects.filter(
                pk__in=ids, status=DeliveryStatus.SENT, claimed_by=self.claimed_by
            ).values_list("pk", flat=True)
        )
        for row in rows:
            if row.pk in mine:
                self.result.sent[row.kind] += 1
            else:
                logger.warning("delivery %s was taken over by another worker", row.pk)

    def skipped(self, row: Delivery, reason: str) -> None:
        changed = self._mine(row).update(
            status=DeliveryStatus.FAILED, last_error=short_error(SKIPPED_PREFIX + reason)
        )
        self._resolved(row, "skipped", changed)

    def failed(
        self,
        row: Delivery,
        error: BaseException | str,
        *,
        permanent: bool,
        retry_after: float | None = None,
    ) -> None:
        """Record a failed attempt: pending again after the backoff (at least ``retry_after``
        seconds when the server said how long to wait), or failed when the error is permanent
        or the last attempt is used."""
        message = short_error(error)
        if permanent or row.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
            if not permanent:
                message = short_error(f"gave up after {row.attempts} attempts: {message}")
            changed = self._mine(row).update(status=DeliveryStatus.FAILED, last_error=message)
            self._resolved(row, "failed", changed)
            logger.warning("delivery %s failed: %s", row.pk, message)
            return
        delay = settings.DELIVERY_RETRY_SECONDS * 2 ** (max(row.attempts, 1) - 1)
        if retry_after is not None and retry_after > delay:
            delay = int(retry_after)
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
        may have gone out, so it waits for the claim timeout like a crashed worker's. Rows sent
        and not yet recorded are recorded first."""
        self.record_sent()
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


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _smtp_reset(client: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        client.rset()


def smtp_send_pipelined(client: smtplib.SMTP, from_addr: str, to_addr: str, data: bytes) -> None:
    """``client.sendmail(from_addr, [to_addr], data)`` in two round trips: MAIL, RCPT and DATA in
    one write (the server must advertise PIPELINING), then the content. Raises what ``sendmail``
    raises for the same replies (``SMTPSenderRefused``, ``SMTPRecipientsRefused``,
    ``SMTPDataError``; ``SMTPServerDisconnected`` or ``OSError`` when the connection is lost),
    after resetting the session, so the connection can send the next message."""
    options = f" SIZE={len(data)}" if client.has_extn("size") else ""
    client.send(
        f"MAIL FROM:{smtplib.quoteaddr(from_addr)}{options}\r\n"
        f"RCPT TO:{smtplib.quoteaddr(to_addr)}\r\nDATA\r\n"
    )
    mail_code, mail_reply = client.getreply()
    rcpt_code, rcpt_reply = client.getreply()
    data_code, data_reply = client.getreply()
    if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
        # A server never invites the content without a sender and a recipient; should one do so,
        # an empty message to nobody ends the DATA phase.
        client.send(b".\r\n")
        client.getreply()
    if mail_code != 250:
        _smtp_reset(client)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, from_addr)
    if rcpt_code not in (250, 251):
        _smtp_reset(client)
        raise smtplib.SMTPRecipientsRefused({to_addr: (rcpt_code, rcpt_reply)})
    if data_code != 354:
        _smtp_reset(client)
        raise smtplib.SMTPDataError(data_code, data_reply)
    content = _LEADING_DOT.sub(b"..", data)
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    client.send(content + b".\r\n")
    code, reply = client.getreply()
    if code != 250:
        _smtp_reset(client)
        raise smtplib.SMTPDataError(code, reply)


def _pipelining_client(connection: Any) -> smtplib.SMTP | None:
    """The open smtplib client of Django's SMTP backend when its server advertises PIPELINING;
    None otherwise (other backends, or a server without it: ``send_messages`` then)."""
    if not isinstance(connection, SMTPBackend):
        return None
    client = connection.connection
    if client is None:
        return None
    client.ehlo_or_helo_if_needed()
    return client if client.does_esmtp and client.has_extn("pipelining") else None


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
_MAX_LINE = 998  # RFC 5322, without the CRLF
_OWN_HEADERS = {"content-type", "mime-version", "subject", "from", "to", "date", "message-id"}


def plain_email_bytes(email: EmailMessage) -> bytes | None:
    """The bytes Django's ``email.message().as_bytes()`` would give for a plain-text message
    with an ASCII subject and plain addresses, built directly (the ``email`` package's header
    folding took a third of the time of sending a message); None for anything else (non-ASCII
    subject, display names, extra recipients, a line too long), which Django builds.

    The subject is not folded: the message is already one line (``one_line``) and RFC 5322
    only requires lines under 998 characters."""
    subject, sender, (recipient, *others) = email.subject, email.from_email, email.recipients()
    if others or email.cc or email.bcc or email.reply_to or email.attachments:
        return None
    if email.content_subtype != "plain" or (email.encoding or "utf-8").lower() != "utf-8":
        return None
    if settings.EMAIL_USE_LOCALTIME or _OWN_HEADERS & {
        name.lower() for name in email.extra_headers
    }:
        return None
    if not (subject.isascii() and subject.isprintable() and len(subject) < _MAX_LINE - 9):
        return None
    if not (_PLAIN_ADDRESS.fullmatch(sender) and _PLAIN_ADDRESS.fullmatch(recipient)):
        return None
    body = email.body.replace("\r\n", "\n").encode()
    lines = body.split(b"\n")
    if any(len(line) > _MAX_LINE for line in lines):
        return None
    extra = "".join(
        f"{name}: {value}\r\n"
        for name, value in email.extra_headers.items()
        if str(value).isascii() and "\n" not in str(value)
    )
    if len(extra.splitlines()) != len(email.extra_headers):
        return None
    head = (
        'Content-Type: text/plain; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
        f"Content-Transfer-Encoding: {'7bit' if body.isascii() else '8bit'}\r\n"
        f"Subject: {subject}\r\nFrom: {sender}\r\nTo: {recipient}\r\n"
        f"Date: {http_date().replace('GMT', '-0000')}\r\n"
        f"Message-ID: {make_msgid(domain=DNS_NAME)}\r\n{extra}\r\n"
    )
    return head.encode() + b"\r\n".join(lines)


def _send_one(connection: Any, client: smtplib.SMTP | None, email: EmailMessage) -> int:
    """Send ``email`` over the open ``connection``; how many messages went out (0 or 1)."""
    if client is None:
        return connection.send_messages([email])
    (recipient,) = email.recipients()
    data = plain_email_bytes(email)
    if data is None:
        # What Django's SMTP backend does before sendmail (EmailBackend._send); its
        # SafeMIMEText's as_bytes takes linesep (the stubs say email.message).
        encoding = email.encoding or settings.DEFAULT_CHARSET
        built: Any = email.message()
        data = built.as_bytes(linesep="\r\n")
        sender, recipient = (
            sanitize_address(email.from_email, encoding),
            sanitize_address(recipient, encoding),
        )
    else:
        # Plain ASCII addresses (plain_email_bytes checked): sanitize_address would return them
        # unchanged.
        sender = email.from_email
    smtp_send_pipelined(client, sender, recipient, data)
    return 1


def send_email(batch: Batch, rows: list[tuple[Delivery, Message]]) -> None:
    """Send over ONE connection of Django's e-mail backend. A connection that cannot be opened
    fails every row of the group for this attempt; a connection lost mid-batch is reopened once,
    and lost again fails the rest for this attempt (a hanging server must not eat the task's
    time limit one timeout at a time)."""
    connection = get_connection(fail_silently=False)
    is_open = False
    client: smtplib.SMTP | None = None
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
                try:
                    client = _pipelining_client(connection)
                except SoftTimeLimitExceeded:
                    raise
                except Exception:  # no EHLO answer: send_messages will say what is wrong
                    client = None
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
                count = _send_one(connection, client, email)
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


def send_webhook(
    batch: Batch,
    rows: list[tuple[Delivery, Message]],
    *,
    url: str,
    body: Callable[[Delivery, Message], dict[str, Any]] = webhook_body,
    missing: str = "the organisation's check-in settings have no webhook_url for the webhook "
    "channel",
) -> None:
    """POST each message (as ``body`` builds it) over ONE HTTP session to the webhook at
    ``url``. 2xx: sent; 429, 5xx, timeouts and connection errors: retried (after a timeout, a
    connection error or a 429 the rest of the group waits for the next attempt too); any other
    status (4xx, 3xx): failed at once, since a wrong URL will not fix itself. Without a URL every
    row fails at once with ``missing``."""
    if not url:
        for row, _message in rows:
            batch.failed(row, missing, permanent=True)
        return
    with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as client:
        for index, (row, message) in enumerate(rows):
            batch.in_flight = row.pk
            stop_reason = ""
            try:
                response = client.post(url, json=body(row, message))
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
