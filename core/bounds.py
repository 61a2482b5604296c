"""Numbers and dates a client sends, read with bounds: a row id (ASCII digits, 1 to the largest
value a ``BigAutoField`` holds), a page size, a calendar day within the range the product plans
in. Python's ``str.isdigit`` accepts "¹" and ``int`` refuses numbers of more than 4,300 digits;
the helpers here never raise on hostile text and never hand the database a number it cannot
store, so the edges answer 400 (a body or query field) or 404 (a path id), never 500."""

from __future__ import annotations

import datetime as dt
import re

# The largest id a BigAutoField (a signed 64-bit integer, PostgreSQL's bigint) holds.
ID_MAX = 2**63 - 1

# At most 19 ASCII digits: ID_MAX has 19, so longer text is out of range before ``int`` runs.
_ID_TEXT = re.compile(r"[0-9]{1,19}")

# The days the product plans and reports in. Far enough inside ``datetime.date``'s range that a
# plan's durations, a survey period or a time zone shift never overflow it, so the first and
# the last representable days are refused alike (issue 11: 0001-01-01 was taken, 9999-12-01 not).
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(8999, 12, 31)
DATE_RANGE_HELP = f"a day from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}"


def id_parse(value: object) -> int | None:
    """The row id ``value`` names, or None when it names none.

    An id is an ``int`` (not a ``bool``) or text of 1 to 19 ASCII digits (surrounding spaces
    allowed), between 1 and ``ID_MAX``. Never raises."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ID_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= ID_MAX else None


def id_text_is_numeric(value: object) -> bool:
    """Whether ``value`` is written as a number at all (ASCII digits, any length): tells "an id
    out of range" from "not an id" (e.g. an e-mail address) without converting it."""
    return isinstance(value, int | str) and bool(re.fullmatch(r"\s*[0-9]+\s*", str(value)))


def day_in_range(day: dt.date) -> bool:
    """Whether ``day`` lies between ``DATE_MIN`` and ``DATE_MAX``."""
    return DATE_MIN <= day <= DATE_MAX
