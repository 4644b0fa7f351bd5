"""CloudWatch Logs JSON filter patterns, per AWS's documented semantics
(lambdas/log_patterns.py: the local AWS ignores them, logs.match applies them)."""

from __future__ import annotations

import pytest
from itest.lambdas.log_patterns import PatternError, compile_json_pattern, is_json_pattern

EVENT = {
    "eventType": "UpdateTrail",
    "sourceIPAddress": "123.123.123.123",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "bandwidth": 75,
    "latency": 50.5,
    "user": {"id": 1, "email": "John.Doe@example.com"},
    "nullField": None,
    "isTrue": True,
    "isFalse": False,
    "code": "200",
}


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ('{ $.eventType = "UpdateTrail" }', True),
        ("{ $.eventType = UpdateTrail }", True),
        ('{ $.eventType = "Update*" }', True),
        ('{ $.eventType = "*Trail" }', True),
        ('{ $.eventType = "Delete*" }', False),
        ('{ $.eventType != "UpdateTrail" }', False),
        ("{ $.sourceIPAddress != 123.123.* }", False),
        ("{ $.sourceIPAddress = 123.123.* }", True),
        ('{ $.arrayKey[0] = "value" }', True),
        ('{ $.arrayKey[1] = "value" }', False),
        ('{ $.objectList[1].name = "b" }', True),
        ("{ $.objectList[1].id = 2 }", True),
        ("{ $.bandwidth > 75 }", False),
        ("{ $.bandwidth >= 75 }", True),
        ("{ $.latency < 50.6 }", True),
        ("{ $.latency <= 5.05e1 }", True),
        ("{ $.bandwidth != 75 }", False),
        ("{ $.bandwidth = 75.0 }", True),
        ("{ $.user.id = 1 }", True),
        ('{ $.user.email = "John.Doe@example.com" }', True),
        ("{ $.nullField IS NULL }", True),
        ("{ $.user IS NULL }", False),
        ("{ $.missing NOT EXISTS }", True),
        ("{ $.user.id NOT EXISTS }", False),
        ("{ $.isTrue IS TRUE }", True),
        ("{ $.isFalse IS FALSE }", True),
        ("{ $.isFalse IS TRUE }", False),
        ('{ $.code = "200" }', True),
        ("{ $.code = 200 }", False),  # a number never equals a string
        ('{ $.bandwidth = "75" }', False),
        ('{ $.missing != "x" }', False),  # nothing selected: no comparison holds
        ("{ $.missing < 1 }", False),
        ('{ ($.user.id = 2) && ($.eventType = "UpdateTrail") }', False),
        ('{ ($.user.id = 2) || ($.eventType = "UpdateTrail") }', True),
        ('{ $.user.id = 1 && $.bandwidth > 70 && $.eventType = "Update*" }', True),
        ("{ ($.user.id = 2 || $.user.id = 1) && $.latency > 50 }", True),
        ("{ $.user.id = 2 || $.user.id = 3 && $.latency > 50 }", False),
    ],
)
def test_json_patterns_match_as_aws_documents(pattern: str, matches: bool) -> None:
    assert compile_json_pattern(pattern)(EVENT) is matches


def test_a_message_that_is_not_a_json_object_matches_no_json_pattern() -> None:
    keep = compile_json_pattern("{ $.missing NOT EXISTS }")
    assert [keep(m) for m in (None, "text", [1, 2], 3)] == [False] * 4


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{ $.a = 1 ", "expected '}' at the end"),
        ("{ a = 1 }", "expected a selector"),
        ("{ $.a == 1 }", "expected a value"),
        ('{ $.a > "x" }', "> compares numbers"),
        ("{ $.a IS MAYBE }", "expected NULL, TRUE or FALSE"),
        ("{ $.a NOT THERE }", "expected EXISTS"),
        ("{ $.a = 1 } x", "nothing may follow"),
        ("{ ($.a = 1 }", "expected ')'"),
    ],
)
def test_malformed_patterns_say_what_and_where(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_json_pattern(pattern)


def test_only_braced_patterns_are_json_patterns() -> None:
    assert is_json_pattern(" { $.a = 1 }") and not is_json_pattern('"ERROR"')
