"""The offline grammar of event patterns and filter policies (lambdas/event_patterns.py)."""

from __future__ import annotations

import pytest
from itest.lambdas.event_patterns import EVENTBRIDGE_OPERATORS, SNS_OPERATORS, pattern_problems


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": ["orders.service"], "detail-type": ["OrderCreated"]},
        {"detail": {"qty": [{"numeric": [">", 0, "<=", 5]}], "id": [{"prefix": "o-"}]}},
        {"detail": {"state": [{"anything-but": ["DONE", "FAILED"]}, None]}},
        {"detail": {"state": [{"anything-but": {"prefix": "tmp"}}]}},
        {"detail": {"c": [{"exists": False}], "ip": [{"cidr": "10.0.0.0/24"}]}},
        {"source": [{"wildcard": "orders.*"}], "detail": {"n": [{"equals-ignore-case": "x"}]}},
        {"$or": [{"source": ["a"]}, {"detail-type": ["b"]}]},
        {"detail": {"order_id": ["{{ vars.order_id }}"]}, "source": "{{ vars.sources }}"},
    ],
)
def test_valid_event_patterns(pattern: dict) -> None:
    assert pattern_problems(pattern, operators=EVENTBRIDGE_OPERATORS) == []


@pytest.mark.parametrize(
    ("pattern", "where", "message"),
    [
        ({}, (), "non-empty mapping"),
        ({"source": "orders"}, ("source",), 'write ["orders"]'),
        ({"source": []}, ("source",), "empty list matches nothing"),
        ({"detail": {}}, ("detail",), "empty mapping"),
        ({"detail": {"n": [{"numeric": ["<"]}]}}, ("detail", "n", 0, "numeric"), "comparison"),
        ({"detail": {"n": [{"numeric": [">", "1"]}]}}, ("detail", "n", 0, "numeric"), "number"),
        ({"detail": {"n": [{"exists": "yes"}]}}, ("detail", "n", 0, "exists"), "true or false"),
        ({"detail": {"n": [{"prefix": 1}]}}, ("detail", "n", 0, "prefix"), "expected text"),
        ({"detail": {"n": [{"prefix": "a", "suffix": "b"}]}}, ("detail", "n", 0), "one key"),
        ({"detail": {"n": [{"like": "a"}]}}, ("detail", "n", 0), "unknown operator 'like'"),
        ({"$or": [{"source": ["a"]}]}, ("$or",), "at least two"),
    ],
)
def test_malformed_event_patterns_say_where_and_what(pattern, where, message) -> None:
    problems = pattern_problems(pattern, operators=EVENTBRIDGE_OPERATORS)
    assert any(loc == where and message in text for loc, text in problems), problems


def test_sns_filter_policies_have_no_wildcard_and_do_not_nest_on_attributes() -> None:
    wildcard = {"kind": [{"wildcard": "rec*"}]}
    ((_, message),) = pattern_problems(wildcard, operators=SNS_OPERATORS)
    assert "unknown operator 'wildcard'" in message
    nested = {"order": {"kind": ["receipt"]}}
    assert pattern_problems(nested, operators=SNS_OPERATORS, nested=True) == []
    assert "does not nest" in pattern_problems(nested, operators=SNS_OPERATORS, nested=False)[0][1]
