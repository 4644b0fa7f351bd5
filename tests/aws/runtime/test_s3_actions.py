"""s3.* actions against moto."""

from __future__ import annotations

import pytest
from itest.lambdas.actions.registry import run_action
from itest.lambdas.aws import client
from itest.lambdas.errors import ActionError


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


def test_head_object_says_whether_it_exists() -> None:
    run_action(
        "s3.put_object",
        {"bucket": "receipts", "key": "r/1.txt", "body": "hello", "metadata": {"run": "r1"}},
    )

    there = run_action("s3.head_object", {"bucket": "receipts", "key": "r/1.txt"})
    gone = run_action("s3.head_object", {"bucket": "receipts", "key": "r/2.txt"})

    assert there["exists"] is True
    assert (there["size"], there["content_type"], there["metadata"]) == (
        5,
        "text/plain",
        {"run": "r1"},
    )
    assert there["etag"] and there["last_modified"].startswith("20")
    assert gone == {
        "exists": False,
        "size": None,
        "content_type": None,
        "etag": None,
        "last_modified": None,
        "metadata": {},
    }


def test_head_object_in_a_missing_bucket_is_an_error() -> None:
    with pytest.raises(ActionError, match="NoSuchBucket"):
        run_action("s3.head_object", {"bucket": "nope", "key": "k"})


def test_list_objects_by_prefix_across_pages_up_to_the_limit() -> None:
    s3 = client("s3")
    for i in range(1005):
        s3.put_object(Bucket="receipts", Key=f"r/{i:04d}.json", Body=b"{}")
    s3.put_object(Bucket="receipts", Key="other/x", Body=b"x")

    listed = run_action("s3.list_objects", {"bucket": "receipts", "prefix": "r/", "limit": 1003})
    small = run_action("s3.list_objects", {"bucket": "receipts", "prefix": "other/"})

    assert listed["count"] == 1003 and listed["keys"][0] == "r/0000.json"
    assert listed["keys"][-1] == "r/1002.json"
    assert small["objects"][0]["key"] == "other/x" and small["objects"][0]["size"] == 1
    empty = run_action("s3.list_objects", {"bucket": "receipts", "prefix": "none/"})
    assert empty == {"keys": [], "objects": [], "count": 0}
