"""Command-line arguments shared by the rhythm's commands, as CommandErrors."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone

from core.moments import moment_parse

AT_FORMAT = "an ISO 8601 date-time such as 2027-01-04T09:00 or 2027-01-04T09:00:00+01:00"
AT_HELP = f"The moment to run at: {AT_FORMAT}; without an offset it is read in TIME_ZONE."


def at_argument(text: str | None) -> dt.datetime:
    """``--at``: the moment a command runs at (now when not given)."""
    if text is None:
        return timezone.now()
    try:
        return moment_parse(text, naive="local")
    except ValueError:
        raise CommandError(f"--at must be {AT_FORMAT}; got {text!r}.") from None
