"""Turning pydantic validation errors into messages a person editing a YAML file can act on.

Shared by every file format validated with pydantic (the org format, playbooks): the field path
as the file shows it (``teams[2].type``) and what was expected, in plain words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel


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
