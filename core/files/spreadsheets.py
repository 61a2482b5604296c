"""Tables written for spreadsheets (CSV and XLSX), with every cell a spreadsheet would run as a
formula kept as text: the one helper every export uses (the audit trail, the plan, the findings,
the readiness heat map).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (OWASP, "CSV Injection"). In CSV a leading apostrophe makes it text;
in XLSX every string is written as a string cell (``data_type`` "s"), which no application
evaluates, so the text stays exactly as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
# The number format of date cells, so that a spreadsheet shows (and sorts) them as dates.
XLSX_DATE_FORMAT: Final = "yyyy-mm-dd"
# Excel's limit on a sheet title.
_MAX_SHEET_TITLE: Final = 31

_BOLD: Final = Font(bold=True)

Cell = str | int | float | bool | dt.date | None


def cell_neutralised(value: object) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text, never runs (``None`` is empty)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object whose ``write`` hands the line back (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def csv_line(cells: Iterable[object]) -> str:
    """One CSV line (with its line end) of ``cells``, each neutralised."""
    return str(csv.writer(_Line()).writerow([cell_neutralised(cell) for cell in cells]))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The header then every row, as CSV text (dates as ``YYYY-MM-DD``)."""
    return "".join([csv_line(header), *(csv_line(row) for row in rows)])


def xlsx_bytes(*, title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """One sheet named ``title``: the header (frozen, in bold) then every row. Strings are string
    cells whatever they start with; dates are date cells; numbers and booleans stay typed."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = title[:_MAX_SHEET_TITLE] or "Sheet"
    widths = [len(name) for name in header]
    for row_number, values in enumerate([header, *rows], start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if isinstance(value, str):
                cell.value = value
                # openpyxl makes a string starting with "=" a formula; a string cell never is.
                cell.data_type = "s"
            else:
                cell.value = value
                if isinstance(value, dt.date):
                    cell.number_format = XLSX_DATE_FORMAT
            if row_number == 1:
                cell.font = _BOLD
            shown = len(value.isoformat()) if isinstance(value, dt.date) else len(str(value or ""))
            if column <= len(widths):
                widths[column - 1] = max(widths[column - 1], min(shown, 60))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width + 2
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
