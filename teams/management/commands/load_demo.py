"""``python manage.py load_demo [--org demo] [--password PW]``: the demo organisation and a login.

Imports ``fixtures/demo-org.yaml`` into the organisation (created as "Demo Corp" if missing) and
creates or updates the login ``demo``, an admin of that organisation. Running it again changes
nothing in the organisation; the password is reset to the one given (``--password``, else the
``DEMO_PASSWORD`` environment variable, else a new random one printed each run). Migrations are
not run here (``make demo`` migrates first).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.files.origin import ImportFailure
from teams.importers.apply import org_import_files
from teams.models import Organization, OrganizationRole, Role

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo-org.yaml"
DEMO_NAME = "Demo Corp"
DEMO_USERNAME = "demo"
DEMO_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = (
        "Load the demo organisation (fixtures/demo-org.yaml) and create or update the demo "
        "login, an admin of it. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default="demo", help="Slug of the demo organisation.")
        parser.add_argument(
            "--password",
            help="Password of the demo login (default: $DEMO_PASSWORD, else a random one).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = (
            options["password"] or os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        )
        try:
            with transaction.atomic():
                result = org_import_files(
                    slug=options["org"],
                    name=DEMO_NAME,
                    paths=[DEMO_FILE],
                    change_reason="load_demo",
                )
                organization = Organization.objects.get(slug=options["org"])
                user = _demo_user_upsert(password=password)
                OrganizationRole.objects.get_or_create(
                    organization=organization, user=user, role=Role.ADMIN
                )
        except ImportFailure as exc:
            raise CommandError(f"The demo organisation could not be loaded.\n{exc}") from exc
        self.stdout.write(result.summary())
        self.stdout.write("")
        self.stdout.write(f"Demo organisation: {organization.slug} ({organization.name})")
        self.stdout.write(f"Open:     {DEMO_URL}")
        self.stdout.write(f"Username: {DEMO_USERNAME}")
        self.stdout.write(f"Password: {password}")


def _demo_user_upsert(*, password: str) -> Any:
    """The demo login, created if missing, with ``password`` set (saved only when it changed)."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"email": "demo@democorp.example"}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user
