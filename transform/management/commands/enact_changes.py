"""``python manage.py enact_changes MILESTONE_ID [--user USERNAME]``: enact a milestone's changes."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from transform.models import Milestone
from transform.plans.changes import milestone_changes_enact
from transform.plans.selectors import milestone_detail_get


class Command(BaseCommand):
    help = (
        "Apply a milestone's pending topology changes to the live organisation graph, all or "
        "nothing, and record them (docs/scenarios.md). Running it again does nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("milestone_id", help="Milestone id.")
        parser.add_argument(
            "--user", help="Username recorded as the history user and the event's actor."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            milestone = milestone_detail_get(milestone_id=int(options["milestone_id"]))
        except (Milestone.DoesNotExist, ValueError):
            raise CommandError(f"No milestone with id '{options['milestone_id']}'.") from None
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no login '{options['user']}'.")
        try:
            result = milestone_changes_enact(milestone=milestone, actor=user)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if not result.changes:
            self.stderr.write(f"Milestone '{milestone.key}' has no pending changes: nothing done.")
            return
        self.stderr.write(
            f"Enacted {len(result.changes)} change(s) of milestone '{milestone.key}'."
        )
        changed = {name: labels for name, labels in result.topology.items() if labels}
        self.stdout.write(json.dumps(changed, indent=2, ensure_ascii=False))
