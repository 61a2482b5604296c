"""``python manage.py compute_readiness [--at ISO]``: the nightly readiness snapshots and alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from transform.readiness_report import readiness_nightly


def moment_parse(text: str) -> dt.datetime:
    """An ISO 8601 date-time (or date, meaning its midnight); without an offset it is taken in
    the project's TIME_ZONE. Raises CommandError naming the expected format."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"--at: expected an ISO 8601 date-time such as 2027-01-05T02:00:00+00:00; got '{text}'."
        ) from None
    if moment.tzinfo is None:
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


class Command(BaseCommand):
    help = (
        "Compute readiness for every organisation with an active transformation (or with survey "
        "answers in its current or previous survey period): store the snapshots of the current "
        "and the previous survey period for the organisation and each team, and queue an alert "
        "to the change agents for each team whose readiness fell by more than the organisation's "
        "readiness_drop_alert. Safe to run twice. Prints the counts (docs/readiness.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--at",
            help="The moment to compute for (ISO 8601; default now). Without an offset, "
            "TIME_ZONE applies.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        at = moment_parse(options["at"]) if options.get("at") else timezone.now()
        counts = readiness_nightly(at=at)
        self.stdout.write(
            f"Readiness at {at.isoformat()}: "
            + ", ".join(f"{name} {value}" for name, value in counts.items())
        )
