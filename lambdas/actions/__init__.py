"""The action registry: one decorated function per action, one module per service.

``@action("dynamodb.get_item", params=GetItemParams)`` adds a function to
:data:`ACTIONS`. Its params model is the contract of the step's ``with``: the
scenario model checks keys before a run, and :func:`run_action` validates the
rendered values. Modules import their heavy clients lazily, so importing the
registry (for validation, or a handler's cold start) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from lambdas.errors import ActionError, UnknownActionError
from lambdas.validation import explain, format_loc

ActionFn = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """A registered action: its name, params model and the function that runs it."""

    name: str
    params: type[BaseModel]
    run: ActionFn


ACTIONS: dict[str, Action] = {}


def action(name: str, *, params: type[BaseModel]) -> Callable[[ActionFn], ActionFn]:
    """Register ``fn(params) -> result`` under ``name``; the result is plain JSON."""

    def register(fn: ActionFn) -> ActionFn:
        if name in ACTIONS:
            raise ValueError(f"action {name!r} is registered twice")
        ACTIONS[name] = Action(name=name, params=params, run=fn)
        return fn

    return register


def get_action(name: str) -> Action:
    """The action registered under ``name``.

    Raises:
        UnknownActionError: no such action; the message lists the known ones.
    """
    try:
        return ACTIONS[name]
    except KeyError:
        raise UnknownActionError(name, sorted(ACTIONS)) from None


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


# Import every service module so the registry is complete (they register on import).
from lambdas.actions import dynamodb, http, s3  # noqa: E402

__all__ = ["ACTIONS", "Action", "action", "dynamodb", "get_action", "http", "run_action", "s3"]
