"""``python manage.py seed_demo [--org demo] [--password PW]``: the demo's transformation and logins.

Run after ``load_demo`` (``make demo`` does both): starts a demo transformation with check-ins,
synthetic survey answers, example signal events and readiness snapshots (only when the
organisation has no transformation yet), and creates the logins demo-agent, demo-manager and
demo-leader with the given password (default: $DEMO_PASSWORD).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from teams.models import Organization
from transform.demo import demo_logins_upsert, demo_rhythm_seed


class Command(BaseCommand):
    help = (
        "Give the demo organisation a running transformation (check-ins, synthetic survey "
        "answers, example signals, readiness) and one login per role. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default="demo", help="Slug of the demo organisation.")
        parser.add_argument(
            "--password", help="Password of the role logins (default: $DEMO_PASSWORD)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organisation '{options['org']}': run load_demo first.")
        seed = demo_rhythm_seed(organization=organization, at=timezone.now())
        state = "started" if seed.created else "already there"
        self.stdout.write(f"Demo transformation {seed.transformation.pk}: {state}.")
        password = options["password"] or os.environ.get("DEMO_PASSWORD")
        if password:
            logins = demo_logins_upsert(organization=organization, password=password)
            self.stdout.write(f"Role logins (same password): {', '.join(logins)}")
