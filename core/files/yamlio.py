"""Strict, safe reading of YAML (and JSON, which YAML 1.2 contains) with line numbers.

ruamel.yaml's round-trip loader follows YAML 1.2: ``NO`` stays a string and ``12:30`` is not a
number, duplicate keys are errors, and every mapping and sequence knows its line, so errors can
point at the place in the file. It builds only plain data types (no arbitrary Python objects).

Every document is read within the limits of ``core.files.limits``: the composer below refuses,
while it reads and before anything expands the data, nesting deeper than ``MAX_DEPTH``, aliases
that repeat more than ``MAX_ALIAS_NODES`` nodes (or an alias inside its own anchor), any explicit
tag outside the YAML 1.2 core schema, numbers longer than ``MAX_NUMBER_CHARS`` and NUL characters
written as escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.files.limits import (
    ALIAS_LIMIT,
    CORE_TAGS,
    DEPTH_LIMIT,
    KEY_LIMIT,
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NUMBER_CHARS,
    NUL_LIMIT,
    NUMBER_LIMIT,
    TAG_LIMIT,
    InputRefused,
    file_read,
    line_at,
    text_check,
)
from core.files.origin import ImportFailure, Origin

# More opening brackets in a row than the depth allows. ruamel.yaml's scanner looks ahead over
# every open flow collection (quadratic in their number, half a second for a line of "["), so such
# a line is refused before the scanner sees it; no valid document holds one.
_DEEP_FLOW = re.compile(r"[\[{](?:\s*[\[{]){" + str(MAX_DEPTH) + "}")

_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


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


class _Refusal(Exception):
    """A limit broken at ``line`` (1-based) of the document being composed."""

    def __init__(self, line: int, message: str, limit: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.limit = limit


class _LimitedComposer(Composer):
    """ruamel.yaml's composer with the limits of ``core.files.limits`` checked node by node.

    Composing is where aliases are still shared nodes, so counting here costs nothing however
    far a document would expand; every later step (construction, validation) sees at most
    ``MAX_ALIAS_NODES`` repeated nodes."""

    def compose_document(self: Any) -> Any:
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}
        self._open: set[str] = set()
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            is_key = isinstance(parent, MappingNode) and index is None
            if is_key and target is not None and not isinstance(target, ScalarNode):
                raise _Refusal(line, "a mapping key must be a plain value", KEY_LIMIT)
            if event.anchor in self._open:
                raise _Refusal(
                    line,
                    f"alias *{event.anchor} is inside its own anchor (a recursive structure)",
                    ALIAS_LIMIT,
                )
            node = super().compose_node(parent, index)
            self._alias_nodes += _node_count(node, self._sizes)
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise _Refusal(
                    line,
                    f"aliases repeat more than {MAX_ALIAS_NODES:,} nodes (alias *{event.anchor})",
                    ALIAS_LIMIT,
                )
            return node
        tag = getattr(event, "ctag", None)
        if tag is not None and str(tag) != "!" and str(tag) not in CORE_TAGS:
            raise _Refusal(
                line,
                f"the tag {_shown_tag(str(tag))} is not allowed; only the YAML core-schema "
                "tags (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) are",
                TAG_LIMIT,
            )
        if self.depth >= MAX_DEPTH:
            raise _Refusal(line, f"nested too deeply (more than {MAX_DEPTH} levels)", DEPTH_LIMIT)
        is_collection = isinstance(event, MappingStartEvent | SequenceStartEvent)
        if is_collection and isinstance(parent, MappingNode) and index is None:
            # A mapping or sequence as a key (``? [a, b]``): no format has one, and the loader
            # cannot hash it.
            raise _Refusal(line, "a mapping key must be a plain value", KEY_LIMIT)
        if is_collection and event.anchor is not None:
            self._open.add(event.anchor)
        node = super().compose_node(parent, index)
        if is_collection and event.anchor is not None:
            self._open.discard(event.anchor)
        return node

    def compose_scalar_node(self, anchor: Any) -> Any:
        line = self.parser.peek_event().start_mark.line + 1
        node = super().compose_scalar_node(anchor)
        if "\x00" in node.value:
            raise _Refusal(line, "a NUL character (\\0) is not allowed in text", NUL_LIMIT)
        if str(node.tag) in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            raise _Refusal(
                line,
                f"a number of {len(node.value):,} characters; at most {MAX_NUMBER_CHARS} "
                "are allowed",
                NUMBER_LIMIT,
            )
        return node


def _node_count(node: Node, sizes: dict[int, int]) -> int:
    """How many nodes ``node`` stands for when written out (memoised: aliases share nodes)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    count = 1
    if isinstance(node, SequenceNode):
        count += sum(_node_count(item, sizes) for item in node.value)
    elif isinstance(node, MappingNode):
        count += sum(_node_count(k, sizes) + _node_count(v, sizes) for k, v in node.value)
    elif not isinstance(node, ScalarNode):  # pragma: no cover - ruamel has no other node kinds
        raise TypeError(type(node))
    sizes[id(node)] = count
    return count


def _shown_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def _loader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Composer = _LimitedComposer
    return yaml


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's UTF-8 text read within the limits (``core.files.limits.file_read``); an
    ImportFailure naming the file when it is missing, not a regular file, unreadable, too large,
    not UTF-8 or holds NUL."""
    return file_read(path, max_bytes=max_bytes)


def load_documents(path: str, text: str, *, max_bytes: int = MAX_FILE_BYTES) -> list[YamlDocument]:
    """Every non-empty document of ``text``; syntax errors and duplicate keys raise ImportFailure,
    a broken limit (``core.files.limits``) raises InputRefused naming the line and the limit."""
    text_check(path, text, max_bytes=max_bytes)
    deep = _DEEP_FLOW.search(text)
    if deep is not None:
        raise InputRefused(
            Origin(path, line=line_at(text, deep.start())),
            f"nested too deeply (more than {MAX_DEPTH} levels)",
            limit=DEPTH_LIMIT,
        )
    documents: list[YamlDocument] = []
    try:
        for index, data in enumerate(_loader().load_all(text), start=1):
            if data is None:
                continue
            documents.append(YamlDocument(path, index, data, _start_line(data)))
    except _Refusal as exc:
        raise InputRefused(
            Origin(path, len(documents) + 1, exc.line), exc.message, limit=exc.limit
        ) from None
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
