"""JMESPath selection and ``{{ expr }}`` templates.

A string that is exactly one ``{{ expr }}`` renders to the expression's value,
type kept (a number stays a number); any other string containing templates is
interpolated. A template whose leading name chain (``vars.api_url``) does not
exist in the context is an error naming it, never an empty string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import IncompleteExpressionError, JMESPathError, LexerError, ParseError

from lambdas.errors import TemplateError

TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
OPEN = "{{"

__all__ = [
    "compile_path",
    "describe_error",
    "find_templates",
    "has_template",
    "iter_strings",
    "leading_names",
    "render",
    "render_vars",
    "search",
    "template_problems",
]


@lru_cache(maxsize=1024)
def compile_path(path: str) -> Any:
    """Compile a JMESPath expression once per process.

    Raises:
        JMESPathError: the expression does not parse.
    """
    return jmespath.compile(path)


def search(path: str, data: Any) -> Any:
    """Select from ``data``; a missing path gives None (JMESPath semantics).

    Raises:
        JMESPathError: the expression does not parse or fails on these types.
    """
    return compile_path(path).search(data)


def find_templates(text: str) -> list[str]:
    """The expressions of every ``{{ expr }}`` in ``text``, stripped."""
    return [m.group(1).strip() for m in TEMPLATE.finditer(text)]


def template_problems(text: str) -> list[str]:
    """What is wrong with the templates of one string (empty when all is well).

    Used by the scenario model so that a bad template is caught before a run.
    """
    problems = []
    rest = TEMPLATE.sub("", text)
    if OPEN in rest:
        problems.append("a '{{' is not closed by '}}'")
    for expr in find_templates(text):
        if not expr:
            problems.append("empty template '{{ }}'; expected an expression such as vars.name")
            continue
        try:
            compile_path(expr)
        except JMESPathError as exc:
            problems.append(f"invalid expression {expr!r} in template: {describe_error(exc)}")
    return problems


def iter_strings(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, str]]:
    """Every string inside a JSON value (keys excluded) with its location."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_strings(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from iter_strings(item, (*loc, i))


def has_template(value: Any) -> bool:
    """True when any string inside ``value`` holds a ``{{``."""
    return any(OPEN in text for _, text in iter_strings(value))


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template inside a JSON value over ``context``.

    Raises:
        TemplateError: an unknown name, a null interpolated into a string, or an
            expression that fails.
    """
    if isinstance(value, str):
        return _render_string(value, context)
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def _render_string(text: str, context: Mapping[str, Any]) -> Any:
    if OPEN not in text:
        return text
    whole = TEMPLATE.fullmatch(text)
    if whole and OPEN not in whole.group(1):
        return evaluate(whole.group(1).strip(), context)

    def interpolate(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        value = evaluate(expr, context)
        if value is None:
            raise TemplateError(
                f"template {{{{ {expr} }}}} is null and cannot be put inside the string "
                f"{_cut(text)!r}",
                expression=expr,
            )
        if isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    if OPEN in TEMPLATE.sub("", text):
        raise TemplateError(f"a '{{{{' is not closed in {_cut(text)!r}")
    return TEMPLATE.sub(interpolate, text)


def evaluate(expr: str, context: Mapping[str, Any]) -> Any:
    """Evaluate one template expression, checking its leading names exist.

    Raises:
        TemplateError: see :func:`render`.
    """
    if not expr:
        raise TemplateError("empty template '{{ }}'", expression=expr)
    try:
        compiled = compile_path(expr)
    except JMESPathError as exc:
        message = f"invalid expression {expr!r}: {describe_error(exc)}"
        raise TemplateError(message, expression=expr) from exc
    _check_names(expr, leading_names(compiled.parsed), context)
    try:
        return compiled.search(context)
    except JMESPathError as exc:
        message = f"expression {expr!r} failed: {describe_error(exc)}"
        raise TemplateError(message, expression=expr) from exc


def leading_names(node: Mapping[str, Any]) -> list[str]:
    """The field chain an expression starts with: ``vars.items[0].x`` → ``[vars, items]``."""
    if node["type"] == "field":
        return [node["value"]]
    if node["type"] == "index_expression":
        return leading_names(node["children"][0])
    if node["type"] != "subexpression":
        return []
    names: list[str] = []
    for child in node["children"]:
        if child["type"] == "field":
            names.append(child["value"])
            continue
        if child["type"] == "index_expression":
            names.extend(leading_names(child["children"][0]))
        break
    return names


def _check_names(expr: str, names: list[str], context: Mapping[str, Any]) -> None:
    current: Any = context
    for depth, name in enumerate(names):
        if not isinstance(current, Mapping):
            return
        if name not in current:
            prefix = ".".join(names[:depth]) or "the context"
            known = ", ".join(sorted(str(k) for k in current)) or "none"
            raise TemplateError(
                f"unknown name {'.'.join(names[: depth + 1])!r} in template {{{{ {expr} }}}}; "
                f"{prefix} has: {known}",
                expression=expr,
            )
        current = current[name]


def describe_error(exc: JMESPathError) -> str:
    """jmespath's messages span lines and point with a caret; say it in one line."""
    if isinstance(exc, IncompleteExpressionError):
        return "the expression is incomplete"
    if isinstance(exc, ParseError):
        return f"{exc.msg.lower()} at character {exc.lex_position + 1}"
    if isinstance(exc, LexerError):
        return f"{exc.message.lower()} at character {exc.lexer_position + 1}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_vars(
    definitions: Mapping[str, Any], overrides: Mapping[str, Any], *, run_id: str, now: str
) -> dict[str, Any]:
    """A scenario's vars, rendered in order; an override wins over a definition and
    is not rendered. A var may use ``run_id``, ``now`` and vars before it (and every
    override). The CLI can call this with a dummy run id to catch a missing ``--var``
    before starting anything.

    Raises:
        TemplateError: a var uses an unknown name or a bad expression.
    """
    vars = dict(overrides)
    for name, value in definitions.items():
        if name not in overrides:
            vars[name] = render(value, {"run_id": run_id, "vars": vars, "now": now})
    return vars
