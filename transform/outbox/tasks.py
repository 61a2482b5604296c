"""Celery tasks of the outbox: handing due messages to workers and sending a batch
(docs/delivery.md).

Like every task of the project they are thin and idempotent: ``at`` comes as ISO 8601 text (the
moment the task works at; now when omitted) and rows as ids, never model instances.
Acknowledgement is late for every task (settings), so a task whose worker dies is run again, and
running any of them twice does the work once: the database decides (unique keys and claims).
Beat runs ``dispatch_deliveries`` from the database schedule (``transform.schedule``); it fans
out one ``dispatch_organization_deliveries`` per organisation with messages due, which enqueues
``deliver_checkins`` with the rows it reserved for that task, one task per batch.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from celery import Task, shared_task

from core.moments import moment_parse
from transform.outbox.services import (
    DELIVER_TASK,
    DISPATCH_ORGANIZATION_TASK,
    DISPATCH_TASK,
    deliver_batch,
    delivery_moment,
    dispatch_fan_out,
    dispatch_organization_due,
)


def _delivery_moment(at: str | None) -> dt.datetime:
    return delivery_moment(None if at is None else moment_parse(at, naive="local"))


@shared_task(name=DISPATCH_TASK)
def dispatch_deliveries(*, at: str | None = None) -> int:
    """Enqueue ``dispatch_organization_deliveries`` for every organisation with messages due
    (new, retries after their backoff, and stale claims of dead workers); returns how many
    organisations."""
    return dispatch_fan_out(at=_delivery_moment(at))


@shared_task(bind=True, name=DISPATCH_ORGANIZATION_TASK)
def dispatch_organization_deliveries(
    self: Task[Any, Any], *, organization_id: int, at: str | None = None
) -> int:
    """Enqueue ``deliver_checkins`` for a share of the organisation's messages due, one task per
    batch, and enqueue this task again when more are due; returns how many messages were handed
    out. Two copies at once hand out each message once (claims)."""
    outcome = dispatch_organization_due(organization_id=organization_id, at=_delivery_moment(at))
    if outcome.more:
        self.apply_async(kwargs={"organization_id": organization_id, "at": at})
    return outcome.handed


@shared_task(bind=True, name=DELIVER_TASK)
def deliver_checkins(
    self: Task[Any, Any], *, delivery_ids: list[int], at: str | None = None
) -> dict[str, Any]:
    """Send the given messages as one batch, claimed in this task's name: a second copy of the
    task, or a worker racing it, sends nothing twice; a redelivered copy (same task id) takes
    over its own unfinished rows."""
    claimed_by = self.request.id or f"local:{uuid.uuid4()}"
    result = deliver_batch(
        delivery_ids=delivery_ids, at=_delivery_moment(at), claimed_by=claimed_by
    )
    return result.as_dict()
