"""dynamodb.* actions: plain JSON in and out, errors as ActionError."""

from __future__ import annotations

import pytest
from itest.lambdas.actions.registry import run_action
from itest.lambdas.aws import client
from itest.lambdas.errors import ActionError

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


@pytest.fixture
def events_table() -> str:
    """A table with a sort key and an index, for query."""
    client("dynamodb").create_table(
        TableName="events",
        KeySchema=[
            {"AttributeName": "order", "KeyType": "HASH"},
            {"AttributeName": "seq", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "order", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
            {"AttributeName": "kind", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-kind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for order in ("o-1", "o-2"):
        for seq in range(1, 4):
            item = {"order": order, "seq": seq, "kind": "paid" if seq == 3 else "step", "w": 0.5}
            run_action("dynamodb.put_item", {"table": "events", "item": item})
    return "events"


def test_update_item_sets_and_removes_by_name_and_returns_the_new_item() -> None:
    run_action("dynamodb.put_item", {"table": "orders", "item": {"pk": "o-1", "a": 1, "b": "x"}})

    result = run_action(
        "dynamodb.update_item",
        {
            "table": "orders",
            "key": {"pk": "o-1"},
            "set": {"status": "PAID", "n": 2.5},
            "remove": ["b"],
        },
    )

    assert result == {"item": {"pk": "o-1", "a": 1, "status": "PAID", "n": 2.5}}


def test_update_item_with_a_raw_expression_and_a_condition() -> None:
    run_action("dynamodb.put_item", {"table": "orders", "item": {"pk": "o-1", "n": 1}})
    params = {
        "table": "orders",
        "key": {"pk": "o-1"},
        "update": "ADD #n :one",
        "condition": "#n < :max",
        "names": {"#n": "n"},
        "values": {":one": 1, ":max": 2},
    }

    assert run_action("dynamodb.update_item", params)["item"]["n"] == 2
    with pytest.raises(ActionError, match="ConditionalCheckFailed"):
        run_action("dynamodb.update_item", params)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"set": {"a": 1}, "update": "SET a = :a"}, "not both"),
        ({}, "nothing to update"),
    ],
)
def test_update_item_needs_exactly_one_form(params: dict, fragment: str) -> None:
    with pytest.raises(ActionError, match=fragment) as caught:
        run_action("dynamodb.update_item", {"table": "orders", "key": {"pk": "o"}, **params})
    assert caught.value.retryable is False


def test_query_by_key_in_sort_order_numbers_stay_numbers(events_table: str) -> None:
    result = run_action("dynamodb.query", {"table": events_table, "key": {"order": "o-1"}})

    assert result["count"] == 3
    assert [i["seq"] for i in result["items"]] == [1, 2, 3]
    assert type(result["items"][0]["seq"]) is int and result["items"][0]["w"] == 0.5

    newest = run_action(
        "dynamodb.query",
        {"table": events_table, "key": {"order": "o-1"}, "ascending": False, "limit": 2},
    )
    assert [i["seq"] for i in newest["items"]] == [3, 2]


def test_query_with_a_key_condition_a_filter_and_an_index(events_table: str) -> None:
    later = run_action(
        "dynamodb.query",
        {
            "table": events_table,
            "key_condition": "#o = :o AND seq >= :from",
            "filter": "kind = :kind",
            "names": {"#o": "order"},
            "values": {":o": "o-2", ":from": 2, ":kind": "step"},
        },
    )
    assert [(i["order"], i["seq"]) for i in later["items"]] == [("o-2", 2)]

    paid = run_action(
        "dynamodb.query", {"table": events_table, "index": "by-kind", "key": {"kind": "paid"}}
    )
    assert sorted(i["order"] for i in paid["items"]) == ["o-1", "o-2"]


def test_query_needs_key_or_key_condition() -> None:
    with pytest.raises(ActionError, match="exactly one of 'key' or 'key_condition'"):
        run_action("dynamodb.query", {"table": "orders"})


def test_scan_reads_every_page_up_to_the_limit(events_table: str) -> None:
    everything = run_action("dynamodb.scan", {"table": events_table})
    assert everything["count"] == 6

    filtered = run_action(
        "dynamodb.scan",
        {"table": events_table, "filter": "seq > :n", "values": {":n": 2}, "limit": 1},
    )
    assert filtered["count"] == 1 and filtered["items"][0]["seq"] == 3


def test_a_missing_table_is_an_action_error() -> None:
    with pytest.raises(ActionError, match="ResourceNotFoundException") as caught:
        run_action("dynamodb.scan", {"table": "nope"})
    assert caught.value.retryable is True
