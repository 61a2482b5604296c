"""Large YAML import files read with libyaml's C parser, as plain data without line numbers.

The reference loader (``core.files.yamlio.load_documents``: ruamel.yaml's round-trip loader, pure
Python, every line kept) read a 6.5 MB org file of 50,000 people in about 35 seconds, nine tenths
of it in its scanner and parser. ``load_plain`` lets libyaml (PyYAML's C extension) scan and
parse, and builds the data from its events itself: what the reference loader's documents become
through ``to_plain`` (dicts, lists, str, int, float, bool, None, dates), resolved by ruamel.yaml's
own YAML 1.2 rules (``NO`` stays the text ``NO``), but with no line numbers. A caller that finds a
problem in the data reads the file again with the reference loader to name the line
(``teams.importers.apply.org_import_files`` does).

It never accepts what the reference loader refuses: everything that loader checks or reads in
its own way sends the file to it instead (``None`` is returned), so its refusal and message are
what the caller gets. That is: explicit tags, ``%YAML``/``%TAG`` directives, a key that is not a
plain text, a duplicate key, nesting near ``MAX_DEPTH``, aliases repeating more than
``MAX_ALIAS_NODES`` nodes (counted as they are read, before anything is expanded, exactly as the
reference composer counts them) or an alias inside its own anchor, a NUL character, a number
longer than ``MAX_NUMBER_CHARS``, the line breaks of YAML 1.1 that 1.2 does not have (NEL,
U+2028, U+2029), and any syntax error. What is left is syntax libyaml (YAML 1.1) would read and
ruamel.yaml (1.2) would not, or read otherwise, beyond those line breaks; none is known, and
``tests/teams/test_import_speed_yaml.py`` compares both loaders on the project's YAML files and on
every kind of scalar.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from yaml import events

from core.files.limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_NUMBER_CHARS, text_check
from core.files.yamlio import YamlDocument, to_plain

# None when PyYAML was built without libyaml: the reference loader reads every file then.
_CParser: Any = importlib.import_module("yaml._yaml").CParser if yaml.__with_libyaml__ else None

# Line breaks in YAML 1.1 (libyaml) that are ordinary characters in YAML 1.2.
_YAML11_BREAKS = re.compile("[\x85\u2028\u2029]")
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_NUMBERS = frozenset({_INT, "tag:yaml.org,2002:float"})
# An integer that ruamel.yaml builds as a plain ``int`` (no sign, underscore or leading zero;
# "0" itself is a ScalarInt there).
_PLAIN_INT = re.compile(r"[1-9][0-9]*")


class _Refer(Exception):
    """Something the reference loader checks or reads in its own way: it reads the file."""


def load_plain(path: str, text: str) -> list[YamlDocument] | None:
    """The non-empty documents of ``text`` as plain data (what ``to_plain`` makes of the
    reference loader's), each with the line it starts on; None when the reference loader must
    read it (see the module's docstring). Raises InputRefused only for a text that breaks the
    size or encoding limits (``core.files.limits.text_check``), as the reference loader would."""
    text_check(path, text)
    if _CParser is None or _YAML11_BREAKS.search(text):
        return None
    parser = _CParser(text)
    try:
        return _Builder(parser).documents(path)
    except Exception:  # whatever it is, the reference loader says it precisely
        return None
    finally:
        parser.dispose()


def _resolvers() -> dict[Any, list[tuple[str, Any]]]:
    """ruamel.yaml's implicit resolvers for YAML 1.2, by first character (what its composer
    uses for a plain scalar)."""
    table = VersionedResolver(version=(1, 2)).versioned_resolver
    return {key: [(str(tag), regexp) for tag, regexp in value] for key, value in table.items()}


class _Builder:
    """Plain data from libyaml's events, counting nodes the way ``core.files.yamlio``'s composer
    does; raises _Refer for anything the reference loader must decide."""

    def __init__(self, parser: Any) -> None:
        self._next_event: Callable[[], Any] = parser.get_event
        self._resolvers = _resolvers()
        self._anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, nodes it stands for)
        self._open: set[str] = set()  # anchors of the collections being built
        self._alias_nodes = 0
        self._constructor: Any = None
        self._resolver: Any = None

    def documents(self, path: str) -> list[YamlDocument]:
        found: list[YamlDocument] = []
        event = self._next_event()
        if not isinstance(event, events.StreamStartEvent):
            raise _Refer
        index = 0
        while True:
            event = self._next_event()
            if isinstance(event, events.StreamEndEvent):
                return found
            if not isinstance(event, events.DocumentStartEvent):
                raise _Refer
            if event.version is not None or event.tags:
                raise _Refer
            index += 1
            self._anchors = {}
            self._open = set()
            self._alias_nodes = 0
            first = self._next_event()
            line = first.start_mark.line + 1 if _is_collection(first) else 1
            data, _ = self._node(first, 0)
            if not isinstance(self._next_event(), events.DocumentEndEvent):
                raise _Refer
            if data is not None:
                found.append(YamlDocument(path, index, data, line))

    def _node(self, event: Any, depth: int) -> tuple[Any, int]:
        """The value that starts with ``event`` and how many nodes it stands for."""
        kind = type(event)
        if kind is events.ScalarEvent:
            value = self._scalar(event)
            if event.anchor is not None:
                self._anchors[event.anchor] = (value, 1)
            return value, 1
        if kind is events.AliasEvent:
            anchor = event.anchor
            if anchor in self._open or anchor not in self._anchors:
                raise _Refer
            value, size = self._anchors[anchor]
            self._alias_nodes += size
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise _Refer
            return value, size
        # Well below the reference composer's limit, so that it refuses what is too deep.
        if depth >= MAX_DEPTH - 2 or event.tag is not None:
            raise _Refer
        anchor = event.anchor
        if anchor is not None:
            self._open.add(anchor)
        if kind is events.SequenceStartEvent:
            items: list[Any] = []
            size = 1
            while True:
                child = self._next_event()
                if type(child) is events.SequenceEndEvent:
                    break
                item, item_size = self._node(child, depth + 1)
                items.append(item)
                size += item_size
            collection: Any = items
        elif kind is events.MappingStartEvent:
            mapping: dict[str, Any] = {}
            size = 1
            while True:
                key_event = self._next_event()
                if type(key_event) is events.MappingEndEvent:
                    break
                key = self._key(key_event)
                value, value_size = self._node(self._next_event(), depth + 1)
                if key in mapping:
                    raise _Refer  # a duplicate key: refused by the reference loader
                mapping[key] = value
                size += 1 + value_size
            collection = mapping
        else:
            raise _Refer
        if anchor is not None:
            self._open.discard(anchor)
            self._anchors[anchor] = (collection, size)
        return collection, size

    def _key(self, event: Any) -> str:
        """A mapping key: plain text only (a number, a null or a collection as a key reads
        differently once ``to_plain`` made it a text; the reference loader decides)."""
        if type(event) is not events.ScalarEvent:
            raise _Refer
        value = self._scalar(event)
        if type(value) is not str:
            raise _Refer
        if event.anchor is not None:
            self._anchors[event.anchor] = (value, 1)
        return value

    def _scalar(self, event: Any) -> Any:
        if event.tag is not None:
            raise _Refer
        value: str = event.value
        if "\x00" in value:
            raise _Refer
        if not event.implicit[0]:  # quoted or a block scalar: always a text
            return value
        tag = self._resolve(value)
        if tag == _STR:
            return value
        if tag in _NUMBERS and len(value) > MAX_NUMBER_CHARS:
            raise _Refer
        if event.anchor is None:
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return value.lower() == "true"
            if tag == _INT and _PLAIN_INT.fullmatch(value):
                return int(value)
        # Floats, dates, other integers and anchored values: built as the reference loader's
        # constructor builds them (its int and float subclasses keep how they were written).
        return self._construct(tag, value, event)

    def _resolve(self, value: str) -> str:
        candidates = self._resolvers.get(value[0] if value else "", [])
        for tag, regexp in (*candidates, *self._resolvers.get(None, [])):
            if regexp.match(value):
                return tag
        return _STR

    def _construct(self, tag: str, value: str, event: Any) -> Any:
        if tag not in {_NULL, _BOOL, *_NUMBERS, "tag:yaml.org,2002:timestamp"}:
            raise _Refer  # merge keys ("<<"), "=" and the like
        if self._constructor is None:
            self._constructor = YAML(typ="rt").constructor
            self._resolver = VersionedResolver(version=(1, 2))
        node = ScalarNode(
            self._resolver.resolve(ScalarNode, value, (True, False)),
            value,
            event.start_mark,
            event.end_mark,
            style=None,
            anchor=event.anchor,
        )
        constructed = self._constructor.construct_object(node)
        self._constructor.constructed_objects.pop(node, None)  # one node, never seen again
        return to_plain(constructed)


def _is_collection(event: Any) -> bool:
    return isinstance(event, events.MappingStartEvent | events.SequenceStartEvent)
