"""The request parser of every API view (settings REST_FRAMEWORK DEFAULT_PARSER_CLASSES).

A module of its own: DRF imports it while it builds ``APIView``, so it must not import DRF's
views (``core.api`` does)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from rest_framework.parsers import BaseParser

from core.errors import ApplicationError
from core.files.jsonio import json_load
from core.files.limits import MAX_BODY_BYTES, InputRefused, read_limited, size_limit
from core.files.origin import ImportFailure

BODY = "request body"


class RequestBodyTooLargeError(ApplicationError):
    """The request body is larger than the API accepts (``MAX_BODY_BYTES``)."""

    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class SafeJSONParser(BaseParser):
    """JSON request bodies read by the safe reader (``core.files.jsonio.json_load``): at most
    ``MAX_BODY_BYTES`` (413), UTF-8, no NUL, nesting and number length within the limits of
    ``core.files.limits`` (400). Every refusal is an ``ApplicationError``, so the API answers it
    in the one error shape with ``extra`` naming the ``file`` ("request body"), ``line`` and
    ``limit``.

    Not a subclass of DRF's JSONParser on purpose: DRF reads ``request.body`` whole for those
    before the parser runs, and Django refuses a large body there with an HTML page; this parser
    reads the stream itself, in chunks, never more than the limit plus one byte."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = read_limited(stream, MAX_BODY_BYTES) if stream is not None else b""
        if len(data) > MAX_BODY_BYTES:
            raise RequestBodyTooLargeError(
                f"The request body is larger than {MAX_BODY_BYTES:,} bytes.",
                extra={"file": BODY, "line": None, "limit": size_limit(MAX_BODY_BYTES)},
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApplicationError(
                f"JSON parse error - the request body is not UTF-8 text ({exc.reason} at byte "
                f"{exc.start}).",
                extra={"file": BODY, "line": None, "limit": "UTF-8 text"},
            ) from None
        try:
            return json_load(BODY, text, max_bytes=MAX_BODY_BYTES, refuse_duplicate_keys=False)
        except InputRefused as exc:
            raise ApplicationError(
                f"JSON parse error - {exc}.",
                extra={"file": BODY, "line": getattr(exc.origin, "line", None), "limit": exc.limit},
            ) from None
        except ImportFailure as exc:
            # Malformed JSON keeps DRF's message and empty extra; the message names the line.
            raise ApplicationError(f"JSON parse error - {exc}.") from None
