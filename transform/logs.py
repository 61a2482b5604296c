"""Log lines for operators (docs/deployment.md#logs): plain text by default, one JSON object per
line with ``LOG_FORMAT=json`` (python-json-logger), and each web request's id in both.

A JSON line holds ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
``request_id`` (the request's id, or null outside a request), ``exc_info`` (the traceback, when
there is one) and any ``extra=`` fields the call passed.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is taken as it comes when it looks like one (letters, digits, -_.:), else replaced:
# it ends up in every log line of the request, so it must not carry anything else.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "transform_request_id", default=None
)


def current_request_id() -> str | None:
    """The id of the web request being served in this thread or task, or None."""
    return _current_request_id.get()


class RequestIdMiddleware:
    """Give each request an id: the ``X-Request-ID`` a proxy sent, or a new one. Its log lines
    carry it (``RequestIdFilter``) and the response returns it, so a user's report of a failed
    request finds its lines."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        # Kept until the request is finished (``request_finished``), not only while the
        # middleware runs: Django logs a 4xx or 5xx answer ("Not Found: /x/") after every
        # middleware has returned, and that line needs the id most.
        _current_request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _request_id_clear(**kwargs: Any) -> None:
    _current_request_id.set(None)


request_finished.connect(_request_id_clear, dispatch_uid="transform.logs.request_id_clear")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request); lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per record with the fields of the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)
