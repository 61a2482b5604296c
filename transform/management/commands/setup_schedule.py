"""``python manage.py setup_schedule``: create beat's periodic jobs that are missing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from transform.schedule import JOBS, schedule_ensure


class Command(BaseCommand):
    help = (
        "Create the periodic jobs beat runs (plan check-ins hourly at minute 5, dispatch "
        "deliveries every minute, compute readiness daily at 02:30) when they are missing. "
        "Existing jobs are left as they are, so cadences changed in the admin stay. migrate "
        "does the same; see docs/delivery.md."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = set(schedule_ensure())
        for job in JOBS:
            state = "created" if job.name in created else "already present, left unchanged"
            self.stdout.write(f"{job.name} ({job.task}): {state}")
