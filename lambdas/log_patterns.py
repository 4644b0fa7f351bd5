"""CloudWatch Logs JSON filter patterns (``{ $.level = "ERROR" && $.ms > 100 }``), evaluated here.

CloudWatch filters JSON log events server side, but the local AWS (moto) ignores
JSON patterns and returns every line. ``logs.match`` therefore applies a JSON
pattern itself to what FilterLogEvents returns, following AWS's documented
semantics (Filter pattern syntax, "Using filter patterns to match terms in JSON
log events"): on AWS that is a no-op, locally it is the filter.

Supported: selectors ``$.a.b``, ``$.a[0].b``; ``=`` ``!=`` on strings (``*``
is a wildcard; quoted or bare) and numbers; ``<`` ``<=`` ``>`` ``>=`` on
numbers; ``IS NULL``, ``IS TRUE``, ``IS FALSE``, ``NOT EXISTS``; ``&&``,
``||`` and parentheses. A selector that selects nothing satisfies no
comparison (only ``NOT EXISTS``); a message that is not a JSON object matches
no JSON pattern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itest.lambdas.masking import clip

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<group>&&|\|\||[{}()])
    | (?P<op>!=|<=|>=|=|<|>)
    | (?P<selector>\$(?:\.[A-Za-z0-9_\-@$]+|\[\d+\])+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w*.]))
    | (?P<word>[^\s{}()=!<>&|"]+)
    )""",
    re.VERBOSE,
)
_MISSING = object()

Predicate = Callable[[Any], bool]


class PatternError(ValueError):
    """The JSON filter pattern cannot be parsed; the message says where."""


def is_json_pattern(pattern: str) -> bool:
    return pattern.strip().startswith("{")


def compile_json_pattern(pattern: str) -> Predicate:
    """A predicate over a parsed log message.

    Raises:
        PatternError: the pattern is malformed (the message names the position).
    """
    tokens = _tokens(pattern)
    parser = _Parser(tokens, pattern)
    parser.expect("group", "{")
    predicate = parser.disjunction()
    parser.expect("group", "}")
    if parser.position < len(tokens):
        parser.fail("nothing may follow the closing '}'")
    return lambda message: isinstance(message, dict) and predicate(message)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(pattern: str) -> list[_Token]:
    tokens, at = [], 0
    while at < len(pattern):
        if pattern[at:].strip() == "":
            break
        match = _TOKEN.match(pattern, at)
        if not match or match.end() == at:
            shown = clip(pattern[at:].strip(), 20)
            raise PatternError(f"unexpected {shown!r} at character {at + 1}")
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        at = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token], pattern: str) -> None:
        self.tokens, self.pattern, self.position = tokens, pattern, 0

    def fail(self, message: str) -> None:
        at = self.tokens[self.position].at + 1 if self.position < len(self.tokens) else None
        where = f" at character {at}" if at else " at the end"
        raise PatternError(f"{message}{where} of {clip(self.pattern, 200)!r}")

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            self.fail("the pattern ends too early")
        assert token is not None
        self.position += 1
        return token

    def expect(self, kind: str, text: str) -> None:
        token = self.peek()
        if token is None or token.kind != kind or token.text != text:
            self.fail(f"expected {text!r}")
        self.position += 1

    def disjunction(self) -> Predicate:
        return self._chain("||", self.conjunction, any)

    def conjunction(self) -> Predicate:
        return self._chain("&&", self.primary, all)

    def _chain(
        self, symbol: str, operand: Callable[[], Predicate], combine: Callable[..., bool]
    ) -> Predicate:
        """``operand (symbol operand)*``; ``&&`` binds tighter than ``||``."""
        parts = [operand()]
        while (token := self.peek()) and token.text == symbol:
            self.position += 1
            parts.append(operand())
        return parts[0] if len(parts) == 1 else lambda m: combine(p(m) for p in parts)

    def primary(self) -> Predicate:
        token = self.peek()
        if token is not None and token.text == "(":
            self.position += 1
            inner = self.disjunction()
            self.expect("group", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        token = self.take()
        if token.kind != "selector":
            self.position -= 1
            self.fail("expected a selector such as $.level")
        path = _path(token.text)
        nxt = self.take()
        if nxt.kind == "word" and nxt.text in ("IS", "NOT"):
            return self._keyword(path, nxt.text)
        if nxt.kind != "op":
            self.position -= 1
            self.fail("expected =, !=, <, <=, >, >=, IS or NOT EXISTS")
        value = self.take()
        if value.kind not in ("string", "number", "word"):
            self.position -= 1
            self.fail("expected a value")
        return _compare(path, nxt.text, value, self)

    def _keyword(self, path: list[str | int], first: str) -> Predicate:
        word = self.take().text
        if first == "NOT":
            if word != "EXISTS":
                self.position -= 1
                self.fail("expected EXISTS after NOT")
            return lambda m: _select(m, path) is _MISSING
        if word == "NULL":
            return lambda m: _select(m, path) is None
        if word in ("TRUE", "FALSE"):
            wanted = word == "TRUE"
            return lambda m: _select(m, path) is wanted
        self.position -= 1
        self.fail("expected NULL, TRUE or FALSE after IS")
        raise AssertionError  # unreachable


def _path(selector: str) -> list[str | int]:
    return [
        int(index) if index else name
        for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", selector[1:])
    ]


def _select(message: Any, path: list[str | int]) -> Any:
    current = message
    for part in path:
        found = (isinstance(part, int) and isinstance(current, list) and part < len(current)) or (
            isinstance(part, str) and isinstance(current, dict) and part in current
        )
        if not found:
            return _MISSING
        current = current[part]
    return current


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(path: list[str | int], op: str, token: _Token, parser: _Parser) -> Predicate:
    if token.kind == "number":
        expected = float(token.text)
        compare = {
            "=": lambda a: a == expected,
            "!=": lambda a: a != expected,
            "<": lambda a: a < expected,
            "<=": lambda a: a <= expected,
            ">": lambda a: a > expected,
            ">=": lambda a: a >= expected,
        }[op]
        return lambda m: _number(actual := _select(m, path)) and compare(actual)
    if op not in ("=", "!="):
        parser.position -= 1
        parser.fail(f"{op} compares numbers; strings take = or !=")
    text = json.loads(token.text) if token.kind == "string" else token.text
    regex = re.compile("^" + ".*".join(map(re.escape, text.split("*"))) + "$", re.DOTALL)
    if op == "=":
        return lambda m: isinstance(actual := _select(m, path), str) and bool(regex.match(actual))
    return lambda m: isinstance(actual := _select(m, path), str) and not regex.match(actual)
