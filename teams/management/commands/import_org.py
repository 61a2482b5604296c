"""``python manage.py import_org --org SLUG [--name NAME] [--prune] PATH [PATH ...]`` (see
docs/import.md)."""

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
        "Importing the same files again changes nothing. Nothing is ever deleted: teams and "
        "people the files leave out stay, unless --prune retires them or marks them as leavers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Slug of the organisation to import into.")
        parser.add_argument(
            "--name",
            help="Name of the organisation (default: the slug when it is created; an existing "
            "organisation is renamed only when this is given).",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Take the files as the whole organisation: retire its teams that they leave "
            "out and mark its people that they leave out as leavers (today). Nothing is deleted.",
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
                prune=options["prune"],
            )
        except ImportFailure as exc:
            raise CommandError(f"Import failed, nothing was written.\n{exc}") from exc
        self.stdout.write(result.summary())
