"""``python manage.py seed_demo [--org demo] [--password PW]``: the demo's transformation and logins.

Run after ``load_demo`` (``make demo`` does both): when the organisation has no transformation
yet, writes a transformation four months in (docs/demo.md): the loaded topology dated five months
back, the plan started four months ago with milestones done, in progress, at risk and blocked, a
DevOps buddy named since, synthetic survey answers in every period, weekly deploys, incidents,
tickets, adoptions and first deploys, and readiness snapshots. Deterministic for the day it runs,
and done in a few seconds. Then plans check-ins and creates the logins demo-agent, demo-manager
and demo-leader with the given password (default: $DEMO_PASSWORD).
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
        "Give the demo organisation a transformation four months in (dated topology history, "
        "milestones, synthetic survey answers and weekly signals, readiness) and one login per "
        "role. Deterministic and idempotent; see docs/demo.md."
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
