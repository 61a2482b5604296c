"""``python manage.py rebuild_readiness_rollups [--org SLUG] [--check]``: rebuild the survey
rollups the readiness report reads, from every stored answer (docs/readiness.md, "How figures are
stored")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from teams.models import Organization
from transform.readiness.report import readiness_rollups_check
from transform.readiness.rollups import survey_rollups_refresh
from transform.rhythm.selectors import checkin_settings_get


class Command(BaseCommand):
    help = (
        "Rebuild the survey rollups of every organisation (or of --org) from the stored answers: "
        "after loading answers in bulk while others were being stored, or to verify them. The "
        "report rebuilds a period by itself when the minimum group size changed. With --check, "
        "also compare the current and previous survey period's figures with those computed from "
        "every answer and fail on a difference. Prints one line per organisation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organisation (its slug).")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Compare the figures with those computed from every answer.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("slug")
        if options.get("org"):
            organizations = organizations.filter(slug=options["org"])
            if not organizations.exists():
                raise CommandError(f"No organisation with slug '{options['org']}'.")
        failed = []
        for organization in organizations:
            settings = checkin_settings_get(organization=organization)
            applied = survey_rollups_refresh(
                organization=organization, settings=settings, rebuild=True
            )
            line = f"{organization.slug}: {applied} answers"
            if options.get("check"):
                problems = readiness_rollups_check(
                    organization=organization, settings=settings, at=timezone.now()
                )
                line += ", same figures" if not problems else f", {len(problems)} differences"
                for problem in problems:
                    self.stderr.write(f"{organization.slug}: {problem}")
                if problems:
                    failed.append(organization.slug)
            self.stdout.write(line)
        if failed:
            raise CommandError(f"Rollups differ from the answers for: {', '.join(failed)}.")
