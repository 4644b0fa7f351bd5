"""The grammar of EventBridge event patterns and SNS filter policies, checked offline.

A listener's pattern is sent to AWS when the run starts; a malformed one
would end the run in error there. Validation checks its shape first (values
are arrays of scalars or of one-operator objects; ``numeric`` alternates
comparison and number...) so ``itest validate`` names the field. Values that
hold a template are left for AWS: their shape is known only after rendering.
"""

from __future__ import annotations

from typing import Any

from itest.lambdas.expressions import has_template
from itest.lambdas.masking import clip
from itest.lambdas.matchers import json_type
from itest.lambdas.validation import Loc

EVENTBRIDGE_OPERATORS = frozenset(
    ("prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case")
) | {"wildcard"}
SNS_OPERATORS = EVENTBRIDGE_OPERATORS - {"wildcard"}
_COMPARISONS = {"<", "<=", "=", ">", ">="}
_TEXT_OPERATORS = {"prefix", "suffix", "cidr", "equals-ignore-case", "wildcard"}


def pattern_problems(
    pattern: Any, *, operators: frozenset[str], nested: bool = True
) -> list[tuple[Loc, str]]:
    """Every problem of an event pattern (or, with SNS's operators, a filter policy);
    ``nested=False``: a filter policy on message attributes, which nests no objects."""
    if has_template(pattern):
        return []
    if not isinstance(pattern, dict) or not pattern:
        kind = json_type(pattern)
        return [((), f"expected a non-empty mapping of field -> [values], got {kind}")]
    return _fields(pattern, (), operators, nested)


def _fields(
    pattern: dict[str, Any], loc: Loc, operators: frozenset[str], nested: bool
) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for key, value in pattern.items():
        where = (*loc, key)
        if has_template(value):
            continue
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                problems.append((where, "$or takes a list of at least two patterns"))
                continue
            for i, option in enumerate(value):
                if isinstance(option, dict) and option:
                    problems += _fields(option, (*where, i), operators, nested)
                else:
                    problems.append(((*where, i), "expected a non-empty mapping (a pattern)"))
        elif isinstance(value, dict):
            if not nested:
                problems.append(
                    (where, "a filter policy on message attributes does not nest: give a list")
                )
            elif not value:
                problems.append((where, "an empty mapping matches nothing: give fields"))
            else:
                problems += _fields(value, where, operators, nested)
        elif isinstance(value, list):
            if not value:
                problems.append((where, "an empty list matches nothing: give at least one value"))
            for i, item in enumerate(value):
                problems += _value((*where, i), item, operators)
        else:
            message = (
                f"expected a list of values or a mapping, got {json_type(value)} "
                f"(write [{_short(value)}] to match that value)"
            )
            problems.append((where, message))
    return problems


def _value(loc: Loc, item: Any, operators: frozenset[str]) -> list[tuple[Loc, str]]:
    if item is None or isinstance(item, str | int | float | bool) or has_template(item):
        return []
    if not isinstance(item, dict):
        return [(loc, f"expected a value or a one-operator mapping, got {json_type(item)}")]
    if len(item) != 1:
        return [(loc, f"a matching operator is a mapping of one key, got {len(item)} keys")]
    ((name, argument),) = item.items()
    if name not in operators:
        known = ", ".join(sorted(operators))
        return [(loc, f"unknown operator {name!r}; known: {known}")]
    where = (*loc, name)
    if has_template(argument):
        return []
    if name == "exists" and not isinstance(argument, bool):
        return [(where, f"expected true or false, got {json_type(argument)}")]
    if name == "numeric":
        return _numeric(where, argument)
    if name == "anything-but":
        return _anything_but(where, argument, operators)
    if name == "prefix" and isinstance(argument, dict):
        return _value(where, argument, frozenset({"equals-ignore-case"}) & operators)
    if name in _TEXT_OPERATORS and not isinstance(argument, str):
        return [(where, f"expected text, got {json_type(argument)}")]
    return []


def _numeric(loc: Loc, argument: Any) -> list[tuple[Loc, str]]:
    ok = (
        isinstance(argument, list)
        and len(argument) in (2, 4)
        and all(
            argument[i] in _COMPARISONS
            and isinstance(argument[i + 1], int | float)
            and not isinstance(argument[i + 1], bool)
            for i in range(0, len(argument), 2)
        )
    )
    if ok:
        return []
    comparisons = ", ".join(sorted(_COMPARISONS))
    message = (
        'expected [comparison, number] or two such pairs, e.g. [">", 0, "<=", 5], with a '
        f"comparison among {comparisons}; got {_short(argument)}"
    )
    return [(loc, message)]


def _anything_but(loc: Loc, argument: Any, operators: frozenset[str]) -> list[tuple[Loc, str]]:
    if argument is None or isinstance(argument, str | int | float | bool):
        return []
    if isinstance(argument, list):
        if argument and all(isinstance(x, str | int | float) for x in argument):
            return []
        return [(loc, "expected a non-empty list of values")]
    if isinstance(argument, dict):
        inner = operators & frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"})
        return _value(loc, argument, inner)
    return [(loc, f"expected a value, a list of values or an operator, got {json_type(argument)}")]


def _short(value: Any) -> str:
    """``value`` as JSON, masked before it is cut (a secret never shows in part)."""
    import json

    return clip(json.dumps(value, default=str), 40)
