"""The outbox's writes: queueing messages once (``deliveries_queue``), handing due rows to the
workers (``dispatch_due``) and sending a batch (``deliver_batch``): claim, render
(``transform.outbox.messages``), send (``transform.outbox.sending``). docs/delivery.md is the
reference.

The database is the only coordinator. A row moves pending -> sending by a conditional UPDATE that
names its claimer (``claimed_by``: the Celery task id), so two workers, two dispatches or a
redelivered task never send the same row twice; a claim older than
``DELIVERY_CLAIM_TIMEOUT_SECONDS`` belongs to a worker presumed dead and is taken over. Sent
messages are recorded together, one UPDATE per ``DELIVERY_MARK_EVERY`` messages, and noted one by
one in the sent journal (``transform.outbox.journal``) as they are accepted; taking rows over, a
claimer records the noted ones sent instead of sending them, so a crash sends again at most the
message in flight (the only duplicate the design allows).

Work fans out: ``dispatch_deliveries`` enqueues one ``dispatch_organization_deliveries`` task per
organisation with messages due; each reserves at most ``DISPATCH_BATCHES_PER_TASK`` batches, one
``deliver_checkins`` task each, and enqueues itself again for the rest, so no task loops over
every due message under one time limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from celery import current_app
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from transform.instruments.estimates import QuestionCounter
from transform.models import (
    Channel,
    CheckinSettings,
    Delivery,
    DeliveryStatus,
    SignalEvent,
)
from transform.outbox.journal import journal_sent, journal_shared
from transform.outbox.messages import Message, RenderError, Skip, delivery_message, event_id_of
from transform.outbox.msteams import send_msteams
from transform.outbox.selectors import (
    deliveries_due_filter,
    deliveries_due_organization_ids,
    deliveries_due_rows,
)
from transform.outbox.sending import Batch, BatchResult, send_email, send_webhook, short_error
from transform.outbox.slack import is_channel_message, send_slack
from transform.rhythm.selectors import checkin_settings_get

logger = logging.getLogger(__name__)

# The outbox's Celery tasks (transform.outbox.tasks), enqueued here by name: the task module
# imports this one, so this one finds the tasks in the app's registry instead of importing them.
DISPATCH_TASK = "transform.dispatch_deliveries"
DELIVER_TASK = "transform.deliver_checkins"
DISPATCH_ORGANIZATION_TASK = "transform.dispatch_organization_deliveries"

# Batches one dispatch_organization_deliveries task reserves before it hands the rest of its
# organisation's due messages to a copy of itself (a few seconds of work at most).
DISPATCH_BATCHES_PER_TASK = 50


def _task(name: str) -> DjangoTask[Any, Any]:
    # Celery's Django fixup makes every task of the app a DjangoTask (the on-commit calls).
    return cast("DjangoTask[Any, Any]", current_app.tasks[name])


# --- clock -------------------------------------------------------------------------------------


def delivery_moment(at: dt.datetime | None = None) -> dt.datetime:
    """The clock a sender works by: ``at`` when it is later than now, else now.

    ``at`` may move the clock forward (tests, ``run_checkins --at`` a future moment), never back:
    a task that waited in the queue claims rows at the time it runs, so its claim is not already
    stale when it starts sending."""
    now = timezone.now()
    return now if at is None or at < now else at


# --- finding and claiming ------------------------------------------------------------------------


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

    Rows taken over while ``sending`` may have been accepted by the server before their claimer
    stopped: with a shared cache they are first looked up in the sent journal (one
    ``get_many``), and the noted ones are recorded sent, not claimed. If the journal cannot be
    read they are left for a later claim rather than risk sending them twice.
    """
    if not delivery_ids:
        return _Claim(ids=[], exhausted=Counter())
    claimable = deliveries_due_filter(at)
    if attempt:
        claimable |= Q(status=DeliveryStatus.SENDING, claimed_by=claimed_by)
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(claimable, pk__in=list(delivery_ids))
            .values_list("pk", "status", "attempts", "kind", "claimed_by")
        )
        left = _record_journaled(rows)
        rows = [row for row in rows if row[0] not in left]
        exhausted = {
            pk: kind
            for pk, status, attempts, kind, _claimer in rows
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


def _record_journaled(rows: list[tuple[int, str, int, str, str]]) -> set[int]:
    """Record sent the ``sending`` rows among ``rows`` (pk, status, attempts, kind, claimed_by)
    whose message the sent journal says was accepted under that claim, with the moment noted.
    Returns the ids not to claim: those, and every ``sending`` row when the journal cannot be
    read. Nothing is looked up without a shared cache (nothing could have been noted)."""
    claims = {
        pk: claimer
        for pk, status, _attempts, _kind, claimer in rows
        if status == DeliveryStatus.SENDING
    }
    if not claims or not journal_shared():
        return set()
    sent = journal_sent(claims)
    if sent is None:
        return set(claims)
    by_moment: dict[dt.datetime, list[int]] = defaultdict(list)
    for pk, sent_at in sent.items():
        by_moment[sent_at].append(pk)
    for sent_at, pks in by_moment.items():
        Delivery.objects.filter(pk__in=pks, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.SENT, sent_at=sent_at, last_error=""
        )
        logger.info(
            "deliveries %s were accepted before their worker stopped (sent journal): "
            "recorded sent, not sent again",
            pks,
        )
    return set(sent)


# --- sending -------------------------------------------------------------------------------------


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
    batch = Batch(rows=rows, at=at, claimed_by=claimed_by)
    batch.result.failed.update(claim.exhausted)
    batch.result.not_claimed = len(set(delivery_ids)) - len(claim.ids) - claim.exhausted.total()
    try:
        _deliver_rows(batch, rows)
        batch.record_sent()
    except BaseException:
        batch.release_unattempted()
        raise
    return batch.result


def _deliver_rows(batch: Batch, rows: list[Delivery]) -> None:
    settings_by_org: dict[int, CheckinSettings] = {}
    event_ids = {pk for row in rows if (pk := event_id_of(row.checkin)) is not None}
    events = SignalEvent.objects.in_bulk(list(event_ids)) if event_ids else {}
    groups: dict[tuple[int, str], list[tuple[Delivery, Message]]] = defaultdict(list)
    questions = QuestionCounter()  # each stored instrument read once per batch
    for row in rows:
        if row.organization_id not in settings_by_org:
            settings_by_org[row.organization_id] = checkin_settings_get(
                organization=row.organization
            )
        event_id = event_id_of(row.checkin)
        try:
            message = delivery_message(
                row,
                at=batch.at,
                settings_row=settings_by_org[row.organization_id],
                event=events.get(event_id) if event_id is not None else None,
                questions=questions,
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
            batch.failed(row, f"cannot render the message: {short_error(error)}", permanent=False)
            continue
        groups[(row.organization_id, row.channel)].append((row, message))
    for (org_id, channel), group in groups.items():
        if channel == Channel.EMAIL:
            send_email(batch, group)
        elif channel == Channel.WEBHOOK:
            # A chat webhook posts to a channel everyone in it reads: alerts and digests go
            # there, a check-in's personal link goes to its recipient by e-mail.
            private = [(row, message) for row, message in group if not is_channel_message(row)]
            shared = [(row, message) for row, message in group if is_channel_message(row)]
            if private:
                send_email(batch, private)
            if shared:
                send_webhook(batch, shared, url=settings_by_org[org_id].webhook_url)
        elif channel == Channel.SLACK:
            send_slack(batch, group, settings_row=settings_by_org[org_id], organization_id=org_id)
        elif channel == Channel.MSTEAMS:
            send_msteams(batch, group, settings_row=settings_by_org[org_id])
        else:
            for row, _message in group:
                batch.failed(row, f"unknown channel {channel!r}", permanent=True)


# --- dispatching -------------------------------------------------------------------------------


def _due_batches(
    *, at: dt.datetime, organization_id: int | None = None, limit: int | None = None
) -> Iterator[list[int]]:
    """The ids of the rows due at ``at`` (of one organisation, and at most ``limit`` of them
    when given) in batches of at most ``DELIVERY_BATCH_SIZE`` rows of one organisation (a batch
    opens one connection per organisation and channel)."""
    by_org: dict[int, list[int]] = defaultdict(list)
    for pk, org_id in deliveries_due_rows(at=at, organization_id=organization_id, limit=limit):
        by_org[org_id].append(pk)
    size = max(1, settings.DELIVERY_BATCH_SIZE)
    for ids in by_org.values():
        for start in range(0, len(ids), size):
            yield ids[start : start + size]


def _hand_out(ids: list[int], *, at: dt.datetime) -> int:
    """Reserve ``ids`` for a new ``deliver_checkins`` task, enqueued once that commits."""
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        reserved = _claim(ids, at=at, claimed_by=task_id, attempt=False).ids
        if reserved:
            _task(DELIVER_TASK).apply_async_on_commit(
                kwargs={"delivery_ids": reserved, "at": at.isoformat()}, task_id=task_id
            )
    return len(reserved)


def dispatch_due(*, at: dt.datetime) -> int:
    """Hand every row due at ``at`` to the workers, in this process, one ``deliver_checkins``
    task per batch; returns how many rows were handed out (``run_checkins --enqueue``; the
    periodic job fans out per organisation instead, ``dispatch_fan_out``).

    Each task's rows are reserved for it first (sending, ``claimed_by`` = the task's id, no
    attempt counted) and the task is enqueued once that commits: a dispatch that runs again a
    minute later, or twice at once, finds nothing left to hand out, and a task that never runs
    leaves a claim that goes stale and is dispatched again."""
    return sum(_hand_out(ids, at=at) for ids in _due_batches(at=at))


def dispatch_fan_out(*, at: dt.datetime) -> int:
    """Enqueue one ``dispatch_organization_deliveries`` task per organisation with rows due at
    ``at`` (once the current transaction, if any, commits); returns how many."""
    organization_ids = deliveries_due_organization_ids(at=at)
    task = _task(DISPATCH_ORGANIZATION_TASK)
    for organization_id in organization_ids:
        task.apply_async_on_commit(
            kwargs={"organization_id": organization_id, "at": at.isoformat()}
        )
    return len(organization_ids)


@dataclass
class OrganizationDispatch:
    handed: int  # rows reserved for deliver_checkins tasks
    more: bool  # rows beyond this call's share are due: dispatch again


def dispatch_organization_due(
    *, organization_id: int, at: dt.datetime, max_batches: int | None = None
) -> OrganizationDispatch:
    """Hand at most ``max_batches`` (default ``DISPATCH_BATCHES_PER_TASK``) batches of the
    organisation's rows due at ``at`` to the workers, as ``dispatch_due`` does; ``more`` says
    whether rows beyond them are due."""
    size = max(1, settings.DELIVERY_BATCH_SIZE)
    limit = max(1, max_batches or DISPATCH_BATCHES_PER_TASK) * size
    handed = looked_at = 0
    for ids in _due_batches(at=at, organization_id=organization_id, limit=limit + 1):
        looked_at += len(ids)
        if looked_at > limit:
            return OrganizationDispatch(handed=handed, more=True)
        handed += _hand_out(ids, at=at)
    return OrganizationDispatch(handed=handed, more=False)


def deliver_due_now(*, at: dt.datetime, claimed_by: str | None = None) -> BatchResult:
    """Send every row due at ``at`` in this process, batch by batch, with ``deliver_batch``
    (``run_checkins`` without ``--enqueue``)."""
    owner = claimed_by or f"local:{uuid.uuid4()}"
    total = BatchResult()
    for ids in _due_batches(at=at):
        total.merge(deliver_batch(delivery_ids=ids, at=at, claimed_by=owner))
    return total


# --- queueing --------------------------------------------------------------------------------------


def deliveries_queue(deliveries: Iterable[Delivery], *, at: dt.datetime) -> int:
    """Insert outgoing messages, skipping any whose ``dedupe_key`` is already queued, and have
    them delivered once the current transaction commits. Returns how many rows were new.

    Callers build unsaved ``Delivery`` rows with ``next_attempt_at`` and ``created_at`` set to
    ``at``, the planning moment, which the dispatch then uses as its clock. The unique
    ``dedupe_key`` makes this safe to call twice or from two workers at once: the second insert is
    ignored by the database, not by a flag in memory.
    """
    rows = list(deliveries)
    if not rows:
        return 0
    keys = [row.dedupe_key for row in rows]
    before = set(Delivery.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    new = len(set(keys) - before)
    if new:
        transaction.on_commit(lambda: dispatch_kick(at=at))
    return new


def dispatch_kick(*, at: dt.datetime) -> bool:
    """Ask a worker to dispatch now; False when the broker cannot be reached. The rows are
    stored either way and beat's periodic dispatch sends them, so an unreachable broker delays
    delivery by at most that period instead of failing the caller after its commit."""
    try:
        _task(DISPATCH_TASK).apply_async(kwargs={"at": at.isoformat()}, retry=False)
    except (OperationalError, OSError) as exc:
        logger.warning("Broker unreachable (%s); the periodic dispatch will send the rows.", exc)
        return False
    return True
