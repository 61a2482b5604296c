"""``python manage.py start_transformation --org SLUG --playbook KEY[@VERSION] ... --start DATE
--owner EMAIL``: start a transformation from one or more playbooks and print its id."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from teams.management.arguments import organization_argument
from transform.plans.services import transformation_start


def _date_argument(value: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--start: expected a date YYYY-MM-DD (e.g. 2027-01-04), got '{value}'."
        ) from None


# The command-line option behind each field the service reports errors on.
FIELD_OPTIONS = {"playbooks": "--playbook", "owner": "--owner", "sponsor": "--sponsor"}


def application_error_text(exc: ApplicationError) -> str:
    """Each field error prefixed by its command-line option, or the bare message."""
    lines = [
        f"{FIELD_OPTIONS.get(field, field)}: {message}"
        for field, messages in (exc.extra.get("fields") or {}).items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]
    return "\n".join(lines) or exc.message


class Command(BaseCommand):
    help = (
        "Start a transformation of an organisation from one or more playbooks (combined into one "
        "plan), with dated milestones, each owned by one person. Prints the transformation id on "
        "stdout (a summary goes to stderr). Nothing is stored when anything is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organisation slug.")
        parser.add_argument(
            "--playbook",
            action="append",
            required=True,
            metavar="KEY[@VERSION]",
            help="A playbook (latest version unless @VERSION); repeat to combine playbooks.",
        )
        parser.add_argument(
            "--start", required=True, help="Start date YYYY-MM-DD of the first milestones."
        )
        parser.add_argument(
            "--owner",
            required=True,
            metavar="EMAIL",
            help="E-mail of the lead change agent, any person of the organisation.",
        )
        parser.add_argument("--title", default="", help="Title (default: the playbooks' titles).")
        parser.add_argument("--sponsor", metavar="EMAIL", help="E-mail of the sponsor.")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _date_argument(options["start"])
        organization = organization_argument(options["org"])
        try:
            transformation = transformation_start(
                organization=organization,
                playbooks=options["playbook"],
                start_date=start,
                owner_email=options["owner"],
                title=options["title"],
                sponsor_email=options["sponsor"],
            )
        except ApplicationError as exc:
            raise CommandError(
                f"The transformation was not started; nothing was stored.\n"
                f"{application_error_text(exc)}"
            ) from exc
        self.stdout.write(str(transformation.pk))
        self.stderr.write(
            f"Started transformation {transformation.pk}: {transformation.title} "
            f"({transformation.milestones.count()} milestones, planned end "
            f"{transformation.planned_end}, critical path: "
            f"{' -> '.join(transformation.critical_path)}). "
            f"See `python manage.py plan_report {transformation.pk}`."
        )
