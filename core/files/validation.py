"""Turning pydantic validation errors into messages a person editing a YAML file can act on.

Shared by every file format validated with pydantic (the org format, playbooks, instruments): the
field path as the file shows it (``teams[2].type``) and what was expected, in plain words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError

from core.errors import ApplicationError
from core.files.limits import MAX_DEFINITION_BYTES, InputRefused
from core.files.origin import ImportFailure, Origin
from core.files.yamlio import YamlDocument, line_of, load_documents, to_plain


def field_path(loc: Sequence[str | int]) -> str:
    """``('phases', 0, 'milestones', 1, 'key')`` as ``phases[0].milestones[1].key``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(document)"


def explain_error(
    error: Any, *, root: type[BaseModel], union_tags: Mapping[str, type[BaseModel]] | None = None
) -> str:
    """What was expected at the place a pydantic ``error`` points to, in plain words.

    ``root`` is the model validated; ``union_tags`` maps the tags pydantic puts into locations of
    tagged unions to the model each tag stands for (for "unknown field" messages).
    """
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    shown = isinstance(value, str | int | float | bool | dt.date)
    got = f"; got {value!r}" if shown else ""
    got_type = got or f"; got {type(value).__name__}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        allowed = allowed_fields(root, tuple(error["loc"])[:-1], union_tags or {})
        return "unknown field" + (f"; expected one of {', '.join(allowed)}" if allowed else "")
    if kind in {"enum", "literal_error"}:
        expected = str(ctx.get("expected", ""))
        if " or " not in expected:  # a single allowed value, e.g. the format marker
            return f"expected {expected}{got}"
        return f"expected one of {expected.replace(chr(39), '').replace(' or ', ', ')}{got}"
    if kind == "string_pattern_mismatch":
        return f"expected a slug (letters, digits, hyphens and underscores){got}"
    if kind == "string_too_short":
        return "expected a non-empty text"
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters"
    if kind == "string_type":
        return f"expected a text{got_type}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"expected a whole number{got_type}"
    if kind in {"float_type", "float_parsing"}:
        return f"expected a number{got_type}"
    if kind == "greater_than_equal":
        return f"expected a number of at least {ctx.get('ge')}{got}"
    if kind == "less_than_equal":
        return f"expected a number of at most {ctx.get('le')}{got}"
    if kind.startswith("date_"):
        return f"expected a date (YYYY-MM-DD){got}"
    if kind == "list_type":
        return f"expected a list{got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s)"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"expected a mapping of fields{got}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']}{got}"


def allowed_fields(
    root: type[BaseModel],
    loc: tuple[str | int, ...],
    union_tags: Mapping[str, type[BaseModel]],
) -> list[str]:
    """The field names of the model found at ``loc`` inside ``root`` (empty when unknown)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if part in union_tags:
            model = union_tags[part]
            continue
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        field = model.model_fields.get(part) if is_model else None
        if field is None:
            return []
        annotation = field.annotation
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        model = annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


class FileFormatError(ImportFailure):
    """A definition file (playbook, survey instrument, ...) is invalid; nothing was stored.

    ``str()`` reads ``file, document 1, line 12: phases[0].milestones[1].duration_days: ...``.
    ``field`` is the path of the first offending field (None for file-level errors) and
    ``problems`` lists every error found as (origin, field path, message); ``limit`` names the
    limit of ``core.files.limits`` the file broke, when that is why it was refused.
    """

    def __init__(
        self,
        origin: Origin | str | None,
        message: str,
        *,
        field: str | None = None,
        problems: Sequence[tuple[Origin, str, str]] = (),
        limit: str | None = None,
    ) -> None:
        super().__init__(origin, message)
        self.field = field
        self.problems = list(problems)
        self.limit = limit


MAX_PROBLEMS_SHOWN = 20

E = TypeVar("E", bound=FileFormatError)
M = TypeVar("M", bound=BaseModel)


def single_document(path: str, text: str, *, what: str, error: type[E]) -> YamlDocument:
    """The one YAML document of a definition file (strict YAML 1.2, duplicate keys refused, read
    within the limits of ``core.files.limits`` for definitions); raises ``error`` for YAML
    errors, a broken limit, an empty file or several documents."""
    try:
        documents = load_documents(path, text, max_bytes=MAX_DEFINITION_BYTES)
    except InputRefused as exc:
        raise error(exc.origin, exc.message, limit=exc.limit) from None
    except ImportFailure as exc:
        raise error(exc.origin, exc.message) from None
    if not documents:
        raise error(Origin(path), f"the file is empty; expected one {what}")
    if len(documents) > 1:
        extra = documents[1]
        raise error(
            Origin(path, extra.index, extra.start_line),
            f"expected one {what} per file; found {len(documents)} documents",
        )
    return documents[0]


def document_validate(
    doc: YamlDocument,
    model: type[M],
    *,
    error: type[E],
    union_tags: Mapping[str, type[BaseModel]] | None = None,
) -> M:
    """``doc`` validated by ``model``; every schema problem is raised as one ``error``, each at
    its own line with the field path and what was expected."""
    try:
        return model.model_validate(to_plain(doc.data))
    except ValidationError as exc:
        tags = union_tags or {}
        problems: list[tuple[Origin, str, str]] = []
        for item in exc.errors(include_url=False):
            loc = tuple(part for part in item["loc"] if part not in tags)
            origin = doc.origin(*loc) if line_of(doc.data, *loc) is not None else doc.origin()
            problems.append(
                (origin, field_path(loc), explain_error(item, root=model, union_tags=tags))
            )
        raise problems_error(problems, error=error) from None


def problems_error(problems: Sequence[tuple[Origin, str, str]], *, error: type[E]) -> E:
    """One ``error`` for several problems: the first names the place, the rest follow."""
    origin, field, message = problems[0]
    lines = [f"{field}: {message}"]
    lines += [f"{o}: {f}: {m}" for o, f, m in problems[1:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more errors")
    return error(origin, "\n".join(lines), field=field, problems=problems)


def file_format_error(
    exc: FileFormatError, *, what: str, fields: dict[str, list[str]] | None = None
) -> ApplicationError:
    """The API and command form of an invalid definition file (``what``: "playbook",
    "instrument"): the message names file, line and field; ``extra`` carries ``file``, ``line``,
    ``path``, every problem found (``errors``) and, when given, ``fields``."""
    origin = exc.origin
    file = origin if isinstance(origin, str) else (origin.path if origin else None)
    extra: dict[str, Any] = {
        "file": file,
        "line": getattr(origin, "line", None),
        "path": exc.field,
        "errors": [
            {"file": where.path, "line": where.line, "path": field, "message": message}
            for where, field, message in exc.problems
        ],
    }
    if exc.limit is not None:
        extra["limit"] = exc.limit
    if fields is not None:
        extra["fields"] = fields
    return ApplicationError(f"Invalid {what}: {exc}", extra=extra)
