"""The limits every structured input is read within, in one place.

Every YAML, JSON and CSV input (files named to a command, uploads, a playbook's ``source``, API
request bodies) passes these checks before anything else looks at it, so that no input can hold a
worker (an alias bomb), crash it (deep nesting, a number Python will not convert, a device file)
or reach the database with bytes it refuses (NUL). docs/import.md "Limits on files and bodies"
lists them for users; a refusal is an ``InputRefused`` naming the file, the line and the limit.

Aliases: YAML anchors and aliases stay allowed (the built-in instruments share their answer labels
with them), but the nodes that aliases repeat are counted as if written out, and a document whose
aliases repeat more than ``MAX_ALIAS_NODES`` nodes is refused while it is being read, before
anything expands it. A ~500-byte "billion laughs" document is refused within milliseconds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from core.files.origin import ImportFailure, Origin

MAX_FILE_BYTES = 32 * 1024 * 1024
"""A file named to a command (org import, signal CSV, playbook): 32 MiB."""

MAX_DEFINITION_BYTES = 1_000_000
"""A playbook or instrument, whether a file, an upload or a JSON ``source``: 1,000,000 bytes."""

MAX_BODY_BYTES = 2_621_440
"""An API request body in JSON: 2.5 MiB (Django's DATA_UPLOAD_MAX_MEMORY_SIZE default)."""

MAX_DEPTH = 64
"""Levels of nesting (mappings, sequences, JSON objects and arrays) in one document."""

MAX_ALIAS_NODES = 10_000
"""Nodes a YAML document's aliases may repeat in total (each alias counts every node it stands
for, nested aliases included)."""

MAX_NUMBER_CHARS = 100
"""Characters of one number (a YAML int or float, a JSON number)."""

CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)
"""The only explicit YAML tags accepted (the YAML 1.2 core schema); ``!!python/...``, ``!!binary``,
``!custom`` and every other tag are refused."""


class InputRefused(ImportFailure):
    """An input breaks one of the limits above; nothing was read from it and nothing stored.

    ``limit`` names the limit in words (``"nesting depth (at most 64 levels)"``), for the API's
    ``extra.limit``."""

    def __init__(self, origin: Origin | str | None, message: str, *, limit: str) -> None:
        super().__init__(origin, message)
        self.limit = limit


def size_limit(max_bytes: int) -> str:
    return f"size (at most {max_bytes:,} bytes)"


NUL_LIMIT = "no NUL characters"
ENCODING_LIMIT = "UTF-8 text"
DEPTH_LIMIT = f"nesting depth (at most {MAX_DEPTH} levels)"
ALIAS_LIMIT = f"alias expansion (at most {MAX_ALIAS_NODES:,} repeated nodes)"
NUMBER_LIMIT = f"number length (at most {MAX_NUMBER_CHARS} characters)"
TAG_LIMIT = "YAML core-schema tags only"
KEY_LIMIT = "plain mapping keys (no mapping or sequence as a key)"


def line_at(text: str, index: int) -> int:
    """The 1-based line of the character at ``index``."""
    return text.count("\n", 0, index) + 1


def text_check(path: str, text: str, *, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse ``text`` (read from ``path``) when it is larger than ``max_bytes`` in UTF-8 or holds
    a NUL character; raises InputRefused naming the file and, for NUL, the line."""
    # A character is at most 4 bytes in UTF-8: encode only when the length leaves a doubt.
    too_large = len(text) > max_bytes or (
        len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
    )
    if too_large:
        raise InputRefused(
            Origin(path),
            f"the file is larger than {max_bytes:,} bytes",
            limit=size_limit(max_bytes),
        )
    nul = text.find("\x00")
    if nul >= 0:
        raise InputRefused(
            Origin(path, line=line_at(text, nul)),
            "a NUL character (byte 0) is not allowed in text",
            limit=NUL_LIMIT,
        )


def bytes_decode(path: str, data: bytes, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """``data`` as UTF-8 text, checked by ``text_check``; InputRefused for another encoding."""
    if len(data) > max_bytes:
        raise InputRefused(
            Origin(path),
            f"the file is larger than {max_bytes:,} bytes",
            limit=size_limit(max_bytes),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputRefused(
            Origin(path, line=data.count(b"\n", 0, exc.start) + 1),
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            limit=ENCODING_LIMIT,
        ) from None
    text_check(path, text, max_bytes=max_bytes)
    return text


def read_limited(stream: Any, max_bytes: int, *, chunk: int = 65_536) -> bytes:
    """At most ``max_bytes + 1`` bytes of ``stream`` (one more than allowed tells "too large").

    Read in chunks: ``read(max_bytes + 1)`` would allocate the whole limit up front for every
    input, however small."""
    parts: list[bytes] = []
    total = 0
    while total <= max_bytes:
        part = stream.read(min(chunk, max_bytes + 1 - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def file_read(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path``, read within the limits.

    Raises ImportFailure naming the file when it is missing, a folder, not a regular file (a
    device such as /dev/zero, a pipe, a socket) or unreadable, and InputRefused when it is larger
    than ``max_bytes``, not UTF-8 or holds NUL. At most ``max_bytes + 1`` bytes are ever read, so
    a file that grows while it is read (or a /proc file that reports size 0) cannot exhaust memory.
    """
    name = str(path)
    try:
        # Non-blocking, so that opening a named pipe does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ImportFailure(name, "file not found") from None
    except OSError as exc:
        raise ImportFailure(name, f"cannot be read: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ImportFailure(name, "is a directory, expected a file")
        raise ImportFailure(
            name, "is not a regular file (a device, pipe or socket); expected a file"
        )
    with os.fdopen(fd, "rb") as handle:
        try:
            data = read_limited(handle, max_bytes)
        except OSError as exc:
            raise ImportFailure(name, f"cannot be read: {exc.strerror}") from None
    return bytes_decode(name, data, max_bytes=max_bytes)
