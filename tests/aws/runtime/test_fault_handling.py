"""Faults at the handlers: deadlines, crashes mid-action, redelivered events, throttled
storage, re-uploaded labels, hanging and interrupted cleanups, runs ended from outside.

Each drives the handlers as the state machine would after that fault and checks the
verdict, the reason, and that the run's test data is gone."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from itest.lambdas import cleanups, deadlines, handlers, scenario_store, states
from itest.lambdas.aws import client, is_transient
from itest.lambdas.errors import CleanupUnfinished, StateError, TransientError
from itest.lambdas.results import store
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from .machine import RUN_ID, execute, upload

pytestmark = pytest.mark.usefixtures("results_table", "orders_table")

SEED = {
    "name": "seed",
    "action": "dynamodb.put_item",
    "with": {"table": "orders", "item": {"pk": "seed-{{ run_id }}"}},
    "cleanup": {
        "action": "dynamodb.delete_item",
        "with": {"table": "orders", "key": {"pk": "seed-{{ run_id }}"}},
    },
}


def scenario(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "faults", "timeout_seconds": 60, "steps": [SEED, *steps], **extra}


def seeded_item_gone() -> bool:
    key = {"pk": {"S": f"seed-{RUN_ID}"}}
    return "Item" not in client("dynamodb").get_item(TableName="orders", Key=key)


@pytest.fixture
def posts(httpserver: HTTPServer) -> list[dict[str, Any]]:
    """A service that records every POST (its headers) and answers 201."""
    seen: list[dict[str, Any]] = []

    def create(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response("{}", status=201, content_type="application/json")

    httpserver.expect_request("/orders", method="POST").respond_with_handler(create)
    return seen


def post_step(url: str) -> dict[str, Any]:
    return {
        "name": "create order",
        "action": "http",
        "with": {
            "method": "POST",
            "url": f"{url}/orders",
            "headers": {"Idempotency-Key": "{{ attempt_id }}"},
            "json": {},
        },
        "expect": [{"path": "status", "equals": 201}],
    }


def prepared(ref: dict[str, str]) -> dict[str, Any]:
    return handlers.prepare({"input": {"scenario": ref}, "run_id": RUN_ID}, None)


def iteration(state: dict[str, Any], index: int, name: str) -> dict[str, Any]:
    return {
        "run_id": RUN_ID, "scenario": state["scenario"], "deadline": state["deadline"],
        "index": index, "name": name, "attempt": 0,
    }  # fmt: skip


class FakeContext:
    def __init__(self, remaining_ms: int) -> None:
        self.end = time.time() * 1000 + remaining_ms
        self.aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return int(self.end - time.time() * 1000)


# -- deadlines ------------------------------------------------------------------------


def test_a_slow_step_without_retry_is_cut_off_at_the_scenario_deadline(
    bucket: str, black_hole: str
) -> None:
    slow = {"name": "slow", "action": "http", "with": {"url": black_hole, "timeout": 30}}
    ref = upload(scenario(slow, timeout_seconds=2), bucket)

    started = time.monotonic()
    verdict = execute(ref, {}, states.clock).verdict  # the real clock

    assert time.monotonic() - started < 25  # the step's own timeout is 30 s
    assert verdict["status"] == "failed"
    assert "step 'slow' failed: " in verdict["reason"]
    assert "(scenario deadline)" in verdict["reason"]
    assert seeded_item_gone()


def test_an_action_gets_no_more_than_the_lambda_has_left() -> None:
    deadlines.enter(FakeContext(8000))
    try:
        limit = deadlines.budget(time.time(), time.time() + 60)
        assert limit.by == "Lambda time left"
        assert 2 <= limit.seconds <= 3  # 8 s left, 5 s kept to record the outcome
        with pytest.raises(deadlines.OutOfTime, match=r"timed out after \d s \(Lambda"):
            deadlines.run_within(deadlines.Budget(0.2, "Lambda time left"), lambda: time.sleep(2))
    finally:
        deadlines.enter(None)


# -- crashes and redelivery -----------------------------------------------------------


class Crash(BaseException):
    """The Lambda process dying mid-action."""


def test_a_crash_mid_action_still_runs_that_steps_cleanup(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = prepared(upload(scenario(), bucket))

    def die(name: str, params: dict[str, Any], scope: Any = None) -> dict[str, Any]:
        from itest.lambdas.actions.registry import run_action

        run_action(name, params, scope)  # the item is written, then the process dies
        raise Crash

    with monkeypatch.context() as patched, pytest.raises(Crash):
        patched.setattr(states, "run_action", die)
        handlers.action(iteration(state, 0, "seed"), None)
    crash = {"Error": "Runtime.ExitError", "Cause": "Runtime exited with error: signal: killed"}
    verdict = handlers.cleanup({"run_id": RUN_ID, "state": {**state, "error": crash}}, None)

    assert verdict["status"] == "error"
    assert verdict["reason"] == "Runtime.ExitError: Runtime exited with error: signal: killed"
    record = store.read_run(RUN_ID)
    assert record["steps"][0]["status"] == "running"
    assert [(a["name"], a["status"]) for a in record["cleanup"]["actions"]] == [("seed", "passed")]
    assert seeded_item_gone()


def test_a_redelivered_attempt_does_not_run_twice(
    bucket: str, httpserver: HTTPServer, posts: list[dict[str, Any]]
) -> None:
    state = prepared(upload(scenario(post_step(httpserver.url_for("")[:-1])), bucket))
    handlers.action(iteration(state, 0, "seed"), None)
    event = iteration(state, 1, "create order")

    first = handlers.action(event, None)
    again = handlers.action(event, None)  # Step Functions retried the same input

    assert (first["outcome"], again["outcome"]) == ("passed", "passed")
    assert len(posts) == 1
    assert posts[0]["Idempotency-Key"] == f"{RUN_ID}:1:1"


def test_a_redelivered_attempt_keeps_the_captures_its_first_delivery_could_not(
    bucket: str, httpserver: HTTPServer, posts: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The outcome was written, then keeping the captures was throttled: the Retry's
    delivery finds the attempt finished and keeps them, so the next step sees them."""
    create = {**post_step(httpserver.url_for("")[:-1]), "capture": {"code": "status"}}
    check = {"name": "check", "action": "wait", "with": {"seconds": "{{ vars.code }}"}}
    state = prepared(upload(scenario(create, check, timeout_seconds=600), bucket))
    handlers.action(iteration(state, 0, "seed"), None)
    event = iteration(state, 1, "create order")
    with monkeypatch.context() as patched:
        patched.setattr(store, "remember_captures", lambda *_: throttled_transient())
        with pytest.raises(TransientError):
            handlers.action(event, None)

    again = handlers.action(event, None)  # Step Functions retried the same input
    waits = handlers.action(iteration(state, 2, "check"), None)

    assert again["outcome"] == "passed"
    assert len(posts) == 1
    assert (waits["outcome"], waits["wait_seconds"]) == ("retry", 201)


def throttled_transient() -> None:
    raise TransientError("keeping a step's captures: slow down")


def test_a_redelivered_attempt_that_never_finished_fails_the_step(
    bucket: str, httpserver: HTTPServer, posts: list[dict[str, Any]]
) -> None:
    state = prepared(upload(scenario(post_step(httpserver.url_for("")[:-1])), bucket))
    handlers.action(iteration(state, 0, "seed"), None)
    store.claim_attempt(
        RUN_ID, index=1, name="create order", action="http", attempt=1, started_at="x"
    )  # the first delivery started, then its Lambda died

    again = handlers.action(iteration(state, 1, "create order"), None)
    verdict = handlers.cleanup({"run_id": RUN_ID, "state": state}, None)

    assert posts == []
    assert again["outcome"] == "failed"
    assert "delivered again after it had started" in again["reason"]
    assert verdict["status"] == "failed"
    assert "not run twice" in verdict["reason"]
    assert seeded_item_gone()


def test_a_step_after_one_that_did_not_pass_is_refused(
    bucket: str, httpserver: HTTPServer, posts: list[dict[str, Any]]
) -> None:
    state = prepared(upload(scenario(post_step(httpserver.url_for("")[:-1])), bucket))

    refused = handlers.action(iteration(state, 1, "create order"), None)  # step 0 never ran

    assert refused["outcome"] == "failed"
    assert refused["reason"] == (
        "step 'create order' not run: it follows step 'seed', which has not run"
    )
    assert posts == []


def test_no_step_runs_once_the_run_was_settled(bucket: str) -> None:
    ref = upload(scenario(), bucket)
    execute(ref, {}, states.clock)  # passed and cleaned up
    state = {"scenario": store.read_run(RUN_ID)["scenario_ref"], "deadline": time.time() + 60}

    redriven = handlers.action(iteration(state, 0, "seed"), None)

    assert redriven["outcome"] == "failed"
    assert redriven["reason"] == (
        "step 'seed' not run: the run has ended (passed) and was cleaned up; "
        "start a new execution to run it again"
    )
    assert seeded_item_gone()


# -- transient storage errors -----------------------------------------------------------


def throttled(operation: str) -> ClientError:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


def test_throttled_storage_is_a_transient_error_the_state_machine_retries(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = prepared(upload(scenario(), bucket))
    table = client("dynamodb")

    def put_item(**kwargs: Any) -> None:
        raise throttled("PutItem")

    with monkeypatch.context() as patched:
        patched.setattr(table, "put_item", put_item)
        patched.setattr(table, "update_item", put_item)
        with pytest.raises(TransientError, match="recording a step as started"):
            handlers.action(iteration(state, 0, "seed"), None)
    retried = handlers.action(iteration(state, 0, "seed"), None)  # the Retry, later

    assert retried["outcome"] == "passed"
    assert is_transient(throttled("Query"))
    five_hundred = {"Error": {"Code": "Oops"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
    assert is_transient(ClientError(five_hundred, "GetObject"))
    denied = {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
    assert not is_transient(ClientError(denied, "GetObject"))


# -- pinned scenarios -------------------------------------------------------------------


def test_a_running_execution_keeps_the_scenario_it_started_with(bucket: str) -> None:
    client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    key = scenario_store.scenario_key("faults", "release")
    ref = {"bucket": bucket, "key": key}
    first = {"name": "first version", "action": "dynamodb.get_item",
             "with": {"table": "orders", "key": {"pk": "none"}}}  # fmt: skip
    _put_label(bucket, key, scenario(first))
    state = prepared(ref)
    _put_label(bucket, key, scenario(dict(first, name="second version")))  # re-uploaded

    handlers.action(iteration(state, 0, "seed"), None)
    ran = handlers.action(iteration(state, 1, "first version"), None)
    later = handlers.prepare({"input": {"scenario": ref}, "run_id": "later"}, None)

    assert ran["outcome"] == "passed"  # the step of the version it started with
    assert [s["name"] for s in later["steps"]] == ["seed", "second version"]
    assert state["scenario"]["version"] != later["scenario"]["version"]


def test_without_versions_a_changed_object_is_refused_not_run(bucket: str) -> None:
    key = scenario_store.scenario_key("faults", "release")
    _put_label(bucket, key, scenario())
    state = prepared({"bucket": bucket, "key": key})
    _put_label(bucket, key, scenario(dict(SEED, name="another")))
    scenario_store._cache.clear()  # another container

    with pytest.raises(StateError, match="changed since this execution started"):
        handlers.action(iteration(state, 0, "seed"), None)


def _put_label(bucket: str, key: str, data: dict[str, Any]) -> None:
    from itest.lambdas.scenario.loading import load_scenario

    text = load_scenario(json.dumps(data), source="test.json").to_json()
    client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode())


# -- cleanup: budgets, once, take-over, ends from outside -----------------------------------


def test_a_hanging_cleanup_uses_its_budget_and_the_others_still_run(
    bucket: str, black_hole: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEANUP_ACTION_SECONDS", "1")
    hang = {"action": "http", "with": {"url": black_hole, "timeout": 30}}
    ref = upload(scenario(cleanup=[hang]), bucket)

    started = time.monotonic()
    verdict = execute(ref, {}, states.clock).verdict

    assert time.monotonic() - started < 25  # the hanging action's own timeout is 30 s
    assert verdict["status"] == "failed"  # a red cleanup is a red run
    assert verdict["reason"].startswith("cleanup: 1 of 2 failed, first 'cleanup[0]': ")
    assert verdict["reason"].endswith(": timed out after 1 s (cleanup budget)")
    record = store.read_run(RUN_ID)
    assert record["status"] == "failed"
    assert seeded_item_gone()


def test_cleanup_runs_once_whoever_triggers_it(bucket: str) -> None:
    ref = upload(scenario(), bucket)
    verdict = execute(ref, {}, states.clock).verdict
    client("dynamodb").put_item(TableName="orders", Item={"pk": {"S": f"seed-{RUN_ID}"}})

    stopped = handlers.cleanup(status_change("FAILED"), None)  # the rule, after the end

    assert stopped == verdict
    assert not seeded_item_gone()  # the cleanup did not run a second time


def test_a_stopped_execution_is_cleaned_up_by_the_status_change_event(bucket: str) -> None:
    state = prepared(upload(scenario(), bucket))
    handlers.action(iteration(state, 0, "seed"), None)

    verdict = handlers.cleanup(status_change("ABORTED"), None)

    assert verdict["status"] == "error"
    assert verdict["reason"] == "States.Aborted: the execution was stopped (StopExecution)"
    assert store.read_run(RUN_ID)["status"] == "error"
    assert seeded_item_gone()


def test_a_cleanup_whose_lambda_died_is_taken_over_without_repeating_an_action(
    bucket: str, httpserver: HTTPServer
) -> None:
    deletes: list[str] = []
    httpserver.expect_request("/gone").respond_with_handler(
        lambda request: deletes.append(request.path) or Response("", status=204)
    )
    first = {"action": "http", "with": {"method": "DELETE", "url": httpserver.url_for("/gone")}}
    state = prepared(upload(scenario(cleanup=[first, first]), bucket))
    handlers.action(iteration(state, 0, "seed"), None)
    handlers.assert_({"run_id": RUN_ID, "scenario": state["scenario"]}, None)
    now = time.time()
    store.claim_cleanup(RUN_ID, owner="dead", now=now, lease_until=now - 1)
    store.cleanup_progress(
        RUN_ID,
        owner="dead",
        actions=[{"name": "seed", "action": "dynamodb.delete_item", "status": "passed",
                  "error": None}],
        current="cleanup[0]",
    )  # fmt: skip

    verdict = handlers.cleanup({"run_id": RUN_ID, "state": state}, None)

    actions = store.read_run(RUN_ID)["cleanup"]["actions"]
    assert [(a["name"], a["status"]) for a in actions] == [
        ("seed", "passed"), ("cleanup[0]", "failed"), ("cleanup[1]", "passed"),
    ]  # fmt: skip
    assert "not run twice" in actions[1]["error"]
    assert deletes == ["/gone"]  # cleanup[1] only
    assert verdict["status"] == "failed"  # a red cleanup is a red run
    assert verdict["reason"].startswith("cleanup: 1 of 3 failed, first 'cleanup[0]': did not")


def test_out_of_lambda_time_cleanup_hands_over_to_the_next_invocation(bucket: str) -> None:
    state = prepared(upload(scenario(cleanup=[SEED["cleanup"]]), bucket))
    handlers.action(iteration(state, 0, "seed"), None)
    handlers.assert_({"run_id": RUN_ID, "scenario": state["scenario"]}, None)

    with pytest.raises(CleanupUnfinished):
        handlers.cleanup({"run_id": RUN_ID, "state": state}, FakeContext(5500))
    assert store.read_run(RUN_ID)["status"] == "running"
    verdict = handlers.cleanup({"run_id": RUN_ID, "state": state}, None)  # the Retry

    assert verdict["status"] == "passed"
    assert seeded_item_gone()
    assert cleanups.ACTION_SECONDS > 1


def status_change(status: str) -> dict[str, Any]:
    """What EventBridge delivers for an execution's status change (aws.states)."""
    return {
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:sm:{RUN_ID}",
            "name": RUN_ID,
            "status": status,
            "error": None,
            "cause": None,
        },
    }
