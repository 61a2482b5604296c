"""The audit trail as CSV: one line per changed field (one line for an entry without fields),
written as it is read, with every cell that a spreadsheet would run as a formula neutralised."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Final

from django.utils import timezone

from core.files.spreadsheets import cell_neutralised
from transform.audit.selectors import AuditEntry

__all__ = ["CSV_COLUMNS", "audit_csv_lines", "cell_neutralised"]

CSV_COLUMNS: Final = (
    "when",
    "actor",
    "actor_name",
    "object_type",
    "object_id",
    "object_label",
    "action",
    "field",
    "before",
    "after",
    "reason",
)


class _Line:
    """A file-like object whose ``write`` hands the line back (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def audit_csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """The header, then the lines of ``entries`` (times in the active time zone)."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        head = [
            timezone.localtime(entry.at).isoformat(timespec="seconds"),
            entry.actor or "",
            entry.actor_name,
            entry.object_type,
            entry.object_id,
            entry.object_label,
            entry.action,
        ]
        changes = entry.changes or (None,)
        for change in changes:
            cells = [
                *head,
                change.field if change else "",
                change.before if change else "",
                change.after if change else "",
                entry.reason,
            ]
            yield writer.writerow([cell_neutralised(cell) for cell in cells])
