"""API plumbing shared by every REST view: the exception handler that renders every error in one
shape, pagination, the organisation-slug path parameter, organisation-scoped relation fields,
input validation, query-string filters and reading an uploaded file (the safe JSON parser is
``core.parsers``). No domain rules live here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DataError
from django.db.models import QuerySet
from django.http import Http404
from django_filters import CharFilter, FilterSet, NumberFilter
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from core.bounds import DATE_RANGE_HELP, ID_MAX, day_in_range, id_parse
from core.errors import ApplicationError, DomainError
from core.files.limits import MAX_DEFINITION_BYTES

ORG_SLUG_PARAMETER = OpenApiParameter(
    "org_slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Organisation slug."
)

# A definition file (playbook, instrument) is a few dozen kilobytes; much more is not one.
MAX_UPLOAD_BYTES = MAX_DEFINITION_BYTES


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER: every API error body is ``{"message": str, "extra":
    {...}}``. Field errors from serializers go under ``extra.fields`` as DRF reports them (field
    name -> list of messages)."""
    if isinstance(exc, DomainError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    if isinstance(exc, DataError | OverflowError):
        # A value the database cannot hold (a number beyond its integer range) that validation
        # let through: the request is wrong, not the server; nothing was written.
        return Response(
            {
                "message": "A value in the request is out of the range the database can store.",
                "extra": {},
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = response.data
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {"message": "Validation error", "extra": {"fields": fields}}
    else:
        response.data = {"message": _detail_text(response.data), "extra": {}}
    return response


def _detail_text(data: Any) -> str:
    """DRF's ``{"detail": ...}`` (or a bare detail) as one message."""
    detail = data.get("detail", data) if isinstance(data, dict) else data
    return str(detail)


def _django_validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"non_field_errors": exc.messages}


def field_error(field: str, message: str) -> ApplicationError:
    """A 400 in the error shape naming the query or body ``field``."""
    return ApplicationError(message, extra={"fields": {field: [message]}})


class ApiPagination(PageNumberPagination):
    """``?page=N``, 50 rows a page by default, ``?page_size=`` from 1 to 1,000.

    Both are whole numbers of ASCII digits from 1; anything else, an empty value, ``null`` and a
    page size beyond 1,000 included, is a 400 naming the parameter (a size is honoured or
    refused, never silently cut) (DRF would quietly fall back to the default size, or
    answer 404 for a page that is not a number). A page beyond the last is DRF's 404."""

    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int | None:
        if self.page_size_query_param not in request.query_params:
            return self.page_size
        text = request.query_params[self.page_size_query_param]
        size = id_parse(text)
        if size is None or size > self.max_page_size:
            raise field_error(
                "page_size",
                f"Expected a whole number of rows from 1 to {self.max_page_size}; "
                f"got '{text[:40]}'. Ask for the next page for more.",
            )
        return size

    def get_page_number(self, request: Request, paginator: Any) -> int | str:
        text = request.query_params.get(self.page_query_param)
        if text is None or text in self.last_page_strings:
            return super().get_page_number(request, paginator)
        number = id_parse(text)
        if number is None:
            raise field_error(
                "page", f"Expected a page number from 1 or 'last'; got '{text[:40]}'."
            )
        return number


class IdField(serializers.IntegerField):
    """A row id in a request body: ASCII digits (or a JSON number) from 1 to ``ID_MAX``; anything
    else is a 400 naming the field."""

    default_error_messages = {"invalid": "Expected an id: a whole number from 1 to {max_id}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        number = id_parse(data)
        if number is None:
            self.fail("invalid", max_id=ID_MAX)
        return number


class BoundedDateField(serializers.DateField):
    """A day (YYYY-MM-DD) from ``DATE_MIN`` to ``DATE_MAX``: the first and the last days Python
    can hold are refused alike, with a 400 naming the field."""

    def to_internal_value(self, value: Any) -> dt.date:
        day = super().to_internal_value(value)
        if not day_in_range(day):
            raise serializers.ValidationError(f"Expected {DATE_RANGE_HELP}; got {day.isoformat()}.")
        return day


class IdFormField(forms.Field):
    """A row id in a query string (django-filter): as ``IdField``."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        number = id_parse(value)
        if number is None:
            raise forms.ValidationError(f"Expected an id: a whole number from 1 to {ID_MAX}.")
        return number


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": ID_MAX})
class IdFilter(NumberFilter):
    """A query-string filter whose value is a row id (``IdFormField``): a 400 naming the field
    for anything else (non-ASCII digits, a number beyond the database's bigint)."""

    field_class = IdFormField


def paginated_response(
    *,
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    serializer_class: type[serializers.BaseSerializer],
    context: dict[str, Any] | None = None,
) -> Response:
    """One page of ``queryset`` serialized with ``serializer_class`` (given ``context``), in the
    paginated shape."""
    paginator = ApiPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


class SlugFilter(CharFilter):
    """A query-string filter whose value must be a slug (a 400 naming the field otherwise)."""

    field_class = forms.SlugField


def filtered(
    filterset_class: type[FilterSet], *, request: Request, queryset: QuerySet[Any], **kwargs: Any
) -> QuerySet[Any]:
    """``queryset`` filtered by the query string through ``filterset_class`` (django-filter), as
    ``DjangoFilterBackend`` does for generic views: an invalid value is a 400 naming the field.
    ``kwargs`` go to the filter set (e.g. the organisation a slug must belong to). Views that use
    it also declare ``filter_backends = [DjangoFilterBackend]`` and ``filterset_class``, so the
    schema documents the filters."""
    filterset = filterset_class(request.query_params, queryset=queryset, request=request, **kwargs)
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset.qs


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """``data`` checked by ``serializer_class``; a 400 in the error shape otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OrgScopedSlugRelatedField(serializers.SlugRelatedField):
    """A slug of a row in the request's organisation; another organisation's slug does not exist."""

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        assert queryset is not None, "declare the field with a queryset of the related model"
        return queryset.filter(organization=self.context["organization"])


class OrgScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of a row in the request's organisation; another organisation's id does not exist."""

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        assert queryset is not None, "declare the field with a queryset of the related model"
        return queryset.filter(organization=self.context["organization"])


def uploaded_text(upload: UploadedFile, *, max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[str, str]:
    """The name and UTF-8 text of an uploaded definition file.

    Raises ``ApplicationError`` (400) for a file larger than ``max_bytes`` or not UTF-8; the
    error names the file as file-format errors do (``extra.file``, ``line``, ``path``) and as a
    field error (``extra.fields.file``)."""
    name = upload.name or "upload"
    if (upload.size or 0) > max_bytes:
        problem = f"the file is larger than {max_bytes} bytes"
    else:
        try:
            return name, upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    message = f"{name}: {problem}."
    raise ApplicationError(
        message, extra={"file": name, "line": None, "path": None, "fields": {"file": [message]}}
    )
