"""Strict, safe reading of JSON within the limits of ``core.files.limits``.

The standard library's C parser is fast, but on its own it recurses until RecursionError on deep
nesting, converts numbers of up to 4,300 digits, accepts ``NaN`` and lets ``\\u0000`` through.
``json_load`` refuses all of these with the line and the limit; the API's request parser
(``core.parsers``) and the org import's fast JSON path read through it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from core.files.limits import (
    DEPTH_LIMIT,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NUMBER_CHARS,
    NUL_LIMIT,
    NUMBER_LIMIT,
    InputRefused,
    line_at,
    text_check,
)
from core.files.origin import ImportFailure, Origin

_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def json_load(
    path: str, text: str, *, max_bytes: int = MAX_FILE_BYTES, refuse_duplicate_keys: bool = True
) -> Any:
    """The value of the JSON ``text`` (read from ``path``).

    Raises InputRefused (naming the line and the limit) for a text larger than ``max_bytes``,
    NUL characters (raw or ``\\u0000``), nesting deeper than ``MAX_DEPTH`` and numbers longer
    than ``MAX_NUMBER_CHARS``; ImportFailure (with the line) for malformed JSON, ``NaN`` or
    ``Infinity`` and, with ``refuse_duplicate_keys``, a key given twice in one object.
    """
    text_check(path, text, max_bytes=max_bytes)
    # The substring test is a fast C scan; the expression, which tells an escaped NUL from an
    # escaped backslash followed by "u0000", only runs when it could match (10 MB: 5 ms, not 520).
    nul = _ESCAPED_NUL.search(text) if "\\u0000" in text else None
    if nul is not None:
        raise InputRefused(
            Origin(path, line=line_at(text, nul.start())),
            "a NUL character (\\u0000) is not allowed in text",
            limit=NUL_LIMIT,
        )
    depth_line = _too_deep(text)
    if depth_line is not None:
        raise InputRefused(
            Origin(path, line=depth_line),
            f"nested too deeply (more than {MAX_DEPTH} levels)",
            limit=DEPTH_LIMIT,
        )

    def number(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_CHARS:
            raise _NumberTooLong(literal)
        return int(literal) if literal.lstrip("-").isdigit() else float(literal)

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        data = dict(items)
        if refuse_duplicate_keys and len(data) != len(items):
            repeated = [key for key, count in Counter(key for key, _ in items).items() if count > 1]
            raise ValueError(f"duplicate key {repeated[0]!r}")
        return data

    try:
        return json.loads(
            text,
            parse_int=number,
            parse_float=number,
            parse_constant=constant,
            object_pairs_hook=pairs,
        )
    except _NumberTooLong as exc:
        at = text.find(exc.literal)
        raise InputRefused(
            Origin(path, line=line_at(text, at) if at >= 0 else None),
            f"a number of {len(exc.literal):,} characters; at most {MAX_NUMBER_CHARS} are allowed",
            limit=NUMBER_LIMIT,
        ) from None
    except json.JSONDecodeError as exc:
        raise ImportFailure(Origin(path, line=exc.lineno), f"JSON error: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise ImportFailure(Origin(path), f"JSON error: {exc}") from None


class _NumberTooLong(Exception):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _too_deep(text: str) -> int | None:
    """The line where ``text`` first nests deeper than ``MAX_DEPTH`` (strings skipped), if any.

    A regular-expression scan, so the cost is linear and nothing recurses."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line_at(text, match.start())
        elif token in "]}":
            depth -= 1
    return None
