"""The action registry: one decorated function per action, one module per service.

``@action("dynamodb.get_item", params=GetItemParams)`` adds a function to
:data:`ACTIONS`. Its params model is the contract of the step's ``with``: the
scenario checks keys before a run, and :func:`run_action` validates the
rendered values. A *family* serves a whole pattern of names:
``aws.<service>.<operation>`` is any boto3 call. Modules import their heavy
clients lazily, so importing the registry (for validation, or a handler's cold
start) stays cheap.

An action's traits are what the engine and validation ask of it, never its
name: ``scoped`` (it belongs to its run: the listener actions read the run's
own queues, ``logs.match`` looks from the run's start; it gets a
:class:`RunScope` and runs only as a step), ``expect`` (how ``expect``
applies: to its result, ``result``; to each candidate until ONE meets all of
it, ``any``; to each candidate as what must NOT be seen, ``none``), ``waits``
(a window of the state machine's Wait state, docs/engine.md: no ``retry``, no
``stop_if``, never a cleanup), ``names_listener`` (``with.listener`` names one
of the scenario's listeners), ``success`` (what a cleanup without ``expect`` is
held to) and ``unchecked`` (why a step without ``expect`` deserves a warning).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from itest.lambdas.errors import ActionError, UnknownActionError
from itest.lambdas.validation import Loc, explain, format_loc
from pydantic import BaseModel, ValidationError

ActionFn = Callable[..., dict[str, Any]]
Check = Callable[[dict[str, Any]], list[tuple[Loc, str]]]
Success = Callable[[Any], str | None]
ExpectMode = Literal["result", "any", "none"]


@dataclass(frozen=True, kw_only=True)
class RunScope:
    """What a scoped action knows of its run (built by the Action handler)."""

    run_id: str
    run_started: float | None  # epoch seconds
    listeners: Mapping[str, str] = field(default_factory=dict)  # name -> eventbridge | sns
    mask: Callable[[Any], Any] = lambda value: value  # secrets out of what is stored


@dataclass(frozen=True, kw_only=True)
class Action:
    """A registered action: its name, params model, the function that runs it, and
    its traits (the module doc).

    ``check`` adds offline checks the params model cannot express (e.g. the
    boto3 parameters of an ``aws.*`` call); it ignores templated values.
    ``scoped``: ``run(params, scope)``. With ``expect`` ``any`` or ``none`` the
    result holds ``candidates``, the list ``expect`` is applied to. ``success``
    returns why a result is not a success (None when it is one).
    """

    name: str
    params: type[BaseModel]
    run: ActionFn
    check: Check | None = None
    scoped: bool = False
    expect: ExpectMode = "result"
    waits: bool = False
    names_listener: bool = False
    success: Success | None = None
    unchecked: str | None = None

    @property
    def cleanup_refusal(self) -> str | None:
        """Why this action cannot be a cleanup action (None: it can)."""
        if self.waits:
            return (
                f"a cleanup cannot wait ({self.name} is a window of the state machine's Wait "
                "state): cleanups run within one Lambda invocation"
            )
        if self.scoped:
            return f"{self.name} runs only as a step, not as a cleanup"
        return None


@dataclass(frozen=True)
class Family:
    """Actions built on demand for every name matching ``names``."""

    pattern: str  # shown to users: aws.<service>.<operation>
    names: re.Pattern[str]  # the names it may serve (the JSON Schema's pattern)
    build: Callable[[str], Action]


ACTIONS: dict[str, Action] = {}
FAMILIES: dict[str, Family] = {}
"""Name prefix → family: ``aws.`` builds ``aws.sqs.send_message``."""


def action(
    name: str,
    *,
    params: type[BaseModel],
    scoped: bool = False,
    expect: ExpectMode = "result",
    waits: bool = False,
    names_listener: bool = False,
    check: Check | None = None,
    success: Success | None = None,
    unchecked: str | None = None,
) -> Callable[[ActionFn], ActionFn]:
    """Register ``fn(params) -> result`` (``fn(params, scope)`` when ``scoped``)
    under ``name`` with its traits; the result is plain JSON.

    Raises:
        ValueError: the name is registered already.
    """

    def register(fn: ActionFn) -> ActionFn:
        if name in ACTIONS:
            raise ValueError(f"action {name!r} is registered twice")
        ACTIONS[name] = Action(
            name=name, params=params, run=fn, check=check, scoped=scoped, expect=expect,
            waits=waits, names_listener=names_listener, success=success, unchecked=unchecked,
        )  # fmt: skip
        return fn

    return register


def family(
    prefix: str, *, pattern: str, names: re.Pattern[str]
) -> Callable[[Callable[[str], Action]], Callable[[str], Action]]:
    """Register a factory for every action named ``<prefix>...``; it raises
    UnknownActionError for a name it cannot serve."""

    def register(factory: Callable[[str], Action]) -> Callable[[str], Action]:
        FAMILIES[prefix] = Family(pattern, names, factory)
        return factory

    return register


def known_names() -> list[str]:
    """The registered names, then the patterns of the families (for messages)."""
    return [*sorted(ACTIONS), *(f.pattern for f in FAMILIES.values())]


@cache
def get_action(name: str) -> Action:
    """The action registered under ``name``, or built by its family.

    Raises:
        UnknownActionError: no such action; the message lists the known ones.
    """
    if name in ACTIONS:
        return ACTIONS[name]
    for prefix, found in FAMILIES.items():
        if name.startswith(prefix):
            return found.build(name)
    raise UnknownActionError(name, known_names())


def find_action(name: Any) -> Action | None:
    """The action named ``name``, or None for anything that names none (for checks
    that leave unknown names to the one that reports them)."""
    if not isinstance(name, str):
        return None
    try:
        return get_action(name)
    except UnknownActionError:
        return None


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
