"""Strict, safe reading of YAML (and JSON, which YAML 1.2 contains) with line numbers.

ruamel.yaml's round-trip loader follows YAML 1.2: ``NO`` stays a string and ``12:30`` is not a
number, duplicate keys are errors, and every mapping and sequence knows its line, so errors can
point at the place in the file. It builds only plain data types (no arbitrary Python objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from core.files.origin import ImportFailure, Origin


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One document of a (possibly multi-document) YAML file."""

    path: str
    index: int  # 1-based document number
    data: Any  # CommentedMap / CommentedSeq (dict / list subclasses) or a scalar
    start_line: int  # 1-based

    def origin(self, *keys: str | int) -> Origin:
        """The origin of the value at ``keys`` inside this document (as precise as known)."""
        return Origin(self.path, self.index, line_of(self.data, *keys) or self.start_line)


def _loader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def read_text(path: Path) -> str:
    """The file's text, or an ImportFailure naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFailure(str(path), "file not found") from None
    except IsADirectoryError:
        raise ImportFailure(str(path), "is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise ImportFailure(
            str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise ImportFailure(str(path), f"cannot be read: {exc.strerror}") from None


def load_documents(path: str, text: str) -> list[YamlDocument]:
    """Every non-empty document of ``text``; syntax errors and duplicate keys raise ImportFailure."""
    documents: list[YamlDocument] = []
    try:
        for index, data in enumerate(_loader().load_all(text), start=1):
            if data is None:
                continue
            documents.append(YamlDocument(path, index, data, _start_line(data)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        if "duplicate key" in str(exc).lower():
            problem = f"duplicate key: {exc.problem}"
        raise ImportFailure(
            Origin(path, len(documents) + 1, line), f"YAML error: {problem}"
        ) from None
    except YAMLError as exc:
        raise ImportFailure(Origin(path), f"YAML error: {exc}") from None
    return documents


def line_of(node: Any, *keys: str | int) -> int | None:
    """1-based line of the value reached by following ``keys`` from ``node``, or of the deepest
    container reached when a key is missing; None when nothing is known."""
    line = _start_line(node) if isinstance(node, CommentedMap | CommentedSeq) else None
    current = node
    for key in keys:
        if isinstance(current, CommentedMap) and key in current:
            position = current.lc.key(key)
            line = position[0] + 1
            current = current[key]
        elif isinstance(current, CommentedSeq) and isinstance(key, int) and 0 <= key < len(current):
            position = current.lc.item(key)
            line = position[0] + 1
            current = current[key]
        else:
            break
    return line


def to_plain(node: Any) -> Any:
    """The same data as plain dicts, lists and scalars (for validators and comparison)."""
    if isinstance(node, dict):
        return {str(key): to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    if isinstance(node, str):
        return str(node)
    return node


def _start_line(data: Any) -> int:
    if isinstance(data, CommentedMap | CommentedSeq):
        return int(data.lc.line) + 1
    return 1
