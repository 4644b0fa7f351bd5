"""Matchers: how an expectation compares a selected value with what was expected.

The registry below is the one list of matchers: a matcher's test is
``(actual, expected) -> None`` when it holds, or a phrase saying what was
expected ("expected > 3"); beside it, what a scenario may give as its expected
value (the scenario's ``Expectation`` model is built from it). :func:`evaluate`
adds the path and the actual value and reports every mismatch of a list of
expectations together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict

from itest.lambdas.expressions import describe_error, has_template, render, search
from itest.lambdas.masking import clip, mask
from jmespath.exceptions import JMESPathError

Test = Callable[[Any, Any], str | None]
JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
SHOW_LIMIT = 120
VALUE_LIMIT = 1000


class Mismatch(TypedDict):
    """One failed matcher; values are cut to a readable length."""

    path: str
    matcher: str
    expected: Any
    actual: Any
    message: str


class Expectation(Protocol):
    """What :func:`evaluate` needs from ``itest.lambdas.scenario.expectation.Expectation``."""

    path: str

    def matchers(self) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class Matcher:
    """A registered matcher: its test, and the expected value a scenario may give it.

    ``expected`` is the value's type in the scenario model, ``schema`` what the
    JSON Schema adds to it; ``check`` rejects a plain (untemplated) value before
    a run (raises ValueError); ``needs_value``: null is not an expected value.
    """

    name: str
    test: Test
    expected: Any = Any
    schema: dict[str, Any] | None = None
    description: str | None = None
    check: Callable[[Any], Any] | None = None
    needs_value: bool = False


MATCHERS: dict[str, Matcher] = {}
"""Scenario key → matcher, in the order the format lists them."""


def matcher(
    name: str,
    *,
    expected: Any = Any,
    schema: dict[str, Any] | None = None,
    description: str | None = None,
    check: Callable[[Any], Any] | None = None,
    needs_value: bool = False,
) -> Callable[[Test], Test]:
    """Register a test under the key a scenario uses, with its expected value's traits."""

    def register(fn: Test) -> Test:
        MATCHERS[name] = Matcher(
            name=name, test=fn, expected=expected, schema=schema, description=description,
            check=check, needs_value=needs_value,
        )  # fmt: skip
        return fn

    return register


def evaluate(
    expectations: list[Expectation], data: Any, context: Mapping[str, Any] | None = None
) -> list[Mismatch]:
    """Check every expectation against ``data``; expected values are rendered over
    ``context`` first when one is given.

    Raises:
        TemplateError: an expected value's template cannot be rendered.
    """
    mismatches: list[Mismatch] = []
    for expectation in expectations:
        path = expectation.path
        try:
            actual = search(path, data)
        except JMESPathError as exc:
            message = f"{path}: cannot be evaluated: {describe_error(exc)}"
            mismatches.append(_mismatch(path, "path", None, None, message))
            continue
        for name, expected in expectation.matchers().items():
            if context is not None:
                expected = render(expected, context)
            failure = MATCHERS[name].test(actual, expected)
            if failure:
                message = f"{path}: {failure}, got {show(actual)}"
                mismatches.append(_mismatch(path, name, expected, actual, message))
    return mismatches


def holds(expectation: Expectation, data: Any, context: Mapping[str, Any] | None = None) -> bool:
    """True when every matcher of one expectation holds (used by ``stop_if``)."""
    return not evaluate([expectation], data, context)


def _mismatch(path: str, name: str, expected: Any, actual: Any, message: str) -> Mismatch:
    return {
        "path": path,
        "matcher": name,
        "expected": cut(expected),
        "actual": cut(actual),
        "message": message,
    }


def show(value: Any, limit: int = SHOW_LIMIT) -> str:
    """A short human form: strings quoted, everything else as JSON; secrets masked
    before it is cut."""
    value = mask(value)
    return clip(repr(value) if isinstance(value, str) else _dumps(value), limit)


def cut(value: Any, limit: int = VALUE_LIMIT) -> Any:
    """The value itself (masked) when small, else its masked JSON cut to ``limit``
    characters."""
    value = mask(value)
    text = value if isinstance(value, str) else _dumps(value)
    return value if len(text) <= limit else clip(text, limit)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: ``true`` is not ``1``; ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def json_type(value: Any) -> str:
    """The JSON type name of a value (integers are also numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@matcher("equals")
def equals(actual: Any, expected: Any) -> str | None:
    return None if json_equal(actual, expected) else f"expected {show(expected)}"


@matcher("not_equals")
def not_equals(actual: Any, expected: Any) -> str | None:
    return f"expected anything but {show(expected)}" if json_equal(actual, expected) else None


def _contains(actual: Any, expected: Any) -> bool | None:
    """Substring, array element (matched as a subset) or object key; None if n/a."""
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list):
        return any(subset_difference(item, expected) is None for item in actual)
    if isinstance(actual, Mapping):
        return isinstance(expected, str) and expected in actual
    return None


@matcher("contains", description="substring, array element or object key")
def contains(actual: Any, expected: Any) -> str | None:
    found = _contains(actual, expected)
    if found is None:
        return f"expected a string, array or object containing {show(expected)}"
    return None if found else f"expected to contain {show(expected)}"


@matcher("not_contains")
def not_contains(actual: Any, expected: Any) -> str | None:
    found = _contains(actual, expected)
    if found is None:
        return f"expected a string, array or object not containing {show(expected)}"
    return f"expected not to contain {show(expected)}" if found else None


def _regex(pattern: str | None) -> str | None:
    if pattern is not None and not has_template(pattern):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


@matcher(
    "matches", expected=str | None, description="regular expression (re.search)", check=_regex,
    needs_value=True,
)
def matches(actual: Any, expected: Any) -> str | None:
    if not isinstance(expected, str):
        return f"expected a regular expression (a string), not {show(expected)}"
    if not isinstance(actual, str):
        return f"expected a string matching /{expected}/"
    try:
        found = re.search(expected, actual)
    except re.error as exc:
        return f"expected a valid regular expression, /{expected}/ is not ({exc})"
    return None if found else f"expected to match /{expected}/"


@matcher(
    "exists", expected=bool | None, description="true: the value is not null", needs_value=True
)
def exists(actual: Any, expected: Any) -> str | None:
    if expected is True and actual is None:
        return "expected a value"
    if expected is False and actual is not None:
        return "expected no value"
    return None


@matcher("type", expected=Literal[JSON_TYPES] | None, needs_value=True)  # type: ignore[valid-type]
def type_(actual: Any, expected: Any) -> str | None:
    if expected not in JSON_TYPES:
        return f"expected a type name ({', '.join(JSON_TYPES)}), not {show(expected)}"
    kind = json_type(actual)
    if kind == expected or (expected == "number" and kind == "integer"):
        return None
    return f"expected type {expected} (is {kind})"


def _compare(symbol: str, test: Callable[[Any, Any], bool]) -> Matcher:
    def compare(actual: Any, expected: Any) -> str | None:
        comparable = (_is_number(actual) and _is_number(expected)) or (
            isinstance(actual, str) and isinstance(expected, str)
        )
        if comparable and test(actual, expected):
            return None
        return f"expected {symbol} {show(expected)}"

    return compare


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number or a string, got {json_type(value)}")
    return value


_ORDERED = {"schema": {"type": ["number", "string"]}, "check": _comparable}
matcher("gt", **_ORDERED)(_compare(">", lambda a, e: a > e))
matcher("gte", **_ORDERED)(_compare(">=", lambda a, e: a >= e))
matcher("lt", **_ORDERED)(_compare("<", lambda a, e: a < e))
matcher("lte", **_ORDERED)(_compare("<=", lambda a, e: a <= e))


def _length(value: Any) -> Any:
    if isinstance(value, str) and has_template(value):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number >= 0, got {json_type(value)} {value!r}")
    return value


@matcher("length", schema={"type": ["integer", "string"]}, check=_length)
def length(actual: Any, expected: Any) -> str | None:
    if not isinstance(actual, str | list | Mapping):
        return f"expected a string, array or object of length {show(expected)}"
    size = len(actual)
    return None if json_equal(size, expected) else f"expected length {show(expected)} (is {size})"


def _choices(value: Any) -> Any:
    if not isinstance(value, list) and not (isinstance(value, str) and has_template(value)):
        raise ValueError(f"expected a list of choices, got {json_type(value)}")
    return value


@matcher("one_of", schema={"type": ["array", "string"]}, check=_choices)
def one_of(actual: Any, expected: Any) -> str | None:
    if not isinstance(expected, list):
        return f"expected a list of choices, not {show(expected)}"
    if any(json_equal(actual, choice) for choice in expected):
        return None
    return f"expected one of {show(expected)}"


def subset_difference(actual: Any, expected: Any, where: str = "") -> str | None:
    """Where ``actual`` fails to include ``expected``, or None when it does.

    Objects: every expected key present and matching; arrays: every expected
    element matched by some element; anything else: equal.
    """
    at = where or "the top"
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"at {at}: expected an object, got {show(actual, 60)}"
        for key, value in expected.items():
            if key not in actual:
                return f"missing key {where}.{key}"
            difference = subset_difference(actual[key], value, f"{where}.{key}")
            if difference:
                return difference
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"at {at}: expected an array, got {show(actual, 60)}"
        for i, value in enumerate(expected):
            if not any(subset_difference(item, value) is None for item in actual):
                return f"at {where}[{i}]: no element includes {show(value, 60)}"
        return None
    if json_equal(actual, expected):
        return None
    return f"at {at}: expected {show(expected, 60)}, got {show(actual, 60)}"


@matcher("subset", description="partial object/array match")
def subset(actual: Any, expected: Any) -> str | None:
    difference = subset_difference(actual, expected)
    return f"expected to include {show(expected)} ({difference})" if difference else None


def _json_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is not None and not has_template(schema):
        problem = schema_problem(schema)
        if problem:
            raise ValueError(problem)
    return schema


@matcher(
    "schema", expected=dict[str, Any] | None, description="JSON Schema", check=_json_schema,
    needs_value=True,
)
def schema(actual: Any, expected: Any) -> str | None:
    try:
        import jsonschema  # only scenarios using `schema` pay for the import
    except ImportError:
        return "expected a value checked by a JSON Schema, but jsonschema is not installed"
    try:
        validator = jsonschema.validators.validator_for(expected)(expected)
        error = jsonschema.exceptions.best_match(validator.iter_errors(actual))
    except jsonschema.exceptions.SchemaError as exc:
        return f"expected a valid JSON Schema ({exc.message})"
    except Exception as exc:  # e.g. a $ref that cannot be resolved: no fetching at run time
        return f"expected a usable JSON Schema ({type(exc).__name__}: {clip(str(exc), 200)})"
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"expected to match the JSON Schema (at {where or 'the top'}: {error.message})"


def schema_problem(schema: Any) -> str | None:
    """What is wrong with a JSON Schema, or None (also when jsonschema is not installed:
    the matcher then says so at run time)."""
    try:
        import jsonschema
    except ImportError:
        return None
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.absolute_path)
        return f"invalid JSON Schema at {where or 'the top'}: {exc.message}"
    return None
