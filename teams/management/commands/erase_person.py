"""``python manage.py erase_person --org SLUG EMAIL [--dry-run]`` (docs/privacy.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.errors import ConflictError
from teams.erasure import PersonErasure, person_erase
from teams.management.arguments import organization_argument
from teams.models import Person


class _DryRun(Exception):
    """Rolls the erasure back after it has counted what it would change."""

    def __init__(self, erasure: PersonErasure) -> None:
        super().__init__("dry run")
        self.erasure = erasure


class Command(BaseCommand):
    help = (
        "Erase a person's personal data: their name and e-mail are replaced by a pseudonym "
        "everywhere (history, deliveries, milestone events, their login), they become a leaver, "
        "and anonymous figures stay as they are. Cannot be undone. Refused while they own open "
        "milestones or lead a transformation. Details: docs/privacy.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, metavar="SLUG", help="The organisation.")
        parser.add_argument("email", help="The person's e-mail address in the organisation.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be rewritten, and change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_argument(options["org"])
        email = str(options["email"]).strip().lower()
        person = Person.objects.filter(organization=organization, email=email).first()
        if person is None:
            raise CommandError(
                f"No person with e-mail '{email}' in organisation '{organization.slug}'."
            )
        try:
            with transaction.atomic():
                erasure = person_erase(person=person)
                if options["dry_run"]:
                    raise _DryRun(erasure)
        except ConflictError as exc:
            raise CommandError(_refusal(exc)) from None
        except _DryRun as dry:
            self.stdout.write(
                f"Dry run: erasing {email} in {organization.slug} would rewrite "
                f"{_rows(dry.erasure)}; nothing was changed."
            )
            return
        if erasure.already:
            self.stdout.write(
                f"{email} was already erased on {erasure.person.erased_at:%Y-%m-%d}; nothing to do."
            )
            return
        login = {
            "pseudonymised": "their login was pseudonymised and disabled",
            "unlinked": "their login, also used in other organisations, was unlinked and kept",
            "none": "they had no login",
        }[erasure.login]
        self.stdout.write(
            f"Erased {email} in {organization.slug}: now '{erasure.person.name}' "
            f"<{erasure.person.email}>, a leaver since {erasure.person.left_on}; {login}.\n"
            f"Rewritten: {_rows(erasure)}."
        )


def _rows(erasure: PersonErasure) -> str:
    return ", ".join(f"{count} {label}" for label, count in erasure.rewritten.items())


def _refusal(exc: ConflictError) -> str:
    """The service's 409 with what to reassign, one line each."""
    lines = [exc.message]
    for what, items in (exc.extra or {}).items():
        if isinstance(items, list):
            lines += [f"  {what.replace('_', ' ')}: {_item(item)}" for item in items]
    return "\n".join(lines)


def _item(item: Any) -> str:
    """``#12 Kick off the pilot (in Pilot plan)`` for what a departure check lists."""
    if not isinstance(item, dict) or "id" not in item:
        return json.dumps(item)
    text = f"#{item['id']} {item.get('title', '')}".rstrip()
    transformation = item.get("transformation")
    if isinstance(transformation, dict) and transformation.get("title"):
        text += f" (in {transformation['title']})"
    return text
