"""The periodic jobs beat runs, stored in the database (django-celery-beat) so operators change
cadences in the admin without a deploy (docs/delivery.md#jobs-and-schedule).

Only a few jobs exist, whatever the size of the organisations: each one finds what is due in the
project's own tables. They are created after every ``migrate`` (a ``post_migrate`` handler) and by
``manage.py setup_schedule``, and only when missing: a job an operator changed (another
cadence, disabled) is left exactly as they set it. A deleted job comes back at the next migrate;
to stop one, untick "enabled".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class PeriodicJob:
    """One periodic task: its name in the admin, the Celery task, and its default cadence (a
    crontab in ``CELERY_TIMEZONE``, or every ``every_minutes`` minutes)."""

    name: str
    task: str
    description: str
    crontab: dict[str, str] | None = None
    every_minutes: int | None = None
    # A run that waited this long in the queue is dropped: the next one will do its work.
    expire_seconds: int | None = None


JOBS = (
    PeriodicJob(
        name="transform: plan check-ins",
        task="transform.plan_checkins",
        description=(
            "Creates the check-ins, reminders, escalations and digests due now for every active "
            "transformation, then hands their messages to the workers."
        ),
        crontab={"minute": "5", "hour": "*"},
        expire_seconds=3600,
    ),
    PeriodicJob(
        name="transform: dispatch deliveries",
        task="transform.dispatch_deliveries",
        description=(
            "Hands due messages to the workers: retries whose backoff is over and messages of "
            "workers that died (stale claims)."
        ),
        every_minutes=1,
        expire_seconds=60,
    ),
    PeriodicJob(
        name="transform: compute readiness",
        task="transform.compute_readiness",
        description="Nightly readiness snapshots per team and organisation, and drop alerts.",
        crontab={"minute": "30", "hour": "2"},
        expire_seconds=6 * 3600,
    ),
    PeriodicJob(
        name="transform: prune webhook deliveries",
        task="transform.prune_webhook_deliveries",
        description=(
            "Deletes the raw webhook deliveries older than TRANSFORM_WEBHOOK_RETENTION_DAYS; the "
            "signal events derived from them stay."
        ),
        crontab={"minute": "45", "hour": "3"},
        expire_seconds=6 * 3600,
    ),
)


def _tables_ready(using: str) -> bool:
    existing = set(connections[using].introspection.table_names())
    return all(
        model._meta.db_table in existing
        for model in (PeriodicTask, CrontabSchedule, IntervalSchedule)
    )


def schedule_ensure(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create the periodic jobs that are missing (matched by name); returns the names created.
    Never changes an existing job."""
    created: list[str] = []
    with transaction.atomic(using=using):
        existing = set(
            PeriodicTask.objects.using(using)
            .filter(name__in=[job.name for job in JOBS])
            .values_list("name", flat=True)
        )
        for job in JOBS:
            if job.name in existing:
                continue
            schedule: dict[str, Any] = {}
            if job.crontab is not None:
                fields = {
                    "minute": "*",
                    "hour": "*",
                    "day_of_week": "*",
                    "day_of_month": "*",
                    "month_of_year": "*",
                    **job.crontab,
                    "timezone": settings.CELERY_TIMEZONE,
                }
                schedule["crontab"], _ = CrontabSchedule.objects.using(using).get_or_create(
                    **fields
                )
            else:
                every: dict[str, Any] = {
                    "every": job.every_minutes,
                    "period": IntervalSchedule.MINUTES,
                }
                schedule["interval"], _ = IntervalSchedule.objects.using(using).get_or_create(
                    **every
                )
            PeriodicTask.objects.using(using).create(
                name=job.name,
                task=job.task,
                description=job.description,
                expire_seconds=job.expire_seconds,
                **schedule,
            )
            created.append(job.name)
    return created


def schedule_post_migrate(sender: Any, *, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """``post_migrate`` handler (connected in ``TransformConfig.ready``): ensure the jobs, once
    django-celery-beat's tables exist."""
    if _tables_ready(using):
        schedule_ensure(using=using)
