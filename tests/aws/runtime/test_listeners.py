"""Listeners through the handlers on in-process moto: created by Prepare, fed by
EventBridge and SNS, read by listener.receive / listener.absent, removed by Cleanup
whatever the verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
from itest.lambdas import listeners
from itest.lambdas.aws import client
from itest.lambdas.results import store

from .machine import RUN_ID, Clock, execute, upload

pytestmark = pytest.mark.usefixtures("results_table")

SOURCE = "orders.service"


@pytest.fixture
def topic() -> str:
    return client("sns").create_topic(Name="receipts")["TopicArn"]


def put_event(order_id: str, qty: int = 1) -> dict[str, Any]:
    return {
        "name": f"put {order_id} {qty}",
        "action": "aws.events.put_events",
        "with": {
            "Entries": [
                {
                    "Source": SOURCE,
                    "DetailType": "OrderCreated",
                    "Detail": json.dumps({"order_id": order_id, "qty": qty}),
                }
            ]
        },
    }


def publish(topic: str, order_id: str, kind: str) -> dict[str, Any]:
    return {
        "name": f"publish {order_id} {kind}",
        "action": "aws.sns.publish",
        "with": {
            "TopicArn": topic,
            "Subject": "receipt",
            "Message": json.dumps({"order_id": order_id, "kind": kind}),
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": kind}},
        },
    }


def listen(action: str, name: str, *expect: dict[str, Any], **with_: Any) -> dict[str, Any]:
    """A listener.receive / listener.absent step on the ``orders`` listener."""
    return {
        "name": name,
        "action": f"listener.{action}",
        "with": {"listener": "orders", **with_},
        "expect": list(expect),
    }


def order_is(order_id: str) -> dict[str, Any]:
    return {"path": "detail.order_id", "equals": order_id}


ORDERS = {"orders": {"eventbridge": {"pattern": {"source": [SOURCE]}}}}


def scenario(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "listening",
        "timeout_seconds": 60,
        "listeners": ORDERS,
        "steps": list(steps),
        **extra,
    }


def leftovers() -> dict[str, list[str]]:
    """Listener resources of any run still there."""
    prefix = listeners.prefix()
    queues = client("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    rules = [r["Name"] for r in client("events").list_rules(NamePrefix=prefix)["Rules"]]
    subscriptions = [
        s["SubscriptionArn"]
        for s in client("sns").list_subscriptions()["Subscriptions"]
        if prefix in s["Endpoint"]
    ]
    return {"queues": queues, "rules": rules, "subscriptions": subscriptions}


NONE_LEFT = {"queues": [], "rules": [], "subscriptions": []}


def test_receive_picks_the_one_matching_event_and_later_steps_still_see_it(
    bucket: str, clock: Clock
) -> None:
    ref = upload(
        scenario(
            put_event("other", 5),
            put_event("o-1", 2),
            {
                **listen(
                    "receive", "order event", order_is("o-1"), {"path": "detail.qty", "equals": 2}
                ),
                "capture": {"event_id": "id"},
            },
            listen("receive", "again, later", {"path": "id", "equals": "{{ vars.event_id }}"}),
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict
    record = store.read_run(RUN_ID)
    event = record["steps"][2]["result"]
    assert (event["source"], event["detail-type"], event["detail"]) == (
        SOURCE,
        "OrderCreated",
        {"order_id": "o-1", "qty": 2},
    )
    assert record["vars"] == {} and record["steps"][3]["status"] == "passed"
    assert [e["name"] for e in record["cleanup"]["actions"]] == ["listeners.orders"]
    assert leftovers() == NONE_LEFT


def test_receive_without_a_match_reports_the_closest_message(bucket: str, clock: Clock) -> None:
    ref = upload(
        scenario(
            put_event("o-1", 2),
            listen("receive", "order event", order_is("o-1"), {"path": "detail.qty", "equals": 3}),
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "failed"
    assert "detail.qty" in execution.verdict["reason"]
    assert "the closest of 1 captured messages" in execution.verdict["reason"]
    assert leftovers() == NONE_LEFT


def test_absent_fails_naming_the_message_that_arrived(bucket: str, clock: Clock) -> None:
    ref = upload(
        scenario(
            put_event("o-1"),  # sent just before the window: still counts
            listen("absent", "no order event", order_is("o-1"), seconds=5),
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "failed"
    assert "found what must not arrive" in execution.verdict["reason"]
    assert '"order_id": "o-1"' in execution.verdict["reason"]
    assert leftovers() == NONE_LEFT


@pytest.mark.parametrize("duplicate", [False, True])
def test_absent_waits_its_window_as_a_wait_state_and_checks_at_its_end(
    bucket: str, clock: Clock, duplicate: bool
) -> None:
    ref = upload(
        scenario(
            put_event("o-1"),
            listen("receive", "order event", order_is("o-1")),
            listen("absent", "no second event", order_is("o-1"), seconds=4),
        ),
        bucket,
    )

    def during_the_window(iteration: dict[str, Any]) -> None:
        """While the Wait state waits: an unrelated event, and perhaps a duplicate."""
        if iteration["name"] == "no second event" and iteration["outcome"] == "retry":
            for order_id in ("o-2", "o-1") if duplicate else ("o-2",):
                detail = json.dumps({"order_id": order_id})
                entry = {"Source": SOURCE, "DetailType": "OrderCreated", "Detail": detail}
                client("events").put_events(Entries=[entry])

    execution = execute(ref, {}, clock, after_action=during_the_window)

    window = [i for i in execution.iterations if i["name"] == "no second event"]
    if duplicate:
        assert execution.verdict["status"] == "failed"
        assert "must not arrive" in execution.verdict["reason"]
        assert [i["outcome"] for i in window] == ["retry", "failed"]
    else:
        assert execution.verdict["status"] == "passed", execution.verdict
        assert [(i["outcome"], i["wait_seconds"]) for i in window] == [("retry", 4), ("passed", 1)]
        step = store.read_run(RUN_ID)["steps"][2]
        assert (step["attempts"], step["result"]) == (1, {"seconds": 4, "captured": 2})
    assert leftovers() == NONE_LEFT


def test_sns_listener_filters_parses_and_is_unsubscribed(
    bucket: str, clock: Clock, topic: str
) -> None:
    ref = upload(
        scenario(
            publish(topic, "o-1", "audit"),
            publish(topic, "o-1", "receipt"),
            {
                "name": "receipt",
                "action": "listener.receive",
                "with": {"listener": "receipts"},
                "expect": [
                    {"path": "message.order_id", "equals": "o-1"},
                    {"path": "attributes.kind", "equals": "receipt"},
                    {"path": "subject", "equals": "receipt"},
                    {"path": "message_id", "type": "string"},
                ],
            },
            {
                "name": "no audit copy",
                "action": "listener.absent",
                "with": {"listener": "receipts", "seconds": 1},
                "expect": [{"path": "attributes.kind", "equals": "audit"}],
            },
            listeners={
                "receipts": {"sns": {"topic": "{{ vars.topic }}", "filter": {"kind": ["receipt"]}}}
            },
        ),
        bucket,
    )

    execution = execute(ref, {"topic": topic}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict
    assert set(store.read_run(RUN_ID)["steps"][2]["result"]) == {
        "message",
        "subject",
        "attributes",
        "message_id",
    }
    assert leftovers() == NONE_LEFT


def test_a_listener_that_cannot_be_created_ends_the_run_in_error_and_leaves_nothing(
    bucket: str, clock: Clock, topic: str
) -> None:
    ref = upload(
        scenario(
            {"name": "pause", "action": "wait", "with": {"seconds": 1}},
            listeners={
                **ORDERS,
                "receipts": {"sns": {"topic": topic.replace("receipts", "missing")}},
            },
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "error"
    assert "listener 'receipts': sns.subscribe" in execution.verdict["reason"]
    assert execution.iterations == []
    assert leftovers() == NONE_LEFT


def test_names_carry_the_run_and_fit_aws_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTENER_PREFIX", "A" * 19 + "-listen-")
    one = listeners.resource_name("orders-20261121T232100-ab12cd", "x" * 24)
    other = listeners.resource_name("orders-20261121T232100-ab12ce", "x" * 24)
    assert one != other and one.startswith("A" * 19 + "-listen-")
    assert len(one) <= 64  # EventBridge rule names; SQS allows 80
