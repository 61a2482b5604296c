"""Reading an HR export as it comes (docs/import-hr.md), for ``import_people``.

``hr_csv_read`` reads the CSV through a column mapping (``teams.importers.hrmapping``) without
touching the database and reports every problem of the file at once (the first
``core.files.validation.MAX_PROBLEMS_SHOWN`` shown), each at its line and column;
``teams.importers.hrimport.hr_import`` takes the rows into an organisation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.files.limits import file_read
from core.files.origin import Origin
from core.files.validation import FileFormatError, problems_error
from core.identifiers import email_is_valid
from teams.importers.hrmapping import (
    DEFAULT_HEADERS,
    HrMapping,
    columns_resolve,
    name_key,
)
from teams.models import MembershipRole

# A cell longer than this is refused (a name holds 200 characters, an e-mail 254).
MAX_CELL_CHARS = 1000
# The csv module refuses longer fields with an error (its own default is 131,072).
_FIELD_LIMIT = 100_000
_DELIMITERS = (",", ";", "\t", "|")
_ISO_FORMAT = "%Y-%m-%d"
_ALLOCATION = re.compile(r"(\d{1,3})(?:[.,]0+)?\s*%?")


class HrImportError(FileFormatError):
    """An HR export is unreadable or holds problems; ``problems`` lists every one found."""


@dataclass(frozen=True, slots=True)
class HrRow:
    """One row of the export, checked."""

    line: int
    email: str  # lower-case
    name: str  # as written
    team: str  # as written (runs of white space as one space); "" for none
    manager_email: str  # lower-case; "" for none
    title: str
    role: str  # a MembershipRole value from the role column; "" for none
    allocation: int
    start_date: dt.date | None
    end_date: dt.date | None


@dataclass(slots=True)
class HrFile:
    """What ``hr_csv_read`` found: the rows, the header of each field read, the columns ignored."""

    path: str
    rows: list[HrRow]
    columns: dict[str, str]
    ignored: list[str]


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _delimiter(text: str) -> str:
    """The most frequent of ``, ; tab |`` in the header line (a comma when none is there)."""
    first = text.split("\n", 1)[0]
    counts = [(first.count(candidate), -index) for index, candidate in enumerate(_DELIMITERS)]
    best = max(counts)
    return _DELIMITERS[-best[1]] if best[0] else ","


def hr_csv_read(path: Path, mapping: HrMapping) -> HrFile:
    """The rows of the export at ``path`` read through ``mapping``.

    Raises ImportFailure (InputRefused) for a file that is missing, not a regular file, too large,
    not UTF-8 or holds NUL, and HrImportError listing every problem of the header or the rows,
    each at its line with the column's header and what was expected. A byte-order mark and
    Windows line endings are read as any other file's."""
    name = str(path)
    text = file_read(path).removeprefix("\ufeff")
    delimiter = mapping.delimiter or _delimiter(text)
    previous_limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        return _read(name, text, delimiter, mapping)
    finally:
        csv.field_size_limit(previous_limit)


def _read(name: str, text: str, delimiter: str, mapping: HrMapping) -> HrFile:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header_origin = Origin(name, line=1)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise HrImportError(header_origin, f"CSV error: {exc}") from None
    if header is None or not any(cell.strip() for cell in header):
        raise HrImportError(header_origin, "empty file; expected a header row naming the columns")
    problems: list[tuple[Origin, str, str]] = []
    found = columns_resolve(mapping, header)
    for what, where in found.items():
        if isinstance(where, str):
            problems.append((header_origin, f"header ({what})", where))
    columns = {what: index for what, index in found.items() if isinstance(index, int)}
    if "email" not in found:
        problems.append((header_origin, "header (email)", _missing("email")))
    has_name = "name" in found or ("first_name" in found and "last_name" in found)
    if not has_name:
        problems.append((header_origin, "header (name)", _missing("name")))
    if problems:
        raise problems_error(problems, error=HrImportError)

    headers = {what: header[index].strip() for what, index in columns.items()}
    used = set(columns.values())
    ignored = [
        cell.strip() for index, cell in enumerate(header) if index not in used and cell.strip()
    ]
    rows: list[HrRow] = []
    firsts: dict[str, HrRow] = {}
    in_team: dict[tuple[str, str], int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            origin = Origin(name, line=line)
            if len(cells) != len(header):
                problems.append(
                    (
                        origin,
                        "row",
                        f"expected {len(header)} values, one per column of the header; got "
                        f"{len(cells)}",
                    )
                )
                continue
            row = _row(origin, cells, columns, headers, mapping, problems)
            if row is not None:
                _consistent(origin, row, firsts, in_team, headers, problems)
                rows.append(row)
    except csv.Error as exc:
        # The reader cannot find the next row reliably after a CSV error: reading stops here.
        problems.append((Origin(name, line=reader.line_num), "row", f"CSV error: {exc}"))
    if problems:
        raise problems_error(problems, error=HrImportError)
    return HrFile(path=name, rows=rows, columns=headers, ignored=ignored)


def _missing(what: str) -> str:
    names = ", ".join(repr(name) for name in DEFAULT_HEADERS[what])
    extra = " (or first name and last name columns)" if what == "name" else ""
    return (
        f"no column holds the {what}{extra}; expected a column named one of {names}, or map "
        f'one: --column {what}="Header in the file" or the mapping file\'s columns'
    )


def _row(
    origin: Origin,
    cells: list[str],
    columns: dict[str, int],
    headers: dict[str, str],
    mapping: HrMapping,
    problems: list[tuple[Origin, str, str]],
) -> HrRow | None:
    """The checked row, or None after adding its problems."""
    count = len(problems)

    def column(what: str) -> str:
        return f"column {headers[what]!r} ({what})"

    def cell(what: str) -> str:
        index = columns.get(what)
        if index is None:
            return ""
        value = cells[index].strip()
        if len(value) > MAX_CELL_CHARS:
            problems.append((origin, column(what), f"longer than {MAX_CELL_CHARS:,} characters"))
            return ""
        return value

    def problem(what: str, message: str) -> None:
        problems.append((origin, column(what) if what in headers else what, message))

    email = cell("email").lower()
    if not email_is_valid(email):
        problem("email", f"expected an e-mail address; got {_shown(cell('email'))}")
    name = (
        cell("name")
        if "name" in columns
        else " ".join(part for part in (cell("first_name"), cell("last_name")) if part)
    )
    if not name:
        problem("name" if "name" in columns else "first_name", "expected the person's name")
    elif len(name) > 200:
        problem("name" if "name" in columns else "first_name", "expected at most 200 characters")
    team = " ".join(cell("team").split())
    if len(team) > 200:
        problem("team", "expected a team name or slug of at most 200 characters")
    manager = cell("manager_email").lower()
    if manager and not email_is_valid(manager):
        problem(
            "manager_email",
            f"expected the manager's e-mail address or empty; got {_shown(cell('manager_email'))}",
        )
    role = cell("role").lower().replace(" ", "_").replace("-", "_")
    if role and role not in MembershipRole.values:
        problem(
            "role",
            f"expected one of {', '.join(MembershipRole.values)} or empty; "
            f"got {_shown(cell('role'))}",
        )
    allocation = 100
    written = cell("allocation")
    if written:
        match = _ALLOCATION.fullmatch(written)
        if match is None or not 1 <= int(match.group(1)) <= 100:
            problem(
                "allocation",
                f"expected a whole percentage from 1 to 100 (50 or 50%), or empty for 100; "
                f"got {_shown(written)}",
            )
        else:
            allocation = int(match.group(1))
    start = _date(cell("start_date"), mapping, lambda m: problem("start_date", m))
    end = _date(cell("end_date"), mapping, lambda m: problem("end_date", m))
    if start is not None and end is not None and end < start:
        problem("end_date", f"the end date {end} is before the start date {start}")
    if len(problems) > count:
        return None
    return HrRow(
        line=origin.line or 0,
        email=email,
        name=name,
        team=team,
        manager_email=manager,
        title=cell("title"),
        role=role,
        allocation=allocation,
        start_date=start,
        end_date=end,
    )


def _date(value: str, mapping: HrMapping, report: Callable[[str], None]) -> dt.date | None:
    """The day in ``value`` (the mapping's ``date_format``, or YYYY-MM-DD), None when empty."""
    if not value:
        return None
    for form in dict.fromkeys((mapping.date_format, _ISO_FORMAT)):
        try:
            return dt.datetime.strptime(value, form).date()
        except ValueError:
            continue
    example = dt.date(2026, 1, 31).strftime(mapping.date_format)
    expected = (
        f"a date like {example} ({mapping.date_format}) or YYYY-MM-DD"
        if mapping.date_format != _ISO_FORMAT
        else "a date YYYY-MM-DD"
    )
    report(f"expected {expected}, or empty; got {_shown(value)}")
    return None


def _consistent(
    origin: Origin,
    row: HrRow,
    firsts: dict[str, HrRow],
    in_team: dict[tuple[str, str], int],
    headers: dict[str, str],
    problems: list[tuple[Origin, str, str]],
) -> None:
    """A person on several rows (one per team) has one name and one end date, and is in each
    team once."""
    first = firsts.setdefault(row.email, row)
    if first is not row:
        field_ = "name" if "name" in headers else "first_name"
        name_column = f"column {headers.get(field_, field_)!r} ({field_})"
        if first.name != row.name:
            problems.append(
                (
                    origin,
                    name_column,
                    f"{row.email} is named {row.name!r} here and {first.name!r} on line "
                    f"{first.line}; a person has one name",
                )
            )
        if first.end_date != row.end_date:
            problems.append(
                (
                    origin,
                    f"column {headers['end_date']!r} (end_date)",
                    f"{row.email} has the end date {row.end_date} here and {first.end_date} on "
                    f"line {first.line}; a person leaves once",
                )
            )
    if row.team:
        key = (row.email, name_key(row.team))
        if key in in_team:
            problems.append(
                (
                    origin,
                    f"column {headers['team']!r} (team)",
                    f"{row.email} is already in team {row.team!r} on line {in_team[key]}; "
                    "list a person once per team",
                )
            )
        else:
            in_team[key] = row.line
