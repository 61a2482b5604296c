"""``python manage.py generate_org --org SLUG --teams N --people M [--answers R]
[--transformation] [--seed S]``: a realistic synthetic organisation, built with bulk inserts."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from teams.synthetic import org_generate, org_generate_check
from transform.synthetic import answers_generate, signal_events_generate, transformation_generate


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"expected a whole number, got '{value}'.") from None
    if number < 0:
        raise CommandError(f"expected a number of at least 0, got {number}.")
    return number


class Command(BaseCommand):
    help = (
        "Generate a new synthetic organisation: departments, stream-aligned, platform, enabling "
        "and complicated-subsystem teams, ops silos with many ticket dependencies, shared DevOps "
        "engineers, interactions with dates, people and memberships; with --answers, that many "
        "pulse-survey answers and a year of signal events; with --transformation, a running "
        "transformation of a few hundred milestones. Deterministic for a seed (and the day). "
        "All or nothing; an existing slug is refused. See docs/performance.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Slug of the new organisation.")
        parser.add_argument("--teams", type=_count, required=True, help="Number of teams (>= 10).")
        parser.add_argument(
            "--people", type=_count, required=True, help="Number of people (>= 3 per team)."
        )
        parser.add_argument(
            "--answers",
            type=_count,
            default=0,
            help="Survey answers to store; with any, a year of signal events too (default 0).",
        )
        parser.add_argument(
            "--transformation",
            action="store_true",
            help="Also start a transformation with a few hundred milestones.",
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")

    def handle(self, *args: Any, **options: Any) -> None:
        slug, seed = options["org"], options["seed"]
        today = timezone.localdate()
        started = time.perf_counter()
        try:
            org_generate_check(slug=slug, teams=options["teams"], people=options["people"])
            with transaction.atomic():
                generated = org_generate(
                    slug=slug,
                    teams=options["teams"],
                    people=options["people"],
                    seed=seed,
                    today=today,
                )
                self._progress(started, f"organisation: {generated.counts}")
                if options["transformation"]:
                    transformation = transformation_generate(
                        generated=generated, today=today, seed=seed
                    )
                    self._progress(
                        started,
                        f"transformation {transformation.pk}: "
                        f"{transformation.milestones.count()} milestones",
                    )
                if options["answers"]:
                    stored = answers_generate(
                        organization=generated.organization,
                        teams=generated.teams,
                        answers=options["answers"],
                        today=today,
                        seed=seed,
                    )
                    self._progress(started, f"answers: {stored}")
                    events = signal_events_generate(generated=generated, today=today, seed=seed)
                    self._progress(started, f"signal events: {events}")
        except ApplicationError as exc:
            raise CommandError(f"Nothing was generated: {exc.message}") from exc
        self.stdout.write(slug)
        self.stderr.write(
            f"Generated organisation '{slug}' in {time.perf_counter() - started:.1f} s."
        )

    def _progress(self, started: float, text: str) -> None:
        self.stderr.write(f"[{time.perf_counter() - started:7.1f} s] {text}")
