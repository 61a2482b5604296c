"""The OpenAPI schema's shared parts (drf-spectacular): the one error shape as a component and
the error responses each operation can give, derived from what the view is rather than repeated
by hand on every endpoint. No domain rules live here.

``error_responses_hook`` is a POSTPROCESSING_HOOK (settings ``SPECTACULAR_SETTINGS``). Per
operation it declares, in the error shape ``{"message", "extra"}`` (``core.api``):

- 400 when it takes a request body or query parameters (validation; ``extra.fields``);
- 401 when the view authenticates (a missing, wrong or expired token);
- 403 when the view needs more than no login (roles), or takes a write with session login (CSRF);
- 404 when the path names an object (ids, slugs) or the list is paginated (a page past the end);
- 409 for writes (a duplicate, a workflow step that the current state does not allow);
- 413 and 415 when it takes a request body (too large, a content type no parser reads);
- 429 when the view has throttles (with ``Retry-After``).

A status an operation already declares with a body (``@extend_schema(responses=...)``) is kept
as it is; one declared without a body (``{404: None}``) gets the error shape.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

ERROR_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every API error: one message, and details under `extra`.",
    "properties": {
        "message": {"type": "string", "description": "What was wrong, in a sentence."},
        "extra": {
            "type": "object",
            "additionalProperties": {},
            "description": (
                "Details. Validation errors list messages per field under `fields` "
                "(field name -> list of messages)."
            ),
        },
    },
    "required": ["message", "extra"],
}
ERROR_DESCRIPTIONS: dict[str, str] = {
    "400": "The request is invalid; field errors are under `extra.fields`.",
    "401": "No valid credentials: the token or session is missing, wrong or expired.",
    "403": "The caller's role does not allow this (or a session login without a CSRF token).",
    "404": (
        "No such object, or it belongs to an organisation where the caller holds no role; "
        "for a list, a page past the last one."
    ),
    "409": "The request is valid but clashes with the current state.",
    "410": "Gone: what the request names can no longer be used; `extra` says why.",
    "413": "The request body is larger than the server accepts.",
    "415": "The request body's content type is not one the operation reads.",
    "429": "Too many requests; retry after the seconds in `Retry-After`.",
}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}


def error_responses_hook(
    *, result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Add the ``Error`` component and each operation's error responses (module docstring), and
    bound the pagination parameters (``page`` and ``page_size`` are whole numbers from 1)."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    views = _views_by_operation(generator)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in UNSAFE_METHODS | {"get"}:
                continue
            view = views.get((path, method))
            responses = operation.setdefault("responses", {})
            # An error status declared without a body (``responses={404: None}``: one the view's
            # shape does not imply, like a token in the body naming nothing) gets the error shape.
            for code, response in responses.items():
                if code in ERROR_DESCRIPTIONS and "content" not in response:
                    responses[code] = _error_response(code)
            for code in _error_statuses(method=method, operation=operation, view=view):
                responses.setdefault(code, _error_response(code))
            _bound_pagination(operation, view)
    return result


def _views_by_operation(generator: Any) -> dict[tuple[str, str], Any]:
    """(path, lower-case method) -> the view instance drf-spectacular documents it from."""
    views: dict[tuple[str, str], Any] = {}
    for path, _path_regex, method, callback in generator.endpoints or []:
        view = generator.create_view(callback, method)
        views[generator.coerce_path(path, method, view), method.lower()] = view
    return views


def _error_statuses(*, method: str, operation: dict[str, Any], view: Any) -> list[str]:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    query = [p for p in parameters if p.get("in") == "query"]
    in_path = [p for p in parameters if p.get("in") == "path"]
    authenticators = list(getattr(view, "authentication_classes", []))
    permissions = list(getattr(view, "permission_classes", []))
    paginated = getattr(view, "pagination_class", None) is not None and any(
        p["name"] == "page" for p in query
    )

    codes = []
    if has_body or query:
        codes.append("400")
    if authenticators:
        codes.append("401")
    needs_role = any(not issubclass(permission, AllowAny) for permission in permissions)
    csrf = method in UNSAFE_METHODS and any(
        issubclass(authenticator, SessionAuthentication) for authenticator in authenticators
    )
    if needs_role or csrf:
        codes.append("403")
    if in_path or paginated:
        codes.append("404")
    if method in UNSAFE_METHODS:
        codes.append("409")
    if has_body:
        codes += ["413", "415"]
    if getattr(view, "throttle_classes", None):
        codes.append("429")
    return codes


def _error_response(code: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if code == "429":
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before the next request.",
                "schema": {"type": "integer"},
            }
        }
    return response


def _bound_pagination(operation: dict[str, Any], view: Any) -> None:
    pagination = getattr(view, "pagination_class", None)
    if pagination is None:
        return
    names = {
        getattr(pagination, "page_query_param", None),
        getattr(pagination, "page_size_query_param", None),
    } - {None}
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        in_query = parameter.get("in") == "query" and parameter["name"] in names
        if in_query and schema.get("type") == "integer":
            schema.setdefault("minimum", 1)
            if parameter["name"] == getattr(pagination, "page_size_query_param", None):
                schema.setdefault("maximum", pagination.max_page_size)
