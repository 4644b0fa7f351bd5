"""JMESPath selection and ``{{ expr }}`` templates.

A string that is exactly one ``{{ expr }}`` renders to the expression's value,
type kept (a number stays a number); any other string containing templates is
interpolated. A template whose leading name chain (``vars.api_url``) does not
exist in the context is an error naming it, never an empty string.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jmespath
from itest.lambdas.errors import TemplateError
from itest.lambdas.masking import clip
from itest.lambdas.template_context import StartContext
from jmespath.exceptions import IncompleteExpressionError, JMESPathError, LexerError, ParseError

TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
OPEN = "{{"
TEXT_LIMIT = 80
"""How much of a template's text an error message quotes."""

__all__ = [
    "compile_path",
    "describe_error",
    "find_templates",
    "has_template",
    "iter_strings",
    "name_chains",
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
                f"{clip(text, TEXT_LIMIT)!r}",
                expression=expr,
            )
        if isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    if OPEN in TEMPLATE.sub("", text):
        raise TemplateError(f"a '{{{{' is not closed in {clip(text, TEXT_LIMIT)!r}")
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
    _check_names(expr, name_chains(compiled.parsed), context)
    try:
        return compiled.search(context)
    except JMESPathError as exc:
        message = f"expression {expr!r} failed: {describe_error(exc)}"
        raise TemplateError(message, expression=expr) from exc


PROJECTIONS = ("projection", "filter_projection", "value_projection", "flatten")
SAME_NODE = (
    "function_expression", "or_expression", "and_expression", "not_expression", "comparator",
    "multi_select_list", "multi_select_dict", "key_val_pair",
)  # fmt: skip


def name_chains(node: Mapping[str, Any]) -> list[list[str]]:
    """Every field chain evaluated against the context itself, e.g.
    ``join(',', vars.tags) || vars.x`` → ``[[vars, tags], [vars, x]]``.

    Chains inside a projection's right side or a filter are relative to the
    elements, not the context, so they are not listed; nor are the alternatives
    of ``a || b`` and ``not_null(a, b)`` but the last (a fallback is their point).
    """
    kind = node["type"]
    children = node.get("children") or []
    if kind == "field":
        return [[node["value"]]]
    if kind == "subexpression":
        chains = name_chains(children[0])
        if len(chains) != 1 or children[0]["type"] not in ("field", "index_expression"):
            return chains
        chain = list(chains[0])
        for child in children[1:]:
            if child["type"] == "field":
                chain.append(child["value"])
                continue
            if child["type"] in ("index_expression", *PROJECTIONS) and child["children"]:
                inner = name_chains(child["children"][0])
                if child["children"][0]["type"] in ("field", "subexpression") and inner:
                    chain.extend(inner[0])
            break
        return [chain]
    if kind == "index_expression" or kind in PROJECTIONS or kind == "pipe":
        return name_chains(children[0]) if children else []
    if kind == "or_expression" or (kind == "function_expression" and node["value"] == "not_null"):
        # `vars.x || 'default'`: a missing name on the left is what the fallback is for
        return name_chains(children[-1]) if children else []
    if kind in SAME_NODE:
        return [chain for child in children for chain in name_chains(child)]
    return []


def expression_vars(expr: str) -> list[str]:
    """The `X` of every `vars.X` an expression reads ([] when it does not compile)."""
    try:
        chains = name_chains(compile_path(expr).parsed)
    except JMESPathError:
        return []
    return [chain[1] for chain in chains if len(chain) > 1 and chain[0] == "vars"]


def var_names(value: Any) -> set[str]:
    """The `X` of every `vars.X` the templates in `value` read."""
    return {
        name
        for _, text in iter_strings(value)
        for expr in find_templates(text)
        for name in expression_vars(expr)
    }


def _check_names(expr: str, chains: list[list[str]], context: Mapping[str, Any]) -> None:
    for names in chains:
        current: Any = context
        for depth, name in enumerate(names):
            if not isinstance(current, Mapping):
                break
            if name not in current:
                prefix = ".".join(names[:depth]) or "the context"
                known = sorted(str(k) for k in current)
                message = (
                    f"unknown name {'.'.join(names[: depth + 1])!r} in template "
                    f"{{{{ {expr} }}}}; {prefix} has: {', '.join(known) or 'nothing'}"
                )
                close = difflib.get_close_matches(name, known, n=1)
                if close:
                    message += f" (did you mean {close[0]!r}?)"
                raise TemplateError(message, expression=expr)
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
            vars[name] = render(value, StartContext(run_id=run_id, vars=vars, now=now))
    return vars
