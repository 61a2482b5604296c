"""Signal event records as a spreadsheet (CSV), for ``manage.py ingest_signals``: the same records
as the API takes, one per row, with every problem named by line and column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.files.limits import text_check
from core.files.origin import ImportFailure, Origin
from transform.evidence.records import COMMON_FIELDS, RECORD_FIELDS, RecordProblem, problems_text

CSV_REQUIRED_COLUMNS: tuple[str, ...] = COMMON_FIELDS


# Every kind's own fields, in the order of the kinds and their fields.
CSV_OPTIONAL_COLUMNS: tuple[str, ...] = RECORD_FIELDS[len(COMMON_FIELDS) :]


CSV_COLUMNS = RECORD_FIELDS


_LIST_COLUMNS = {"commit_times"}


_BOOLEAN_COLUMNS = {"caused_failure", "is_rework", "mandated"}


_INTEGER_COLUMNS = {"developers_waiting"}


@dataclass(frozen=True, slots=True)
class CsvRecords:
    """Records read from a CSV file, with the line each started on (for error messages)."""

    path: str
    records: list[dict[str, Any]]
    lines: list[int]

    def where(self, problem: RecordProblem) -> str:
        """``file.csv, line 5, column team`` for a problem of ``records[problem.index]``."""
        place = f"{self.path}, line {self.lines[problem.index]}"
        return place + (f", column {problem.column}" if problem.column else "")

    def problems_text(self, problems: Sequence[RecordProblem]) -> str:
        return problems_text(problems, self.where)


def _cell_value(column: str, cell: str) -> Any:
    if column in _LIST_COLUMNS:
        return [part.strip() for part in cell.split(";") if part.strip()]
    if column in _BOOLEAN_COLUMNS and cell.lower() in {"true", "false"}:
        return cell.lower() == "true"
    if column in _INTEGER_COLUMNS and re.fullmatch(r"[0-9]{1,9}", cell):
        return int(cell)
    return cell  # left as text, so validation says what was expected


def signal_events_csv_parse(path: str, text: str) -> CsvRecords:
    """The records of a CSV file (docs/signal-events-format.md): a header row naming the columns
    (``kind,id,team,occurred_at`` and any kind columns, in any order; ``service`` may stand in
    for ``team``), then one event a row. An empty cell is a field not given; ``commit_times``
    are separated by ``;``; booleans are ``true`` / ``false``.

    Raises ``ImportFailure`` naming the file and line for a missing or bad header, a row with the
    wrong number of cells, or broken CSV quoting, and ``InputRefused`` for a text beyond the limits
    of ``core.files.limits`` (size, NUL); the values are checked by the ingest.
    """
    text_check(path, text)  # size and NUL (core.files.limits), as every input
    # Spreadsheets often save a byte-order mark; it is not part of the first column's name.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFailure(
                Origin(path, line=1),
                f"empty file; expected a header row with {','.join(CSV_REQUIRED_COLUMNS)} "
                "and the kind columns you use",
            )
        columns = _csv_columns(path, header)
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise ImportFailure(
                    Origin(path, line=start),
                    f"expected {len(columns)} cells ({','.join(columns)}); got {len(row)}",
                )
            records.append(
                {
                    column: _cell_value(column, cell.strip())
                    for column, cell in zip(columns, row, strict=True)
                    if cell.strip()
                }
            )
            lines.append(start)
    except csv.Error as exc:
        raise ImportFailure(Origin(path, line=reader.line_num), f"CSV error: {exc}") from None
    return CsvRecords(path=path, records=records, lines=lines)


def _csv_columns(path: str, header: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    origin = Origin(path, line=1)
    expected = (
        f"expected the columns {','.join(CSV_REQUIRED_COLUMNS)} and any of "
        f"{','.join(CSV_OPTIONAL_COLUMNS)}"
    )
    unknown = [column for column in columns if column not in CSV_COLUMNS]
    if unknown:
        raise ImportFailure(
            origin, f"unknown column {', '.join(ascii(c) for c in unknown)}; {expected}"
        )
    # A file whose rows all name services needs no team column.
    required = [c for c in CSV_REQUIRED_COLUMNS if c != "team" or "service" not in columns]
    missing = [column for column in required if column not in columns]
    if missing:
        raise ImportFailure(origin, f"missing column {', '.join(map(repr, missing))}; {expected}")
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise ImportFailure(origin, f"column {', '.join(map(repr, repeated))} appears twice")
    return columns
