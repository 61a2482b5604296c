"""``python manage.py compute_readiness [--at ISO]``: the nightly readiness snapshots and alerts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from transform.management.arguments import AT_HELP, at_argument
from transform.readiness.services import readiness_nightly


class Command(BaseCommand):
    help = (
        "Compute readiness for every organisation with an active transformation (or with survey "
        "answers in its current or previous survey period): store the snapshots of the current "
        "and the previous survey period for the organisation and each team, and queue an alert "
        "to the change agents for each team whose readiness fell by more than the organisation's "
        "readiness_drop_alert. Safe to run twice. Prints the counts (docs/readiness.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", help=f"{AT_HELP} Default: now.")

    def handle(self, *args: Any, **options: Any) -> None:
        at = at_argument(options.get("at"))
        counts = readiness_nightly(at=at)
        self.stdout.write(
            f"Readiness at {at.isoformat()}: "
            + ", ".join(f"{name} {value}" for name, value in counts.items())
        )
