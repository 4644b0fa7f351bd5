"""Listeners through the synthesized state machine on the local AWS: the example
target emits EventBridge events and SNS messages, scenarios catch them, and no
listener resource outlives its run, whatever its end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from itest.lambdas.results.store import read_run

from tests.e2e.conftest import SCENARIOS
from tests.e2e.test_scenarios import Run, events, finish, start

pytestmark = pytest.mark.e2e

PREFIX = "Itest-listen-"  # the local stack is named Itest (infra/listeners.py)
EVENTS = SCENARIOS / "orders-events.yaml"
NEVER = SCENARIOS / "orders-event-never-fails-on-purpose.yaml"


def leftovers(local: Any) -> dict[str, list[str]]:
    aws = local[0]
    queues = aws.client("sqs").list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", [])
    rules = [r["Name"] for r in aws.client("events").list_rules(NamePrefix=PREFIX)["Rules"]]
    subscriptions = [
        s["SubscriptionArn"]
        for s in aws.client("sns").list_subscriptions()["Subscriptions"]
        if f":{PREFIX}" in s["Endpoint"]
    ]
    return {"queues": queues, "rules": rules, "subscriptions": subscriptions}


NONE_LEFT = {"queues": [], "rules": [], "subscriptions": []}


def step(run: Run, name: str) -> dict[str, Any]:
    assert run.record is not None
    return next(s for s in run.record["steps"] if s["name"] == name)


def test_receive_and_absent_pass_and_leave_nothing_behind(local: Any) -> None:
    run = start(local, EVENTS)
    finish(local, [run])

    assert (run.status, run.record["status"]) == ("SUCCEEDED", "passed"), run.record["reason"]
    event = step(run, "order created event")["result"]
    assert event["source"] == "itest.example.orders"
    assert event["detail"]["order_id"] == run.record["vars"]["order_id"]
    receipt = step(run, "receipt published")["result"]
    assert receipt["attributes"] == {"kind": "receipt"}  # the audit copy was filtered out
    assert receipt["message"]["order_id"] == run.record["vars"]["order_id"]
    absent = step(run, "no duplicate receipt")
    assert (absent["attempts"], absent["result"]["seconds"]) == (1, 3)
    waits = [
        json.loads(e["stateEnteredEventDetails"]["input"])
        for e in events(run, "WaitStateEntered", "Backoff")
    ]  # the window is a Wait state of the state machine, not a sleeping Lambda
    assert [(w["name"], w["wait_seconds"]) for w in waits if w["name"] == absent["name"]] == [
        (absent["name"], 3)
    ]
    removed = [a for a in run.record["cleanup"]["actions"] if a["action"] == "listener.remove"]
    assert [(a["name"], a["status"]) for a in removed] == [
        ("listeners.orders", "passed"),
        ("listeners.receipts", "passed"),
    ]
    assert leftovers(local) == NONE_LEFT


def test_absent_fails_with_the_offending_event_and_leaves_nothing_behind(local: Any) -> None:
    run = start(local, NEVER)
    finish(local, [run])

    assert (run.status, run.record["status"]) == ("FAILED", "failed")
    assert "found what must not arrive" in run.record["reason"]
    assert run.record["vars"]["order_id"] in run.record["reason"]
    assert step(run, "no order event")["result"]["offending"]["detail-type"] == "OrderCreated"
    assert leftovers(local) == NONE_LEFT


def test_concurrent_runs_of_one_scenario_each_catch_their_own_events(local: Any) -> None:
    runs = [start(local, EVENTS) for _ in range(3)]
    most, deadline = 0, time.monotonic() + 60
    while most < 6 and time.monotonic() < deadline:  # until all three listen at once
        most = max(most, len(leftovers(local)["queues"]))
        time.sleep(0.3)
    finish(local, runs)

    assert most == 6  # two listeners per run, none shared

    for run in runs:
        assert run.record is not None and run.record["status"] == "passed", run.record["reason"]
        order = run.record["vars"]["order_id"]
        assert step(run, "order created event")["result"]["detail"]["order_id"] == order
    assert leftovers(local) == NONE_LEFT


STOPPED = """
name: listener-stopped
timeout_seconds: 120
listeners:
  orders:
    eventbridge:
      pattern: {source: [itest.example.orders], detail: {order_id: ["{{ run_id }}"]}}
steps:
  - name: never an order event
    action: listener.absent
    with: {listener: orders, seconds: 60}
"""


def test_a_stopped_run_leaves_no_listener_behind(local: Any, tmp_path: Path) -> None:
    """StopExecution skips the Cleanup state; the after-any-end cleanup (the execution's
    status-change event) removes the listeners all the same."""
    scenario = tmp_path / "listener-stopped.yaml"
    scenario.write_text(STOPPED)
    run = start(local, scenario)
    sfn, dynamodb = local[0].client("stepfunctions"), local[0].client("dynamodb")
    deadline = time.monotonic() + 60
    while not leftovers(local)["queues"]:  # Prepare created the listener
        assert time.monotonic() < deadline, "the listener never appeared"
        time.sleep(0.3)

    sfn.stop_execution(executionArn=run.arn, cause="pressed Stop")
    deadline = time.monotonic() + 60
    while leftovers(local) != NONE_LEFT:
        assert time.monotonic() < deadline, leftovers(local)
        time.sleep(0.5)
    finish(local, [run])
    while run.record is None or run.record["status"] == "running":  # the verdict, settled
        assert time.monotonic() < deadline, run.record
        time.sleep(0.5)
        run.record = read_run(run.run_id, table=local[1].results_table, dynamodb=dynamodb)

    assert run.status == "ABORTED"
    removed = [(a["name"], a["status"]) for a in run.record["cleanup"]["actions"]]
    assert removed == [("listeners.orders", "passed")]
