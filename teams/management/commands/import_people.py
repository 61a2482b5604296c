"""``python manage.py import_people ORG_SLUG PATH [--mapping FILE] [--column FIELD=HEADER ...]
[--prune-leavers] [--dry-run]`` (see docs/import-hr.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.files.origin import ImportFailure
from teams.importers.hrimport import hr_import
from teams.importers.hrmapping import FIELDS, HrMapping, hr_mapping_load, hr_mapping_with_columns
from teams.management.arguments import organization_argument


class Command(BaseCommand):
    help = (
        "Import people from an HR export (CSV) as it comes, through a column mapping: people by "
        "e-mail, teams by slug or name (new teams otherwise), managers from manager e-mails, "
        "roles from job titles, leavers from end dates. All or nothing: any problem writes "
        "nothing, and every problem of the file is listed with its line and column. "
        "See docs/import-hr.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org", metavar="ORG_SLUG", help="Slug of an existing organisation.")
        parser.add_argument("path", type=Path, metavar="PATH", help="The HR export (CSV).")
        parser.add_argument(
            "--mapping",
            type=Path,
            metavar="FILE",
            help="A mapping file (YAML or JSON): columns, title patterns, team hints.",
        )
        parser.add_argument(
            "--column",
            action="append",
            default=[],
            metavar="FIELD=HEADER",
            help=f"The column holding FIELD (one of {', '.join(FIELDS)}); repeatable, wins over "
            'the mapping file. E.g. --column email="Work Email"; an empty HEADER reads no column.',
        )
        parser.add_argument(
            "--prune-leavers",
            action="store_true",
            help="Mark the organisation's people absent from the file as leavers (today). "
            "Nothing is deleted; their history and evidence stay.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check everything and print what would change, then write nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_argument(options["org"])
        try:
            mapping = hr_mapping_load(options["mapping"]) if options["mapping"] else HrMapping()
            mapping = hr_mapping_with_columns(mapping, options["column"])
            result = hr_import(
                organization=organization,
                path=options["path"],
                mapping=mapping,
                prune_leavers=options["prune_leavers"],
                dry_run=options["dry_run"],
            )
        except ImportFailure as exc:
            raise CommandError(f"Import failed, nothing was written.\n{exc}") from exc
        for line in result.warning_lines():
            self.stderr.write(f"Warning: {line}")
        self.stdout.write(result.summary())
