"""Where a value came from in an input file, and the error that names that place."""

from __future__ import annotations

from dataclasses import dataclass, field


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


# More problems than this in one import are summarised: the first ones are what the author fixes
# (docs/import.md, "Errors").
MAX_ERRORS_SHOWN = 20


@dataclass(slots=True)
class ImportErrors:
    """Problems collected while reading, so that one run reports them all (the first
    ``MAX_ERRORS_SHOWN``, then how many more) instead of stopping at the first."""

    failures: list[ImportFailure] = field(default_factory=list)

    def add(self, failure: ImportFailure) -> None:
        self.failures.append(failure)

    def __len__(self) -> int:
        return len(self.failures)

    def raise_if_any(self) -> None:
        """Raise one ImportFailure: the first problem's origin and message, then one line
        ``<origin>: <message>`` per further problem up to the limit, then ``... and N more
        errors``. Does nothing when nothing was collected."""
        if not self.failures:
            return
        first, *rest = self.failures[:MAX_ERRORS_SHOWN]
        lines = [first.message, *(str(failure) for failure in rest)]
        if len(self.failures) > MAX_ERRORS_SHOWN:
            lines.append(f"... and {len(self.failures) - MAX_ERRORS_SHOWN} more errors")
        raise ImportFailure(first.origin, "\n".join(lines))
