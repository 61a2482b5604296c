"""The domain errors every layer raises: plain exceptions with a message, an ``extra`` of
details and the HTTP status they stand for.

Services and the access rules raise these, never DRF's or Django's HTTP exceptions: the API
renders them in the one error shape (``core.api.api_exception_handler``), the web pages turn them
into their 404 and 403 pages (``transform.web.access``), commands print the message.
"""

from http import HTTPStatus
from typing import Any


class DomainError(Exception):
    """A request cannot be carried out; ``status_code`` is the HTTP status it maps to."""

    status_code: int = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ApplicationError(DomainError):
    """A domain rule was broken by the caller's input; ``extra`` says where and what."""


class ConflictError(ApplicationError):
    """The request is valid but clashes with the current state (e.g. a duplicate)."""

    status_code = HTTPStatus.CONFLICT


class NotFoundError(DomainError):
    """The object does not exist, or the caller may not know that it does (another
    organisation's objects look exactly like missing ones)."""

    status_code = HTTPStatus.NOT_FOUND


class PermissionDeniedError(DomainError):
    """The caller can see the object but may not do this with it."""

    status_code = HTTPStatus.FORBIDDEN
