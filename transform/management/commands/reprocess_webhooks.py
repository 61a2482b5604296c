"""``python manage.py reprocess_webhooks ORG [--all]``: replay stored webhook deliveries."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from teams.models import Organization
from transform.models import WebhookStatus
from transform.webhooks.services import webhook_deliveries_reprocess


class Command(BaseCommand):
    help = (
        "Replay the organisation's stored webhook deliveries after a mapping changed: the "
        "unmapped ones, or with --all every stored one, oldest first. Records upsert by id, so "
        "running it twice changes nothing more (docs/integrations.md, 'Delivery events by "
        "webhook')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org", help="The organisation's slug.")
        parser.add_argument("--all", action="store_true", help="Replay every stored delivery.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organisation '{options['org']}'.")
        statuses = None if options["all"] else [WebhookStatus.UNMAPPED.value]
        result = webhook_deliveries_reprocess(organization=organization, statuses=statuses)
        counts = ", ".join(
            f"{status} {count}" for status, count in sorted(result.by_status.items())
        )
        self.stdout.write(
            f"Replayed {result.replayed} deliveries" + (f": {counts}" if counts else "")
        )
