"""``python manage.py ingest_signals --org SLUG FILE.csv`` (see docs/signal-events-format.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.errors import ApplicationError
from core.files.origin import ImportFailure
from core.files.yamlio import read_text
from teams.management.arguments import organization_argument
from transform.evidence.csvfile import signal_events_csv_parse
from transform.evidence.services import SignalEventsInvalid, signal_events_ingest


class Command(BaseCommand):
    help = (
        "Ingest signal events (deploys, incidents, tickets, platform adoptions, first deploys) "
        "from a CSV file into an organisation. All or nothing: any invalid row stores nothing "
        "and every problem is listed with its line and column. Events are matched by kind and "
        "id, so ingesting the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Slug of the organisation.")
        parser.add_argument(
            "path",
            type=Path,
            metavar="FILE.csv",
            help="Header row kind,id,team,occurred_at plus the kind columns used.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_argument(options["org"])
        path: Path = options["path"]
        try:
            parsed = signal_events_csv_parse(str(path), read_text(path))
            result = signal_events_ingest(
                organization=organization,
                records=parsed.records,
                source=str(path),
                at=timezone.now(),
            )
        except ImportFailure as exc:
            raise CommandError(f"Nothing was stored.\n{exc}") from exc
        except SignalEventsInvalid as exc:
            raise CommandError(
                f"Nothing was stored.\n{parsed.problems_text(exc.problems)}"
            ) from exc
        except ApplicationError as exc:
            raise CommandError(f"Nothing was stored.\n{path}: {exc.message}") from exc
        self.stdout.write(
            f"Signal events from {path} for '{organization.slug}': {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged."
        )
        if result.surveys_triggered:
            self.stdout.write(f"Event surveys triggered: {result.surveys_triggered}.")
