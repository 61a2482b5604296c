"""``python manage.py load_playbook [--org SLUG] PATH`` (see docs/playbook-format.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from core.files.origin import ImportFailure
from core.files.yamlio import read_text
from playbooks.services import playbook_load_or_get
from teams.management.arguments import organization_argument
from teams.models import Organization


class Command(BaseCommand):
    help = (
        "Validate a playbook YAML file and store it for an organisation. Nothing is stored when "
        "the file is invalid. Loading the same key and version again changes nothing; different "
        "content under a stored key and version is refused (bump the version). Built-in "
        "playbooks come from playbooks/library/ and need no loading."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org",
            help="Slug of the organisation that owns the playbook; may be left out when there "
            "is only one organisation.",
        )
        parser.add_argument("path", type=Path, metavar="PATH", help="The playbook YAML file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        organization = (
            organization_argument(options["org"]) if options["org"] else _the_only_organization()
        )
        try:
            text = read_text(path)
            playbook, created = playbook_load_or_get(
                organization=organization, path=str(path), text=text
            )
        except ImportFailure as exc:
            raise CommandError(f"Nothing was stored.\n{exc}") from exc
        except ApplicationError as exc:
            raise CommandError(f"Nothing was stored.\n{exc.message}") from exc
        milestones = len(playbook.spec.milestones())
        if created:
            self.stdout.write(
                f"Stored playbook {playbook.key} version {playbook.version} "
                f"({milestones} milestones) for {organization.slug}."
            )
        else:
            self.stdout.write(
                f"Playbook {playbook.key} version {playbook.version} ({milestones} milestones) "
                f"is already stored for {organization.slug}; nothing changed."
            )


def _the_only_organization() -> Organization:
    """The organisation when there is exactly one; a playbook is never stored by guesswork."""
    organizations = list(Organization.objects.order_by("slug")[:2])
    if len(organizations) == 1:
        return organizations[0]
    if not organizations:
        raise CommandError(
            "There is no organisation yet; import one with "
            "`python manage.py import_org --org SLUG PATH`."
        )
    raise CommandError(
        "There are several organisations: say which one owns the playbook with --org SLUG."
    )
