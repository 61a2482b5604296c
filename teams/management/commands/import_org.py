"""``python manage.py import_org --org SLUG [--name NAME] PATH [PATH ...]`` (see docs/import.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.files.origin import ImportFailure
from teams.importers.apply import org_import_files


class Command(BaseCommand):
    help = (
        "Import an organisation from Backstage catalog YAML, the org format (YAML/JSON), "
        "TeamAPI-as-Code (YAML/JSON) or a CSV of people; the format is detected per file. "
        "Creates the organisation if missing. All or nothing: any error writes nothing. "
        "Importing the same files again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Slug of the organisation to import into.")
        parser.add_argument(
            "--name",
            help="Name of the organisation (default: the slug when it is created; an existing "
            "organisation is renamed only when this is given).",
        )
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="Files to import.")

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[Path] = options["paths"]
        try:
            result = org_import_files(
                slug=options["org"],
                name=options["name"],
                paths=paths,
                change_reason=f"import_org {' '.join(str(path) for path in paths)}",
            )
        except ImportFailure as exc:
            raise CommandError(f"Import failed, nothing was written.\n{exc}") from exc
        self.stdout.write(result.summary())
