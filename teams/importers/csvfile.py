"""CSV of people and their team memberships: ``email,name,team,role,left_on``.

The header row is required and names the columns (in any order); ``email``, ``name`` and ``team``
must be there, ``role`` and ``left_on`` may be left out, and any other column is an error (a typo
such as ``e-mail`` would otherwise drop data silently). Each row is one person in one team; a
person in two teams takes two rows with the same name. Teams are not defined here: each must exist
in another file of the same import or already in the organisation. An empty role means
``member``; the allocation is always 100 percent. A row with a ``left_on`` date (YYYY-MM-DD) is a
leaver: its ``team`` and ``role`` stay empty, since a leaver has no memberships.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_slug

from core.files.origin import ImportFailure, Origin
from core.files.yamlio import read_text
from core.identifiers import email_is_valid
from teams.graph import MembershipEdge, PersonNode
from teams.importers.bundle import NO_ROLE, ImportBundle
from teams.models import MembershipRole

REQUIRED_COLUMNS = ("email", "name", "team")
OPTIONAL_COLUMNS = ("role", "left_on")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_OPTIONAL = "role and left_on may be left out"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def read_people_csv(path: Path) -> ImportBundle:
    """People and memberships from the CSV file at ``path``; ImportFailure naming file and line."""
    name = str(path)
    # Spreadsheets often save a byte-order mark; it is not part of the first column's name.
    text = read_text(path).removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    bundle = ImportBundle()
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFailure(
                Origin(name, line=1), f"empty file; expected a header row {','.join(COLUMNS)}"
            )
        columns = _columns(name, header)
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            origin = Origin(name, line=line)
            if len(row) != len(columns):
                raise ImportFailure(
                    origin,
                    f"expected {len(columns)} values ({','.join(columns)}); got {len(row)}",
                )
            values = {column: cell.strip() for column, cell in zip(columns, row, strict=True)}
            _add_row(bundle, values, origin)
    except csv.Error as exc:
        raise ImportFailure(Origin(name, line=reader.line_num), f"CSV error: {exc}") from None
    return bundle


def _columns(name: str, header: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    origin = Origin(name, line=1)
    unknown = [column for column in columns if column not in COLUMNS]
    if unknown:
        raise ImportFailure(
            origin,
            f"unknown column {', '.join(repr(c) for c in unknown)}; "
            f"expected the columns {','.join(COLUMNS)} ({_OPTIONAL})",
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ImportFailure(
            origin,
            f"missing column {', '.join(repr(c) for c in missing)}; "
            f"expected the columns {','.join(COLUMNS)} ({_OPTIONAL})",
        )
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise ImportFailure(origin, f"column {', '.join(map(repr, repeated))} appears twice")
    return columns


def _add_row(bundle: ImportBundle, values: dict[str, str], origin: Origin) -> None:
    email = values["email"].lower()
    if not email_is_valid(email):
        raise ImportFailure(origin, f"email: expected an e-mail address; got {values['email']!r}")
    if not values["name"]:
        raise ImportFailure(origin, "name: expected the person's name; got an empty value")
    left_on = _left_on(values.get("left_on", ""), origin)
    team = values["team"]
    if left_on is not None:
        if team or values.get("role"):
            raise ImportFailure(
                origin,
                f"team: a leaver (left_on {left_on}) has no memberships; leave team and role "
                f"empty; got team {team!r} and role {values.get('role', '')!r}",
            )
        bundle.add_person(PersonNode(email=email, name=values["name"]), origin)
        bundle.add_leaver(email, left_on, origin)
        return
    try:
        validate_slug(team)
    except DjangoValidationError:
        raise ImportFailure(
            origin,
            f"team: expected a team slug (letters, digits, hyphens and underscores); got {team!r}",
        ) from None
    role = values.get("role") or NO_ROLE
    if role and role not in MembershipRole.values:
        raise ImportFailure(
            origin,
            f"role: expected one of {', '.join(MembershipRole.values)} or empty; got {role!r}",
        )
    bundle.add_person(PersonNode(email=email, name=values["name"]), origin)
    bundle.add_membership(MembershipEdge(person=email, team=team, role=role), origin)
    bundle.refer_to_team(team, origin)


def _left_on(value: str, origin: Origin) -> dt.date | None:
    """The day in a ``left_on`` cell (YYYY-MM-DD), or None when it is empty."""
    if not value:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ImportFailure(
            origin,
            f"left_on: expected the day the person left as YYYY-MM-DD, or empty; got {value!r}",
        ) from None
