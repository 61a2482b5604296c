"""Celery tasks: thin, idempotent wrappers around services (docs/delivery.md).

Every task takes ``at`` as ISO 8601 text (the moment it works at; now when omitted) and ids, never
model instances. Beat runs three of them from the database schedule (``transform.schedule``);
``deliver_checkins`` is enqueued by ``dispatch_deliveries`` with the rows it reserved for it.
Acknowledgement is late for every task (settings), so a task whose worker dies is run again, and
running any of them twice does the work once: the database decides (unique keys and claims).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from transform.delivery import deliver_batch, delivery_moment, dispatch_due
from transform.rhythm import moment_parse

logger = logging.getLogger(__name__)


def _at(at: str | None) -> dt.datetime:
    return timezone.now() if at is None else moment_parse(at)


@shared_task(name="transform.plan_checkins")
def plan_checkins(*, at: str | None = None) -> dict[str, Any]:
    """Create what is due at ``at`` (check-ins, reminders, escalations, digests) and hand the
    messages to the workers."""
    from transform.checkins import checkins_plan  # the planner imports the task module

    moment = _at(at)
    summary = checkins_plan(at=moment)
    dispatched = dispatch_due(at=delivery_moment(moment))
    logger.info("planned at %s: %s; dispatched %s", moment.isoformat(), summary, dispatched)
    return {"planned": summary.as_dict(), "dispatched": dispatched}


@shared_task(name="transform.dispatch_deliveries")
def dispatch_deliveries(*, at: str | None = None) -> int:
    """Enqueue ``deliver_checkins`` for every message due (new, retries after their backoff, and
    stale claims of dead workers); returns how many messages were handed out."""
    return dispatch_due(at=delivery_moment(None if at is None else moment_parse(at)))


@shared_task(bind=True, name="transform.deliver_checkins")
def deliver_checkins(
    self: Task[Any, Any], *, delivery_ids: list[int], at: str | None = None
) -> dict[str, Any]:
    """Send the given messages as one batch, claimed in this task's name: a second copy of the
    task, or a worker racing it, sends nothing twice; a redelivered copy (same task id) takes
    over its own unfinished rows."""
    claimed_by = self.request.id or f"local:{uuid.uuid4()}"
    moment = delivery_moment(None if at is None else moment_parse(at))
    result = deliver_batch(delivery_ids=delivery_ids, at=moment, claimed_by=claimed_by)
    return result.as_dict()


@shared_task(name="transform.compute_readiness")
def compute_readiness(*, at: str | None = None) -> dict[str, int]:
    """The nightly readiness snapshots of every organisation, and drop alerts."""
    from transform.readiness_report import readiness_nightly  # written alongside; imports tasks

    return readiness_nightly(at=_at(at))
