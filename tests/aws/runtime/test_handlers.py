"""The four handlers driven as the state machine drives them, against moto and a
real loopback HTTP server."""

from __future__ import annotations

import copy
import hashlib
import json
import socket
from typing import Any

import pytest
from itest.lambdas import handlers
from itest.lambdas.actions.registry import run_action
from itest.lambdas.aws import client
from itest.lambdas.errors import ScenarioError, SecretError, StateError
from itest.lambdas.results import store
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from .machine import RUN_ID, Clock, event, execute, upload

pytestmark = pytest.mark.usefixtures("results_table", "orders_table")

TOKEN = "s3cr3t-token"
SCENARIO: dict[str, Any] = {
    "name": "orders-flow",
    "timeout_seconds": 120,
    "vars": {"api": "{{ vars.api_url }}", "order_id": "itest-{{ run_id }}"},
    "secrets": {"token": "ssm:/itest/token"},
    "steps": [
        {
            "name": "create order",
            "action": "http",
            "with": {
                "method": "POST",
                "url": "{{ vars.api }}/orders",
                "headers": {"Authorization": "Bearer {{ secret.token }}"},
                "json": {"id": "{{ vars.order_id }}", "qty": 2},
            },
            "expect": [
                {"path": "status", "equals": 201},
                {"path": "json", "subset": {"id": "{{ vars.order_id }}", "qty": 2}},
            ],
            "capture": {"created_at": "json.created_at"},
            "cleanup": {
                "action": "http",
                "with": {"method": "DELETE", "url": "{{ vars.api }}/orders/{{ vars.order_id }}"},
            },
        },
        {
            "name": "order stored",
            "action": "dynamodb.get_item",
            "with": {
                "table": "orders",
                "key": {"pk": "{{ vars.order_id }}"},
                "consistent_read": True,
            },
            "expect": [
                {"path": "item.status", "equals": "PENDING"},
                {"path": "item.created_at", "equals": "{{ vars.created_at }}"},
            ],
            "retry": {"timeout_seconds": 5, "interval_seconds": 1, "backoff": 2},
            "stop_if": [{"path": "item.status", "equals": "FAILED"}],
            "cleanup": {
                "action": "dynamodb.delete_item",
                "with": {"table": "orders", "key": {"pk": "{{ vars.order_id }}"}},
            },
        },
    ],
    "assertions": [
        {"path": "vars.created_at", "exists": True},
        {"path": 'steps."order stored".status', "equals": "passed"},
    ],
    "cleanup": [
        {"action": "dynamodb.delete_item", "with": {"table": "orders", "key": {"pk": "marker"}}}
    ],
}
ORDER_ID = f"itest-{RUN_ID}"
CREATED_AT = "2026-11-21T23:21:00Z"


@pytest.fixture(autouse=True)
def token() -> None:
    client("ssm").put_parameter(Name="/itest/token", Value=TOKEN, Type="SecureString")


@pytest.fixture
def api(httpserver: HTTPServer) -> HTTPServer:
    """The service under test: creates orders (echoing the auth header), deletes them."""

    def create(request: Request) -> Response:
        order = request.get_json()
        body = {**order, "created_at": CREATED_AT, "auth": request.headers.get("Authorization")}
        return Response(json.dumps(body), status=201, content_type="application/json")

    httpserver.expect_request("/orders", method="POST").respond_with_handler(create)
    httpserver.expect_request(f"/orders/{ORDER_ID}", method="DELETE").respond_with_data(
        "", status=204
    )
    return httpserver


def scenario(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SCENARIO), **changes}


def store_order(status: str = "PENDING") -> None:
    item = {"pk": ORDER_ID, "status": status, "created_at": CREATED_AT}
    run_action("dynamodb.put_item", {"table": "orders", "item": item})


def store_after_first_attempt(iteration: dict[str, Any]) -> None:
    """Eventual consistency: the order shows up only after the first poll."""
    if iteration["name"] == "order stored" and iteration["attempt"] == 1:
        store_order()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_passing_run_polls_captures_asserts_and_cleans_up(
    bucket: str, api: HTTPServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="itest")
    ref = upload(scenario(), bucket)

    execution = execute(
        ref, {"api_url": api.url_for("")}, clock, after_action=store_after_first_attempt
    )

    assert execution.verdict == {
        "run_id": RUN_ID,
        "scenario": "orders-flow",
        "status": "passed",
        "reason": None,
    }
    assert execution.prepared is not None
    assert execution.prepared["deadline"] == 1_800_000_000.0 + 120
    assert execution.prepared["steps"] == [
        {"index": 0, "name": "create order"},
        {"index": 1, "name": "order stored"},
    ]
    assert [(i["name"], i["attempt"], i["outcome"]) for i in execution.iterations] == [
        ("create order", 1, "passed"),
        ("order stored", 1, "retry"),
        ("order stored", 2, "passed"),
    ]
    assert execution.waits == [1]

    record = store.read_run(RUN_ID)
    assert record is not None
    assert record["status"] == "passed"
    assert record["vars"] == {
        "api_url": api.url_for(""),
        "api": api.url_for(""),
        "order_id": ORDER_ID,
    }
    created, stored = record["steps"]
    assert created["captures"] == {"created_at": CREATED_AT}
    assert created["result"]["json"]["auth"] == "Bearer ***"  # the secret never reaches the table
    assert TOKEN not in json.dumps(record)
    assert TOKEN not in caplog.text
    assert '"event": "run.finished"' in caplog.text
    assert (stored["status"], stored["attempts"], stored["duration_ms"]) == ("passed", 2, 1000)
    assert record["assertions"] == {"status": "passed", "mismatches": [], "error": None}
    assert record["cleanup"] is not None
    assert [(a["name"], a["status"]) for a in record["cleanup"]["actions"]] == [
        ("order stored", "passed"),  # step cleanups newest first, then the scenario's
        ("create order", "passed"),
        ("cleanup[0]", "passed"),
    ]
    assert run_action("dynamodb.get_item", {"table": "orders", "key": {"pk": ORDER_ID}}) == {
        "item": None
    }
    assert [(r.method, r.path) for r, _ in api.log][-1] == ("DELETE", f"/orders/{ORDER_ID}")


def test_polling_gives_up_when_the_retry_window_closes(
    bucket: str, api: HTTPServer, clock: Clock
) -> None:
    ref = upload(scenario(), bucket)

    execution = execute(ref, {"api_url": api.url_for("")}, clock)

    assert execution.waits == [1, 2, 2]  # 1 * 2^0, 1 * 2^1, then cut to the 2 s left of 5
    assert execution.iterations[-1]["attempt"] == 4
    assert execution.verdict["status"] == "failed"
    assert execution.verdict["reason"] == (
        "step 'order stored' failed after 4 attempts:"
        " item.status: expected 'PENDING', got null (and 1 more)"
    )
    assert execution.iterations[-1]["reason"] == execution.verdict["reason"]
    record = store.read_run(RUN_ID)
    assert record is not None
    assert record["steps"][1]["status"] == "failed"
    assert record["assertions"] is None  # a failed step skips Assert
    assert [a["name"] for a in record["cleanup"]["actions"]] == [
        "order stored",
        "create order",
        "cleanup[0]",
    ]


def test_pending_is_recorded_between_attempts(bucket: str, api: HTTPServer, clock: Clock) -> None:
    ref = upload(scenario(), bucket)
    seen: list[str] = []

    def look(iteration: dict[str, Any]) -> None:
        if iteration["outcome"] == "retry":
            run_record = store.read_run(RUN_ID)
            assert run_record is not None
            record = run_record["steps"][iteration["index"]]
            seen.append(record["status"])
            assert iteration["reason"].startswith("step 'order stored' is still failing")

    execute(ref, {"api_url": api.url_for("")}, clock, after_action=look)

    assert seen == ["pending", "pending", "pending"]


def test_stop_if_fails_at_once(bucket: str, api: HTTPServer, clock: Clock) -> None:
    store_order("FAILED")
    ref = upload(scenario(), bucket)

    execution = execute(ref, {"api_url": api.url_for("")}, clock)

    assert execution.waits == []
    assert execution.verdict["reason"] == (
        "step 'order stored' failed: stop_if holds: item.status is 'FAILED' (equals 'FAILED')"
    )


def test_the_run_deadline_caps_the_waits(bucket: str, api: HTTPServer, clock: Clock) -> None:
    doc = scenario(timeout_seconds=5)
    doc["steps"][1]["retry"] = {"timeout_seconds": 5, "interval_seconds": 5}
    ref = upload(doc, bucket)

    def slow_first_step(iteration: dict) -> None:
        if iteration["index"] == 0:
            clock.now += 3  # the first step took 3 s of the run's 5

    execution = execute(ref, {"api_url": api.url_for("")}, clock, after_action=slow_first_step)

    assert execution.waits == [2]
    assert execution.verdict["status"] == "failed"
    assert "after 2 attempts" in execution.verdict["reason"]


def test_a_failed_step_skips_the_rest_and_only_cleans_what_ran(
    bucket: str, httpserver: HTTPServer, clock: Clock
) -> None:
    httpserver.expect_request("/orders", method="POST").respond_with_json(
        {"error": "boom"}, status=500
    )
    ref = upload(scenario(), bucket)

    execution = execute(ref, {"api_url": httpserver.url_for("")}, clock)

    assert execution.verdict["status"] == "failed"
    assert execution.verdict["reason"].startswith(
        "step 'create order' failed: status: expected 201, got 500 (and 1 more)"
    )
    assert execution.cleanup_state is not None
    assert execution.cleanup_state["error"]["Error"] == "StepFailed"
    record = store.read_run(RUN_ID)
    assert record is not None
    assert [s["status"] for s in record["steps"]] == ["failed", "skipped"]
    assert [m["path"] for m in record["steps"][0]["mismatches"]] == ["status", "json"]
    assert [a["name"] for a in record["cleanup"]["actions"]] == ["create order", "cleanup[0]"]
    # the DELETE of the step cleanup had no handler on this server: an http cleanup
    # without expect fails on a status >= 400
    assert record["cleanup"]["status"] == "failed"
    assert record["cleanup"]["actions"][0]["error"].startswith("status 500 (an http cleanup")


def test_an_action_error_is_a_failed_step_with_the_reason(bucket: str, clock: Clock) -> None:
    doc = scenario()
    del doc["steps"][0]["cleanup"]
    ref = upload(doc, bucket)
    port = closed_port()

    execution = execute(ref, {"api_url": f"http://127.0.0.1:{port}"}, clock)

    assert execution.verdict["status"] == "failed"
    assert execution.verdict["reason"].startswith(
        f"step 'create order' failed: http POST http://127.0.0.1:{port}/orders:"
        " connection failed: [Errno"
    )
    record = store.read_run(RUN_ID)
    assert record is not None
    assert record["steps"][0]["error"] == execution.verdict["reason"].removeprefix(
        "step 'create order' failed: "
    )
    assert record["steps"][0]["result"] is None


def test_a_prepare_failure_ends_in_error_with_the_cause(bucket: str, clock: Clock) -> None:
    ref = upload(scenario(), bucket)

    execution = execute(ref, {}, clock)  # no api_url: vars.api cannot render

    assert execution.prepared is None
    assert execution.verdict["status"] == "error"
    assert execution.verdict["reason"].startswith("TemplateError: unknown name 'vars.api_url'")
    record = store.read_run(RUN_ID)
    assert record is not None
    assert (record["status"], record["scenario"]) == ("error", "orders-flow")
    assert [s["status"] for s in record["steps"]] == ["skipped", "skipped"]
    assert record["cleanup"] is None  # nothing ran, nothing to clean


def test_failed_assertions_fail_the_run(bucket: str, api: HTTPServer, clock: Clock) -> None:
    store_order()
    doc = scenario(
        assertions=[
            {"path": "vars.order_id", "equals": "other"},
            {"path": "vars.nope", "exists": True},
        ]
    )
    ref = upload(doc, bucket)

    execution = execute(ref, {"api_url": api.url_for("")}, clock)

    assert execution.verdict["status"] == "failed"
    assert execution.verdict["reason"] == (
        f"assertion failed: vars.order_id: expected 'other', got '{ORDER_ID}' (and 1 more)"
    )
    record = store.read_run(RUN_ID)
    assert record is not None
    assert len(record["assertions"]["mismatches"]) == 2


def test_every_cleanup_is_attempted_and_a_red_cleanup_is_a_red_run(
    bucket: str, api: HTTPServer, clock: Clock
) -> None:
    store_order()
    port = closed_port()
    doc = scenario()
    doc["cleanup"] = [
        {"action": "http", "with": {"url": f"http://127.0.0.1:{port}/purge"}},
        {"action": "dynamodb.delete_item", "with": {"table": "orders", "key": {"pk": "marker"}}},
    ]
    ref = upload(doc, bucket)

    execution = execute(ref, {"api_url": api.url_for("")}, clock)

    assert execution.verdict["status"] == "failed"  # the steps passed; the data may be left
    assert execution.verdict["reason"].startswith(
        "cleanup: 1 of 4 failed, first 'cleanup[0]': http GET"
    )
    record = store.read_run(RUN_ID)
    assert record is not None
    assert [(a["name"], a["status"]) for a in record["cleanup"]["actions"]] == [
        ("order stored", "passed"),
        ("create order", "passed"),
        ("cleanup[0]", "failed"),
        ("cleanup[1]", "passed"),
    ]


def test_a_cleanup_allowed_to_fail_is_reported_and_the_run_passes(
    bucket: str, api: HTTPServer, clock: Clock
) -> None:
    store_order()
    doc = scenario()
    doc["cleanup"] = [{"action": "http", "allow_failure": True,
                       "with": {"url": f"http://127.0.0.1:{closed_port()}/purge"}}]
    execution = execute(upload(doc, bucket), {"api_url": api.url_for("")}, clock)

    assert execution.verdict["status"] == "passed"
    record = store.read_run(RUN_ID)
    assert record is not None
    assert record["cleanup"]["status"] == "passed"
    (allowed,) = [a for a in record["cleanup"]["actions"] if a["name"] == "cleanup[0]"]
    assert allowed["status"] == "failed" and allowed["allow_failure"] is True


def test_a_crash_after_a_passed_step_is_an_error(
    bucket: str, api: HTTPServer, clock: Clock
) -> None:
    store_order()
    ref = upload(scenario(), bucket)

    def crash(iteration: dict[str, Any]) -> None:
        if iteration["index"] == 1 and iteration["outcome"] == "passed":
            raise TimedOut("Task timed out after 120.00 seconds")

    verdict = execute(ref, {"api_url": api.url_for("")}, clock, after_action=crash).verdict

    assert verdict["status"] == "error"
    assert verdict["reason"] == "TimedOut: Task timed out after 120.00 seconds"
    again = handlers.cleanup({"run_id": RUN_ID, "state": {"scenario": ref}}, None)
    assert again == verdict  # settled once: a second trigger changes nothing


class TimedOut(Exception):
    """Stands for a Lambda that timed out (its error name is the class name)."""


def test_recorded_events_drive_the_handlers(bucket: str, api: HTTPServer, clock: Clock) -> None:
    """The payloads a local execution sent (tests/events), fed to the handlers."""
    recorded_run = event("prepare")["run_id"]
    began = clock.now
    item = {"pk": f"itest-{recorded_run}", "status": "PENDING", "created_at": CREATED_AT}
    api.expect_request(f"/orders/itest-{recorded_run}", method="DELETE").respond_with_data(
        "", status=204
    )
    ref = upload(scenario(), bucket)
    key_only = {"key": ref["key"]}  # the bucket defaults to SCENARIO_BUCKET
    api_vars = {"api_url": api.url_for("")}

    prepared = handlers.prepare(
        event("prepare", input={"scenario": key_only, "vars": api_vars}), None
    )
    first = handlers.action(event("action", scenario=ref, deadline=prepared["deadline"]), None)
    again = event(
        "action_after_retry", scenario=ref, deadline=prepared["deadline"], name="order stored"
    )
    polled = handlers.action({**again, "attempt": 0}, None)  # the first poll: nothing yet
    run_action("dynamodb.put_item", {"table": "orders", "item": item})
    clock.now += again["wait_seconds"]
    second = handlers.action(again, None)
    asserted = handlers.assert_(event("assert", scenario=ref), None)
    cleanup_event = event("cleanup")
    verdict = handlers.cleanup(
        {**cleanup_event, "state": {**cleanup_event["state"], **prepared}}, None
    )

    assert prepared["run_id"] == recorded_run
    pinned = hashlib.sha256(client("s3").get_object(**_s3(ref))["Body"].read()).hexdigest()
    assert prepared["scenario"] == {**ref, "sha256": pinned}  # the bucket keeps no versions
    assert prepared["steps"] == [
        {"index": 0, "name": "create order"},
        {"index": 1, "name": "order stored"},
    ]
    assert first == {
        **event("action", scenario=ref, deadline=prepared["deadline"]),
        "attempt": 1,
        "outcome": "passed",
        "wait_seconds": 1,
        "reason": None,
        "started_at": began,
        "spent_ms": 0.0,  # the clock stands still: the action took no time...
        "engine_ms": 0.0,  # ...and neither did the handler's reads
    }
    assert polled.keys() == again.keys()
    assert (polled["attempt"], polled["outcome"], polled["wait_seconds"]) == (1, "retry", 1)
    assert (second["attempt"], second["outcome"], second["reason"]) == (2, "passed", None)
    assert asserted == {"status": "passed"}
    assert verdict == {
        "run_id": recorded_run,
        "scenario": "orders-flow",
        "status": "passed",
        "reason": None,
    }
    record = store.read_run(recorded_run)
    assert record is not None
    assert (record["steps"][1]["attempts"], record["steps"][1]["duration_ms"]) == (2, 1000)


def test_the_recorded_prepare_failure_settles_as_error(bucket: str, clock: Clock) -> None:
    recorded = event("cleanup_after_prepare_error")
    recorded["state"]["scenario"] = upload(scenario(), bucket)

    verdict = handlers.cleanup(recorded, None)

    assert verdict["status"] == "error"
    assert verdict["reason"] == (
        "TemplateError: unknown name 'vars.nope' in template {{ vars.nope }};"
        " vars has: api_url, orders_table, receipts_bucket"
    )


def test_a_failed_step_reaches_cleanup_as_recorded(
    bucket: str, httpserver: HTTPServer, clock: Clock
) -> None:
    """The simulated Catch gives Cleanup the same state a local execution gave it."""
    httpserver.expect_request("/orders", method="POST").respond_with_json({}, status=500)
    httpserver.expect_request(f"/orders/{ORDER_ID}", method="DELETE").respond_with_data(
        "", status=204
    )
    execution = execute(upload(scenario(), bucket), {"api_url": httpserver.url_for("")}, clock)
    recorded = event("cleanup_after_step_failed")["state"]

    assert execution.cleanup_state is not None
    assert execution.cleanup_state.keys() == recorded.keys()
    assert execution.cleanup_state["error"].keys() == recorded["error"].keys()
    assert execution.cleanup_state["error"]["Error"] == recorded["error"]["Error"] == "StepFailed"
    assert execution.cleanup_state["error"]["Cause"] == execution.verdict["reason"]


def test_an_iteration_that_does_not_match_the_scenario_is_a_state_error(
    bucket: str, clock: Clock
) -> None:
    ref = upload(scenario(), bucket)
    with pytest.raises(StateError, match="no step 0 named 'other'"):
        handlers.action(event("action", scenario=ref, name="other"), None)


def test_a_missing_secret_raises_for_the_catch(bucket: str, api: HTTPServer, clock: Clock) -> None:
    doc = scenario(secrets={"token": "ssm:/missing"})
    ref = upload(doc, bucket)
    handlers.prepare(
        event("prepare", input={"scenario": ref, "vars": {"api_url": api.url_for("")}}), None
    )
    with pytest.raises(SecretError, match="ParameterNotFound"):
        handlers.action(event("action", scenario=ref), None)


def test_prepare_rejects_an_invalid_scenario_object(bucket: str, clock: Clock) -> None:
    client("s3").put_object(
        Bucket=bucket, Key="scenarios/bad.json", Body=b'{"name": "Bad", "steps": []}'
    )
    with pytest.raises(ScenarioError) as caught:
        handlers.prepare(
            event("prepare", input={"scenario": {"bucket": bucket, "key": "scenarios/bad.json"}}),
            None,
        )
    assert {p["file"] for p in caught.value.problems} == {f"s3://{bucket}/scenarios/bad.json"}


def test_prepare_reports_a_missing_object(bucket: str, clock: Clock) -> None:
    with pytest.raises(StateError, match="NoSuchKey"):
        handlers.prepare(
            event("prepare", input={"scenario": {"bucket": bucket, "key": "nope.json"}}), None
        )


def test_cleanup_goes_on_without_secrets(bucket: str, api: HTTPServer, clock: Clock) -> None:
    doc = scenario(secrets={"token": "ssm:/missing"})
    doc["cleanup"] = [
        {
            "action": "http",
            "with": {"url": "{{ vars.api }}/purge", "headers": {"X": "{{ secret.token }}"}},
        },
        {"action": "dynamodb.delete_item", "with": {"table": "orders", "key": {"pk": "marker"}}},
    ]
    ref = upload(doc, bucket)

    execution = execute(ref, {"api_url": api.url_for("")}, clock)

    assert execution.verdict["status"] == "error"
    assert execution.verdict["reason"].startswith(
        "SecretError: secret 'token' (ssm:/missing): ParameterNotFound"
    )
    assert (
        "cleanup: 1 of 2 failed, first 'cleanup[0]': unknown name 'secret.token'"
        in execution.verdict["reason"]
    )
    record = store.read_run(RUN_ID)
    assert record is not None
    assert [a["status"] for a in record["cleanup"]["actions"]] == ["failed", "passed"]


def _s3(ref: dict[str, str]) -> dict[str, str]:
    return {"Bucket": ref["bucket"], "Key": ref["key"]}
