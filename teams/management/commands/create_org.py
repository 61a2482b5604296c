"""``python manage.py create_org SLUG --name NAME --admin USERNAME [--time-zone ZONE]``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from teams.services import organization_create


class Command(BaseCommand):
    help = (
        "Create an empty organisation; the login given with --admin becomes its first admin. "
        "Then import its teams and people with import_org."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The new organisation's slug (letters, digits, - and _).")
        parser.add_argument("--name", required=True, help="Its display name.")
        parser.add_argument(
            "--admin",
            required=True,
            metavar="USERNAME",
            help="An existing login, who creates the organisation and administers it.",
        )
        parser.add_argument(
            "--time-zone",
            default="",
            metavar="ZONE",
            help="IANA time zone of its days, schedules and messages, e.g. Europe/Berlin "
            "(default: the installation's TIME_ZONE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["admin"]
        creator = get_user_model().objects.filter(username=username).first()
        if creator is None:
            raise CommandError(f"No login '{username}': create it first (createsuperuser).")
        try:
            organization = organization_create(
                slug=options["slug"],
                name=options["name"],
                creator=creator,
                time_zone=options["time_zone"],
            )
        except ApplicationError as exc:
            fields = exc.extra.get("fields", {})
            details = "; ".join(f"{field}: {' '.join(m)}" for field, m in fields.items())
            raise CommandError(details or exc.message) from None
        self.stdout.write(organization.slug)
        self.stderr.write(
            f"Created organisation '{organization.slug}' ({organization.name}, "
            f"times in {organization.time_zone}); "
            f"{creator.get_username()} is its admin."
        )
