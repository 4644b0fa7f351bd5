"""Strict pydantic models and pydantic errors translated for people.

A user never sees a raw pydantic dump: every error becomes a location such as
``steps['create order'].with.url`` and a message saying what was expected.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

from itest.lambdas.matchers import json_type, show
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
Loc = tuple[str | int, ...]


class Strict(BaseModel):
    """Base of every model: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def explain(exc: ValidationError, model: type[BaseModel]) -> list[tuple[Loc, str]]:
    """Every error of ``exc`` as (location, message), in the order pydantic found them."""
    return [explain_error(error, model) for error in exc.errors(include_url=False)]


def explain_error(error: ErrorDetails, model: type[BaseModel]) -> tuple[Loc, str]:
    """One pydantic error as (location, message); missing and unknown fields are
    reported at their parent, naming the field."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return loc[:-1], f"{loc[-1]!r} is required"
    if kind == "extra_forbidden":
        return loc[:-1], _unknown_field(str(loc[-1]), known_fields(model, loc[:-1]))
    got = f", got {json_type(value)} {show(value, 60)}"
    if kind in ("value_error", "assertion_error"):
        return loc, str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return loc, f"expected {ctx.get('expected')}{got}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        symbol = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        bound = next(iter(ctx.values()), "?")
        return loc, f"expected a number {symbol} {bound}{got}"
    if kind in ("too_short", "string_too_short"):
        return loc, f"expected at least {ctx.get('min_length', 1)} item(s) or character(s){got}"
    if kind == "string_pattern_mismatch":
        return loc, f"expected text matching {ctx.get('pattern')}{got}"
    expected = _EXPECTED.get(kind)
    if expected:
        return loc, f"expected {expected}{got}"
    return loc, f"{error['msg'][:1].lower()}{error['msg'][1:]}{got}"


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


def _unknown_field(name: str, known: list[str]) -> str:
    message = f"unknown field {name!r}"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    if known:
        message += f" Expected one of: {', '.join(known)}"
    return message


def known_fields(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys accepted by the model found at ``loc`` under ``model`` (by alias)."""
    target: Any = model
    for part in loc:
        target = _step_into(target, part)
        if target is None:
            return []
    target = _unwrap_optional(target)
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        return []
    return [field.alias or name for name, field in target.model_fields.items()]


def _step_into(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and isinstance(part, int) and args:
        return args[0]
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    return None


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def format_loc(loc: Loc, data: Any = None) -> str:
    """``('steps', 1, 'with', 'url')`` → ``steps['create order'].with.url``.

    A list item that has a string ``name`` in ``data`` is shown by that name.
    """
    text = ""
    current = data
    for part in loc:
        if isinstance(part, int):
            item = current[part] if isinstance(current, list) and part < len(current) else None
            name = item.get("name") if isinstance(item, Mapping) else None
            text += f"[{name!r}]" if _unique_name(current, name) else f"[{part}]"
            current = item
        else:
            if IDENTIFIER.fullmatch(part):
                text += f".{part}" if text else part
            else:
                text += f"[{part!r}]"
            current = current.get(part) if isinstance(current, Mapping) else None
    return text


def _unique_name(items: list[Any], name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    return sum(isinstance(i, Mapping) and i.get("name") == name for i in items) == 1
