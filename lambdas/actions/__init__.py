"""The action registry: one decorated function per action, one module per service.

``@action("dynamodb.get_item", params=GetItemParams)`` adds a function to
:data:`ACTIONS`. Its params model is the contract of the step's ``with``: the
scenario model checks keys before a run, and :func:`run_action` validates the
rendered values. A *family* serves a whole pattern of names:
``aws.<service>.<operation>`` is any boto3 call. Modules import their heavy
clients lazily, so importing the registry (for validation, or a handler's cold
start) stays cheap.

A few actions belong to their run rather than to the system under test
(``scoped``): the listener actions read the run's own queues, ``logs.match``
looks from the run's start. They get a :class:`RunScope` beside their params.
How ``expect`` applies is the action's ``expect``: to its result (``result``),
to each candidate until ONE meets all of it (``any``), or to each candidate as
what must NOT be seen (``none``). A ``waits`` action is a window of the state
machine's Wait state (docs/engine.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from itest.lambdas.errors import ActionError, UnknownActionError
from itest.lambdas.validation import Loc, explain, format_loc
from pydantic import BaseModel, ValidationError

ActionFn = Callable[..., dict[str, Any]]
Check = Callable[[dict[str, Any]], list[tuple[Loc, str]]]
ExpectMode = Literal["result", "any", "none"]


@dataclass(frozen=True, kw_only=True)
class RunScope:
    """What a scoped action knows of its run (built by the Action handler)."""

    run_id: str
    run_started: float | None  # epoch seconds
    listeners: Mapping[str, str] = field(default_factory=dict)  # name -> eventbridge | sns
    mask: Callable[[Any], Any] = lambda value: value  # secrets out of what is stored


@dataclass(frozen=True)
class Action:
    """A registered action: its name, params model and the function that runs it.

    ``check`` adds offline checks the params model cannot express (e.g. the
    boto3 parameters of an ``aws.*`` call); it ignores templated values.
    ``scoped``: ``run(params, scope)``; ``expect``/``waits``: see the module doc.
    With ``any`` or ``none`` the result holds ``candidates``, the list ``expect``
    is applied to.
    """

    name: str
    params: type[BaseModel]
    run: ActionFn
    check: Check | None = None
    scoped: bool = False
    expect: ExpectMode = "result"
    waits: bool = False


ACTIONS: dict[str, Action] = {}
FAMILIES: dict[str, tuple[str, Callable[[str], Action]]] = {}
"""Name prefix → (pattern shown to users, factory): ``aws.`` builds ``aws.sqs.send_message``."""


def action(
    name: str,
    *,
    params: type[BaseModel],
    scoped: bool = False,
    expect: ExpectMode = "result",
    waits: bool = False,
    check: Check | None = None,
) -> Callable[[ActionFn], ActionFn]:
    """Register ``fn(params) -> result`` (``fn(params, scope)`` when ``scoped``)
    under ``name``; the result is plain JSON."""

    def register(fn: ActionFn) -> ActionFn:
        if name in ACTIONS:
            raise ValueError(f"action {name!r} is registered twice")
        ACTIONS[name] = Action(
            name=name, params=params, run=fn, check=check, scoped=scoped, expect=expect,
            waits=waits,
        )
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


def run_action(name: str, params: dict[str, Any], scope: RunScope | None = None) -> dict[str, Any]:
    """Validate rendered ``params`` with the action's model, then run it.

    Raises:
        UnknownActionError: no such action.
        ActionError: parameters invalid (not retryable), a scoped action run
            outside a step, or the action failed.
    """
    spec = get_action(name)
    try:
        model = spec.params.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{format_loc(loc) or 'with'}: {message}" for loc, message in explain(exc, spec.params)
        )
        raise ActionError(f"{name}: invalid parameters: {problems}", retryable=False) from None
    if not spec.scoped:
        return spec.run(model)
    if scope is None:
        raise ActionError(f"{name} runs only as a step of a run", retryable=False)
    return spec.run(model, scope)


def json_or_none(text: str) -> Any:
    """A response body parsed as JSON; None when it is blank or not JSON."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


# Import every service module so the registry is complete (they register on import).
from itest.lambdas.actions import (  # noqa: E402
    aws_api,
    dynamodb,
    http,
    lambda_,
    listener,
    logs,
    s3,
    wait,
)

__all__ = [
    "ACTIONS",
    "FAMILIES",
    "Action",
    "RunScope",
    "action",
    "aws_api",
    "dynamodb",
    "family",
    "get_action",
    "http",
    "json_or_none",
    "known_names",
    "lambda_",
    "listener",
    "logs",
    "run_action",
    "s3",
    "wait",
]
