"""``python manage.py export_org SLUG --format FORMAT [--output PATH] [--as-of DATE]``.

Formats and what each holds: docs/export.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from teams.exporters import EXPORT_FORMATS, export_snapshot
from teams.management.arguments import as_of_argument, organization_argument
from teams.selectors import org_snapshot_get


class Command(BaseCommand):
    help = (
        "Export an organisation's graph, now or as of a past date: node-link JSON, GraphML, a "
        "Mermaid or Graphviz DOT diagram, or Backstage Group/User YAML that import_org reads back. "
        "Formats: docs/export.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organisation's slug.")
        parser.add_argument(
            "--format",
            dest="fmt",
            required=True,
            metavar="FORMAT",
            help=f"One of: {', '.join(EXPORT_FORMATS)}.",
        )
        parser.add_argument(
            "--output",
            type=Path,
            metavar="PATH",
            help="Write to this file (replacing it) instead of standard output.",
        )
        parser.add_argument(
            "--as-of",
            dest="as_of",
            metavar="DATE",
            help="Export the topology as it was then: YYYY-MM-DD (end of that day, UTC) or an "
            "ISO 8601 datetime.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["fmt"]
        # Checked before any query so that a typo is reported even for an unknown organisation.
        if fmt not in EXPORT_FORMATS:
            raise CommandError(
                f"--format: unknown format '{fmt}'; expected one of {', '.join(EXPORT_FORMATS)}."
            )
        as_of = as_of_argument(options["as_of"]) if options["as_of"] else None
        slug = options["slug"]
        organization = organization_argument(slug)
        text = export_snapshot(org_snapshot_get(organization=organization, as_of=as_of), fmt)
        output: Path | None = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--output: cannot write '{output}': {exc.strerror}.") from None
        self.stdout.write(f"Wrote the {fmt} export of '{slug}' to {output}.")
