"""Matchers: each one's pass and fail, and mismatches reported together and readable."""

from __future__ import annotations

from typing import Any

import pytest
from itest.lambdas.errors import TemplateError
from itest.lambdas.matchers import MATCHERS, evaluate, holds, json_equal
from itest.lambdas.scenario.expectation import Expectation

RESULT = {
    "status": 201,
    "ok": True,
    "json": {
        "id": "o-1",
        "qty": 2,
        "price": 9.5,
        "tags": ["a", "b"],
        "items": [{"id": 1, "n": "x"}],
    },
    "text": "order o-1 created",
    "nothing": None,
}


def expect(**fields: Any) -> Expectation:
    return Expectation.model_validate(fields)


@pytest.mark.parametrize(
    ("path", "matcher", "value"),
    [
        ("status", "equals", 201),
        ("status", "equals", 201.0),
        (
            "json",
            "equals",
            {
                "id": "o-1",
                "qty": 2,
                "price": 9.5,
                "tags": ["a", "b"],
                "items": [{"id": 1, "n": "x"}],
            },
        ),
        ("nothing", "equals", None),
        ("status", "not_equals", 200),
        ("ok", "not_equals", 1),
        ("text", "contains", "o-1"),
        ("json.tags", "contains", "b"),
        ("json.items", "contains", {"id": 1}),
        ("json", "contains", "qty"),
        ("text", "not_contains", "failed"),
        ("json.tags", "not_contains", "c"),
        ("text", "matches", r"^order o-\d+"),
        ("status", "exists", True),
        ("missing", "exists", False),
        ("nothing", "exists", False),
        ("text", "type", "string"),
        ("status", "type", "integer"),
        ("status", "type", "number"),
        ("json.price", "type", "number"),
        ("ok", "type", "boolean"),
        ("json", "type", "object"),
        ("json.tags", "type", "array"),
        ("nothing", "type", "null"),
        ("status", "gt", 200),
        ("status", "gte", 201),
        ("status", "lt", 300),
        ("json.price", "lte", 9.5),
        ("json.id", "gt", "o-0"),
        ("json.tags", "length", 2),
        ("text", "length", 17),
        ("status", "one_of", [200, 201]),
        ("json", "subset", {"id": "o-1", "items": [{"n": "x"}]}),
        ("json.tags", "subset", ["b"]),
        (
            "json",
            "schema",
            {"type": "object", "required": ["id"], "properties": {"qty": {"type": "integer"}}},
        ),
    ],
)
def test_matcher_holds(path: str, matcher: str, value: Any) -> None:
    assert evaluate([expect(path=path, **{matcher: value})], RESULT) == []


@pytest.mark.parametrize(
    ("path", "matcher", "value", "message"),
    [
        ("status", "equals", 200, "status: expected 200, got 201"),
        ("ok", "equals", 1, "ok: expected 1, got true"),
        ("json.id", "equals", "o-2", "json.id: expected 'o-2', got 'o-1'"),
        ("status", "not_equals", 201, "status: expected anything but 201, got 201"),
        (
            "text",
            "contains",
            "cancelled",
            "text: expected to contain 'cancelled', got 'order o-1 created'",
        ),
        (
            "status",
            "contains",
            2,
            "status: expected a string, array or object containing 2, got 201",
        ),
        (
            "json.tags",
            "not_contains",
            "a",
            'json.tags: expected not to contain \'a\', got ["a", "b"]',
        ),
        (
            "text",
            "matches",
            "^created",
            "text: expected to match /^created/, got 'order o-1 created'",
        ),
        ("status", "matches", "2..", "status: expected a string matching /2../, got 201"),
        ("missing", "exists", True, "missing: expected a value, got null"),
        ("status", "exists", False, "status: expected no value, got 201"),
        ("json.price", "type", "integer", "json.price: expected type integer (is number), got 9.5"),
        ("status", "gt", 201, "status: expected > 201, got 201"),
        ("status", "lt", "300", "status: expected < '300', got 201"),
        ("nothing", "gte", 1, "nothing: expected >= 1, got null"),
        ("json.tags", "length", 3, 'json.tags: expected length 3 (is 2), got ["a", "b"]'),
        ("status", "length", 3, "status: expected a string, array or object of length 3, got 201"),
        ("status", "one_of", [200, 204], "status: expected one of [200, 204], got 201"),
        ("json", "subset", {"qty": 3}, "at .qty: expected 3, got 2"),
        ("json", "subset", {"nope": 1}, "missing key .nope"),
        ("json.items", "subset", [{"id": 2}], 'at [0]: no element includes {"id": 2}'),
        (
            "json",
            "schema",
            {"properties": {"qty": {"type": "string"}}},
            "at .qty: 2 is not of type 'string'",
        ),
    ],
)
def test_matcher_fails_with_a_readable_message(
    path: str, matcher: str, value: Any, message: str
) -> None:
    (mismatch,) = evaluate([expect(path=path, **{matcher: value})], RESULT)
    assert message in mismatch["message"]
    assert mismatch["path"] == path
    assert mismatch["matcher"] == matcher
    assert mismatch["expected"] == value


def test_all_mismatches_of_a_step_are_reported_together() -> None:
    expectations = [
        expect(path="status", equals=200),
        expect(path="json.qty", gt=5, lt=1),
        expect(path="json.id", equals="o-1"),
    ]
    mismatches = evaluate(expectations, RESULT)
    assert [(m["path"], m["matcher"]) for m in mismatches] == [
        ("status", "equals"),
        ("json.qty", "gt"),
        ("json.qty", "lt"),
    ]
    assert mismatches[1]["actual"] == 2


def test_expected_values_are_rendered_over_the_context() -> None:
    context = {"vars": {"order_id": "o-1", "want": 201}}
    expectations = [
        expect(path="json", subset={"id": "{{ vars.order_id }}"}),
        expect(path="status", equals="{{ vars.want }}"),
    ]
    assert evaluate(expectations, RESULT, context) == []
    with pytest.raises(TemplateError, match=r"unknown name 'vars\.nope'"):
        evaluate([expect(path="status", equals="{{ vars.nope }}")], RESULT, context)


def test_long_values_are_cut() -> None:
    big = {"text": "x" * 5000}
    (mismatch,) = evaluate([expect(path="text", equals="y")], big)
    assert len(mismatch["actual"]) == 1000
    assert mismatch["actual"].endswith("…")
    assert len(mismatch["message"]) < 200


def test_holds_needs_every_matcher() -> None:
    assert holds(expect(path="status", gte=200, lt=300), RESULT)
    assert not holds(expect(path="status", gte=200, lt=201), RESULT)


def test_a_path_that_fails_at_run_time_is_a_mismatch() -> None:
    (mismatch,) = evaluate([expect(path="length(status)", equals=1)], RESULT)
    assert mismatch["matcher"] == "path"
    assert "cannot be evaluated" in mismatch["message"]


def test_json_equality_is_strict_about_booleans() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal({"a": 1}, {"a": True})
    assert not json_equal([1, 2], [1])
    assert not json_equal("1", 1)


def test_registry_holds_every_documented_matcher() -> None:
    documented = (
        "equals not_equals contains not_contains matches exists type"
        " gt gte lt lte length one_of subset schema"
    )
    assert set(documented.split()) == set(MATCHERS)
