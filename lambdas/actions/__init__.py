"""The action registry: one decorated function per action, one module per service.

``@action("dynamodb.get_item", params=GetItemParams)`` adds a function to
:data:`ACTIONS`. Its params model is the contract of the step's ``with``: the
scenario model checks keys before a run, and :func:`run_action` validates the
rendered values. A *family* serves a whole pattern of names:
``aws.<service>.<operation>`` is any boto3 call. Modules import their heavy
clients lazily, so importing the registry (for validation, or a handler's cold
start) stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from itest.lambdas.errors import ActionError, UnknownActionError
from itest.lambdas.validation import Loc, explain, format_loc
from pydantic import BaseModel, ValidationError

ActionFn = Callable[[Any], dict[str, Any]]
Check = Callable[[dict[str, Any]], list[tuple[Loc, str]]]


@dataclass(frozen=True)
class Action:
    """A registered action: its name, params model and the function that runs it.

    ``check`` adds offline checks the params model cannot express (e.g. the
    boto3 parameters of an ``aws.*`` call); it ignores templated values.
    """

    name: str
    params: type[BaseModel]
    run: ActionFn
    check: Check | None = None


ACTIONS: dict[str, Action] = {}
FAMILIES: dict[str, tuple[str, Callable[[str], Action]]] = {}
"""Name prefix → (pattern shown to users, factory): ``aws.`` builds ``aws.sqs.send_message``."""


def action(name: str, *, params: type[BaseModel]) -> Callable[[ActionFn], ActionFn]:
    """Register ``fn(params) -> result`` under ``name``; the result is plain JSON."""

    def register(fn: ActionFn) -> ActionFn:
        if name in ACTIONS:
            raise ValueError(f"action {name!r} is registered twice")
        ACTIONS[name] = Action(name=name, params=params, run=fn)
        return fn

    return register


def family(
    prefix: str, *, pattern: str
) -> Callable[[Callable[[str], Action]], Callable[[str], Action]]:
    """Register a factory for every action named ``<prefix>...``; it raises
    UnknownActionError for a name it cannot serve."""

    def register(factory: Callable[[str], Action]) -> Callable[[str], Action]:
        FAMILIES[prefix] = (pattern, factory)
        return factory

    return register


def known_names() -> list[str]:
    """The registered names, then the patterns of the families (for messages)."""
    return [*sorted(ACTIONS), *(pattern for pattern, _ in FAMILIES.values())]


@cache
def get_action(name: str) -> Action:
    """The action registered under ``name``, or built by its family.

    Raises:
        UnknownActionError: no such action; the message lists the known ones.
    """
    if name in ACTIONS:
        return ACTIONS[name]
    for prefix, (_, factory) in FAMILIES.items():
        if name.startswith(prefix):
            return factory(name)
    raise UnknownActionError(name, known_names())


def run_action(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate rendered ``params`` with the action's model, then run it.

    Raises:
        UnknownActionError: no such action.
        ActionError: parameters invalid (not retryable) or the action failed.
    """
    spec = get_action(name)
    try:
        model = spec.params.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{format_loc(loc) or 'with'}: {message}" for loc, message in explain(exc, spec.params)
        )
        raise ActionError(f"{name}: invalid parameters: {problems}", retryable=False) from None
    return spec.run(model)


def json_or_none(text: str) -> Any:
    """A response body parsed as JSON; None when it is blank or not JSON."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


# Import every service module so the registry is complete (they register on import).
from itest.lambdas.actions import aws_api, dynamodb, http, lambda_, s3, wait  # noqa: E402

__all__ = [
    "ACTIONS",
    "FAMILIES",
    "Action",
    "action",
    "aws_api",
    "dynamodb",
    "family",
    "get_action",
    "http",
    "json_or_none",
    "known_names",
    "lambda_",
    "run_action",
    "s3",
    "wait",
]
