"""dynamodb.* actions: plain JSON in and out, errors as ActionError."""

from __future__ import annotations

import pytest

from lambdas.actions import run_action
from lambdas.aws import client
from lambdas.errors import ActionError

pytestmark = pytest.mark.usefixtures("orders_table")


def test_put_then_get_round_trips_plain_json() -> None:
    item = {
        "pk": "o-1",
        "qty": 2,
        "price": 9.5,
        "big": 12345678901234567890,
        "ok": True,
        "note": None,
        "lines": [{"sku": "a", "n": 1}],
        "meta": {},
    }
    assert run_action("dynamodb.put_item", {"table": "orders", "item": item}) == {"item": item}

    result = run_action(
        "dynamodb.get_item", {"table": "orders", "key": {"pk": "o-1"}, "consistent_read": True}
    )

    assert result == {"item": item}
    assert type(result["item"]["qty"]) is int
    assert type(result["item"]["price"]) is float


def test_an_absent_item_is_none() -> None:
    assert run_action("dynamodb.get_item", {"table": "orders", "key": {"pk": "nope"}}) == {
        "item": None
    }


def test_sets_and_binary_come_back_as_json() -> None:
    client("dynamodb").put_item(
        TableName="orders",
        Item={
            "pk": {"S": "o-2"},
            "tags": {"SS": ["b", "a"]},
            "ns": {"NS": ["10", "9"]},
            "blob": {"B": b"hi"},
        },
    )

    item = run_action("dynamodb.get_item", {"table": "orders", "key": {"pk": "o-2"}})["item"]

    assert item == {"pk": "o-2", "tags": ["a", "b"], "ns": [9, 10], "blob": "aGk="}


def test_delete_returns_what_was_there() -> None:
    run_action("dynamodb.put_item", {"table": "orders", "item": {"pk": "o-3", "qty": 1}})

    first = run_action("dynamodb.delete_item", {"table": "orders", "key": {"pk": "o-3"}})
    second = run_action("dynamodb.delete_item", {"table": "orders", "key": {"pk": "o-3"}})

    assert first == {"deleted": {"pk": "o-3", "qty": 1}}
    assert second == {"deleted": None}


def test_a_missing_table_is_an_action_error_naming_it() -> None:
    with pytest.raises(ActionError) as caught:
        run_action("dynamodb.get_item", {"table": "nope", "key": {"pk": "x"}})
    assert str(caught.value).startswith("dynamodb.get_item nope: ResourceNotFoundException")
    assert caught.value.retryable


def test_invalid_params_are_reported_without_calling_aws() -> None:
    with pytest.raises(ActionError) as caught:
        run_action("dynamodb.get_item", {"table": "orders", "key": {}})
    assert "key: expected at least 1" in str(caught.value)
    assert not caught.value.retryable


def test_values_dynamodb_cannot_hold_are_action_errors() -> None:
    with pytest.raises(ActionError, match="cannot store"):
        run_action("dynamodb.put_item", {"table": "orders", "item": {"pk": "x", "n": float("nan")}})
