"""Checks spanning fields, on the raw data so that they run even where other parts are
invalid: duplicate step names, ``with`` against each action's params, templates
naming what exists, what a waiting or scoped action may not do, listeners named
and their patterns. Every check asks the action registry for an action's traits,
never its name.
"""

from __future__ import annotations

import difflib
from typing import Any

from itest.lambdas.actions.registry import find_action
from itest.lambdas.conditions import SKIP_NAMES, path_problems
from itest.lambdas.event_patterns import EVENTBRIDGE_OPERATORS, SNS_OPERATORS, pattern_problems
from itest.lambdas.expressions import (
    compile_path,
    find_templates,
    has_template,
    iter_strings,
    name_chains,
    template_problems,
)
from itest.lambdas.template_context import START_NAMES, STEP_NAMES
from itest.lambdas.validation import Loc, explain
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ValidationError

PATH_LISTS = ("expect", "stop_if", "assertions", "skip_if")


def cross_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Checks spanning fields, done on the raw data so they run even when other
    parts are invalid: duplicate names, ``with`` against each action's params,
    templates, ``retry`` without ``expect``."""
    declared = data.get("secrets") if isinstance(data.get("secrets"), dict) else {}

    def templates(
        loc: Loc, value: Any, names: tuple[str, ...] = STEP_NAMES, earlier: Any = None
    ) -> list:
        return _template_problems(loc, value, names, declared, earlier)

    problems = templates(("vars",), data.get("vars"), START_NAMES)
    listeners = data.get("listeners") if isinstance(data.get("listeners"), dict) else {}
    problems += templates(("listeners",), listeners, START_NAMES)
    problems += _pattern_problems(listeners)
    steps = data.get("steps")
    seen: dict[str, int] = {}
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        loc: Loc = ("steps", i)
        name = step.get("name")
        if isinstance(name, str):
            if name in seen:
                message = f"duplicate step name {name!r} (also steps[{seen[name]}])"
                problems.append(((*loc, "name"), message))
            seen.setdefault(name, i)
        action = find_action(step.get("action"))
        if action is not None and action.waits:
            for key in ("retry", "stop_if"):
                if step.get(key):
                    message = (
                        f"a {step['action']} step takes no {key!r}: it waits its window "
                        "(a Wait state) and decides at its end"
                    )
                    problems.append(((*loc, key), message))
        elif step.get("retry") is not None and not step.get("expect"):
            problems.append(((*loc, "retry"), "retry polls until 'expect' passes; add 'expect'"))
        problems += _listener_problems(loc, step, listeners)
        problems += _params_problems(loc, step)
        earlier = [n for n, j in seen.items() if j < i]
        for key in ("with", "expect", "stop_if"):
            problems += templates((*loc, key), step.get(key), earlier=earlier)
        problems += _skip_if_problems((*loc, "skip_if"), step.get("skip_if"), declared)
        cleanup = step.get("cleanup")
        if isinstance(cleanup, dict):
            problems += _cleanup_problems((*loc, "cleanup"), cleanup)
            problems += _params_problems((*loc, "cleanup"), cleanup)
            problems += templates((*loc, "cleanup", "with"), cleanup.get("with"))
            problems += templates((*loc, "cleanup", "expect"), cleanup.get("expect"))
    problems += templates(("assertions",), data.get("assertions"))
    cleanups = data.get("cleanup")
    for i, cleanup in enumerate(cleanups if isinstance(cleanups, list) else []):
        if isinstance(cleanup, dict):
            problems += _cleanup_problems(("cleanup", i), cleanup)
            problems += _params_problems(("cleanup", i), cleanup)
            problems += templates(("cleanup", i, "with"), cleanup.get("with"))
            problems += templates(("cleanup", i, "expect"), cleanup.get("expect"))
    return problems


def _skip_if_problems(loc: Loc, skip_if: Any, declared: dict[str, Any]) -> list[tuple[Loc, str]]:
    """``skip_if`` reads the context without secrets, in its paths and its values."""
    items = skip_if if isinstance(skip_if, list) else []
    problems = [
        ((*loc, i, "path"), message)
        for i, item in enumerate(items)
        if isinstance(item, dict)
        for message in path_problems(item.get("path"))
    ]
    return problems + _template_problems(loc, skip_if, SKIP_NAMES, declared)


def _cleanup_problems(loc: Loc, spec: dict[str, Any]) -> list[tuple[Loc, str]]:
    """An action the registry says cannot be a cleanup (it waits, or belongs to a step)."""
    action = find_action(spec.get("action"))
    refusal = action.cleanup_refusal if action is not None else None
    return [((*loc, "action"), refusal)] if refusal else []


def _pattern_problems(listeners: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Event patterns and filter policies, each problem at its own place."""
    problems: list[tuple[Loc, str]] = []
    for name, listener in listeners.items():
        source = listener.get("eventbridge") if isinstance(listener, dict) else None
        if isinstance(source, dict) and isinstance(source.get("pattern"), dict):
            loc: Loc = ("listeners", name, "eventbridge", "pattern")
            found = pattern_problems(source["pattern"], operators=EVENTBRIDGE_OPERATORS)
            problems += [((*loc, *where), message) for where, message in found]
        source = listener.get("sns") if isinstance(listener, dict) else None
        if isinstance(source, dict) and isinstance(source.get("filter"), dict):
            loc = ("listeners", name, "sns", "filter")
            nested = source.get("filter_scope") == "body"
            found = pattern_problems(source["filter"], operators=SNS_OPERATORS, nested=nested)
            problems += [((*loc, *where), message) for where, message in found]
    return problems


def _listener_problems(
    loc: Loc, step: dict[str, Any], listeners: dict[str, Any]
) -> list[tuple[Loc, str]]:
    """An action naming a listener names one the scenario declares."""
    params, action = step.get("with"), find_action(step.get("action"))
    if action is None or not action.names_listener or not isinstance(params, dict):
        return []
    name = params.get("listener")
    if not isinstance(name, str) or has_template(name) or name in listeners:
        return []
    declared = ", ".join(map(repr, listeners)) or "none: add a 'listeners:' section"
    message = f"unknown listener {name!r}; declared: {declared}"
    close = difflib.get_close_matches(name, list(listeners), n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return [((*loc, "with", "listener"), message)]


def _params_problems(loc: Loc, spec: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Check ``with`` against the action's params model, ignoring templated values
    (their type is known only after rendering)."""
    action, params = find_action(spec.get("action")), spec.get("with", {})
    if action is None or not isinstance(params, dict):
        return []
    model: type[BaseModel] = action.params
    problems = []
    try:
        model.model_validate(params)
    except ValidationError as exc:
        problems = [
            ((*loc, "with", *where), message)
            for where, message in explain(exc, model)
            if not _templated(params, where)
        ]
    if action.check is not None:
        problems += [((*loc, "with", *where), message) for where, message in action.check(params)]
    return problems


def _templated(params: dict[str, Any], where: Loc) -> bool:
    """True when the value at ``where`` (or the string it lies in) holds a template."""
    if not where:
        return False
    current: Any = params
    for part in where:
        if isinstance(current, str):
            break
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return False
    return has_template(current)


def _template_problems(
    loc: Loc,
    value: Any,
    names: tuple[str, ...],
    secrets: dict[str, Any],
    earlier: list[str] | None = None,
) -> list[tuple[Loc, str]]:
    """Templates closed, expressions valid, names known (declared secrets only; in a
    step, ``steps.<name>`` of an earlier step only)."""
    problems = []
    for where, text in iter_strings(value):
        if where and where[-1] == "path" and loc[-1] in PATH_LISTS:
            continue  # `path` is JMESPath, checked by the model
        for message in template_problems(text):
            problems.append(((*loc, *where), message))
        for expr in find_templates(text):
            try:
                chains = name_chains(compile_path(expr).parsed)
            except JMESPathError:
                continue  # reported above
            for chain in chains:
                if chain[0] not in names:
                    problems.append(((*loc, *where), _unknown_root(expr, chain[0], names)))
                elif len(chain) > 1 and chain[0] == "secret" and chain[1] not in secrets:
                    declared = ", ".join(secrets) or "none"
                    message = (
                        f"{{{{ {expr} }}}}: secret {chain[1]!r} is not in 'secrets' ({declared})"
                    )
                    problems.append(((*loc, *where), message))
                elif _names_a_later_step(chain, earlier):
                    before = ", ".join(repr(n) for n in earlier) or "none"
                    message = (
                        f"{{{{ {expr} }}}}: no earlier step is named {chain[1]!r} "
                        f"(a step sees the steps before it: {before})"
                    )
                    problems.append(((*loc, *where), message))
    return problems


def _names_a_later_step(chain: list[str], earlier: list[str] | None) -> bool:
    """``steps.<name>`` in a step's templates, naming no step before it."""
    return earlier is not None and chain[:1] == ["steps"] and len(chain) > 1 and (
        chain[1] not in earlier
    )


def _unknown_root(expr: str, root: str, names: tuple[str, ...]) -> str:
    message = f"{{{{ {expr} }}}}: unknown name {root!r}; templates here can use {', '.join(names)}"
    close = difflib.get_close_matches(root, names, n=1)
    return message + (f" (did you mean {close[0]!r}?)" if close else "")

