"""Celery task of the check-in rhythm: the hourly planning round (docs/delivery.md)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from core.moments import moment_or_now
from transform.checkins.planning import checkins_plan
from transform.outbox.services import delivery_moment, dispatch_fan_out

logger = logging.getLogger(__name__)


@shared_task(name="transform.plan_checkins")
def plan_checkins(*, at: str | None = None) -> dict[str, Any]:
    """Create what is due at ``at`` (check-ins, reminders, escalations, digests) and hand the
    messages to the workers: one dispatch task per organisation with messages due, so a large
    organisation's round is not sent from inside this task."""
    moment = moment_or_now(at)
    summary = checkins_plan(at=moment)
    organizations = dispatch_fan_out(at=delivery_moment(moment))
    logger.info(
        "planned at %s: %s; dispatching for %s organisations",
        moment.isoformat(),
        summary,
        organizations,
    )
    return {"planned": summary.as_dict(), "dispatching_organizations": organizations}
