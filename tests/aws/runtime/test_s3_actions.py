"""s3.* actions against moto."""

from __future__ import annotations

import pytest

from lambdas.actions import run_action
from lambdas.aws import client
from lambdas.errors import ActionError


@pytest.fixture(autouse=True)
def receipts() -> str:
    client("s3").create_bucket(Bucket="receipts")
    return "receipts"


def test_put_json_then_get_it_back() -> None:
    put = run_action(
        "s3.put_object",
        {
            "bucket": "receipts",
            "key": "r/1.json",
            "json": {"total": 2500},
            "metadata": {"run": "r1"},
        },
    )

    got = run_action("s3.get_object", {"bucket": "receipts", "key": "r/1.json"})

    assert put["etag"]
    assert got == {
        "body": '{"total": 2500}',
        "json": {"total": 2500},
        "metadata": {"run": "r1"},
        "content_type": "application/json",
        "size": 15,
    }


def test_text_bodies_have_no_json() -> None:
    run_action("s3.put_object", {"bucket": "receipts", "key": "t.txt", "body": "hello"})

    got = run_action("s3.get_object", {"bucket": "receipts", "key": "t.txt"})

    assert (got["body"], got["json"], got["content_type"]) == ("hello", None, "text/plain")


def test_a_missing_object_is_a_retryable_action_error() -> None:
    with pytest.raises(ActionError) as caught:
        run_action("s3.get_object", {"bucket": "receipts", "key": "nope.json"})
    assert str(caught.value).startswith("s3.get_object s3://receipts/nope.json: NoSuchKey")
    assert caught.value.retryable


def test_delete_is_idempotent() -> None:
    run_action("s3.put_object", {"bucket": "receipts", "key": "d.txt", "body": "x"})

    run_action("s3.delete_object", {"bucket": "receipts", "key": "d.txt"})
    run_action("s3.delete_object", {"bucket": "receipts", "key": "d.txt"})

    assert client("s3").list_objects_v2(Bucket="receipts").get("KeyCount") == 0


def test_put_needs_exactly_one_body() -> None:
    with pytest.raises(ActionError, match="exactly one of 'body' or 'json'"):
        run_action("s3.put_object", {"bucket": "receipts", "key": "k"})
