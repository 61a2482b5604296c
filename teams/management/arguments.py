"""Command-line arguments shared by the organisation-graph commands, as CommandErrors."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError

from core.moments import moment_parse
from teams.models import Organization


def as_of_argument(value: str) -> dt.datetime:
    """``--as-of``: a date (end of that day, UTC) or an ISO 8601 date-time."""
    try:
        return moment_parse(value, naive="utc", day_end=True)
    except ValueError:
        raise CommandError(
            f"--as-of: expected a date YYYY-MM-DD or an ISO 8601 datetime "
            f"(e.g. 2025-03-31T18:00:00+00:00), got '{value}'."
        ) from None


def organization_argument(slug: str) -> Organization:
    """The organisation a command names, or a CommandError that says how to create one."""
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(
            f"No organisation with slug '{slug}'. Import one with "
            "`python manage.py import_org --org SLUG PATH`."
        )
    return organization
