"""Where a value came from in an input file, and the error that names that place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an entry came from: a file, optionally a YAML document number and a line (1-based)."""

    path: str
    document: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.document is not None:
            parts.append(f"document {self.document}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)


class ImportFailure(Exception):
    """An input file is unreadable or inconsistent; nothing has been written."""

    def __init__(self, origin: Origin | str | None, message: str) -> None:
        self.origin = origin
        self.message = message
        super().__init__(f"{origin}: {message}" if origin else message)
