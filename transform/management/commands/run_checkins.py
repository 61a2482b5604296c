"""``python manage.py run_checkins [--at ISO_DATETIME] [--enqueue]``: plan and deliver what is due,
as beat and the workers would at that moment (docs/delivery.md#run_checkins)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from transform.checkins.planning import checkins_plan
from transform.management.arguments import AT_HELP, at_argument
from transform.outbox.sending import OUTCOMES, BatchResult
from transform.outbox.services import deliver_due_now, delivery_moment, dispatch_due


class Command(BaseCommand):
    help = (
        "Plan the check-ins, reminders, escalations and digests due at --at (default now), then "
        "send every message due, in this process with the same batches as the workers (or, with "
        "--enqueue, hand them to the Celery workers). Prints what was planned and what became "
        "of each message: sent, retried later, failed, skipped (check-in already answered or "
        "expired)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--at",
            help=(f"{AT_HELP} Messages are sent at this moment, or now if it is in the past."),
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the due messages to the Celery workers instead of sending them here.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        at = at_argument(options["at"])
        summary = checkins_plan(at=at)
        self.stdout.write(f"Planned at {at.isoformat()}:")
        for key, value in summary.as_dict().items():
            self.stdout.write(f"  {key}: {value}")
        moment = delivery_moment(at)
        if options["enqueue"]:
            handed = dispatch_due(at=moment)
            self.stdout.write(f"Handed {handed} message(s) to the workers at {moment.isoformat()}.")
            return
        result = deliver_due_now(at=moment)
        self.stdout.write(delivery_summary(result, at=moment.isoformat()))


def delivery_summary(result: BatchResult, *, at: str) -> str:
    """What the delivery did, in words: totals, then per kind of message."""
    lines = [
        f"Delivered at {at}: "
        + ", ".join(f"{result.count(outcome)} {outcome}" for outcome in OUTCOMES)
    ]
    if result.not_claimed:
        lines.append(f"  {result.not_claimed} left to other workers (already claimed)")
    kinds = sorted({kind for outcome in OUTCOMES for kind in getattr(result, outcome)})
    for kind in kinds:
        counts = [
            f"{getattr(result, outcome)[kind]} {outcome}"
            for outcome in OUTCOMES
            if getattr(result, outcome)[kind]
        ]
        lines.append(f"  {kind}: " + ", ".join(counts))
    return "\n".join(lines)
