"""``python manage.py export_org SLUG --format FORMAT [--output PATH] [--as-of DATE]``.

Formats and what each holds: docs/export.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from teams.exporters import (
    EXPORT_FORMATS,
    TEAMAPI_ORG_FILE,
    export_snapshot,
    export_teamapi,
)
from teams.graph import OrgSnapshot
from teams.history import service_names_at
from teams.management.arguments import as_of_argument, organization_argument
from teams.models import Organization, Service
from teams.selectors import org_snapshot_get

# Formats written as a directory of files rather than one text.
TEAMAPI = "teamapi"
COMMAND_FORMATS = (*EXPORT_FORMATS, TEAMAPI)


class Command(BaseCommand):
    help = (
        "Export an organisation's graph, now or as of a past date: node-link JSON, GraphML, a "
        "Mermaid or Graphviz DOT diagram, Backstage Group/User YAML, or a directory of "
        "TeamAPI-as-Code files (one per team) that import_org reads back into the same graph. "
        "Formats: docs/export.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organisation's slug.")
        parser.add_argument(
            "--format",
            dest="fmt",
            required=True,
            metavar="FORMAT",
            help=f"One of: {', '.join(COMMAND_FORMATS)}.",
        )
        parser.add_argument(
            "--output",
            type=Path,
            metavar="PATH",
            help="Write to this file (replacing it) instead of standard output. For teamapi "
            "(required): the directory to write the files into, created if missing.",
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
        output: Path | None = options["output"]
        # Checked before any query so that a typo is reported even for an unknown organisation.
        if fmt not in COMMAND_FORMATS:
            raise CommandError(
                f"--format: unknown format '{fmt}'; expected one of {', '.join(COMMAND_FORMATS)}."
            )
        if fmt == TEAMAPI and output is None:
            raise CommandError(
                "--format teamapi writes one file per team: give the directory with "
                "--output DIR (e.g. --output teamapi/)."
            )
        as_of = as_of_argument(options["as_of"]) if options["as_of"] else None
        slug = options["slug"]
        organization = organization_argument(slug)
        snapshot = org_snapshot_get(organization=organization, as_of=as_of)
        if fmt == TEAMAPI:
            assert output is not None
            count = self.write_teamapi(organization, snapshot, as_of, output)
            self.stdout.write(
                f"Wrote the teamapi export of '{slug}' to {output}: {count} team files and "
                f"{TEAMAPI_ORG_FILE}. Import it with `python manage.py import_org --org SLUG "
                f"{output}/*.yaml`."
            )
            return
        text = export_snapshot(snapshot, fmt)
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--output: cannot write '{output}': {exc.strerror}.") from None
        self.stdout.write(f"Wrote the {fmt} export of '{slug}' to {output}.")

    def write_teamapi(
        self,
        organization: Organization,
        snapshot: OrgSnapshot,
        as_of: dt.datetime | None,
        directory: Path,
    ) -> int:
        """Write the files one at a time; refuse a directory holding other ``.yaml`` files
        (a team retired since the last export): importing them would bring it back."""
        names = {f"{team.slug}.yaml" for team in snapshot.teams} | {TEAMAPI_ORG_FILE}
        try:
            directory.mkdir(parents=True, exist_ok=True)
            stale = sorted(
                path.name
                for path in directory.iterdir()
                if path.suffix.lower() in {".yaml", ".yml", ".json"} and path.name not in names
            )
        except OSError as exc:
            raise CommandError(
                f"--output: cannot use the directory '{directory}': {exc.strerror}."
            ) from None
        if stale:
            raise CommandError(
                f"--output: '{directory}' holds files this export does not write "
                f"({', '.join(stale[:10])}{', ...' if len(stale) > 10 else ''}); a re-import "
                "would read them too. Remove them or choose an empty directory."
            )
        count = 0
        try:
            for name, text in export_teamapi(
                snapshot, service_names=_service_names(organization, as_of)
            ):
                (directory / name).write_text(text, encoding="utf-8")
                count += name != TEAMAPI_ORG_FILE
        except OSError as exc:
            raise CommandError(
                f"--output: cannot write into '{directory}': {exc.strerror}."
            ) from None
        return count


def _service_names(organization: Organization, as_of: dt.datetime | None) -> dict[str, str]:
    """Each service's name by ref ``kind:slug``, in one query (the snapshot holds refs only);
    as of a moment, from the history reader the snapshot came from."""
    if as_of is not None:
        return service_names_at(organization=organization, moment=as_of)
    return {
        f"{kind}:{slug}": name
        for kind, slug, name in Service.objects.filter(organization=organization)
        .order_by()
        .values_list("kind", "slug", "name")
    }
