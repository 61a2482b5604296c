"""The request parser of every API view (settings REST_FRAMEWORK DEFAULT_PARSER_CLASSES).

A module of its own: DRF imports it while it builds ``APIView``, so it must not import DRF's
views (``core.api`` does)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """JSON whose nesting is too deep for Python's decoder is a 400 like any malformed JSON (the
    standard parser lets RecursionError through as a 500). Every API view parses with it
    (settings REST_FRAMEWORK DEFAULT_PARSER_CLASSES)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
