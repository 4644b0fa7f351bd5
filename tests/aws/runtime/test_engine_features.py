"""Features of the format driven through the handlers as the state machine runs them:
``wait`` as a Wait state, big results kept in the bucket, secrets masked in their
echoed forms, all mismatches of a step reported together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from itest.lambdas.aws import client
from itest.lambdas.results import records, store
from pytest_httpserver import HTTPServer

from .machine import RUN_ID, Clock, execute, upload

pytestmark = pytest.mark.usefixtures("results_table")

SECRET = "p@ss word/42"


def scenario(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "features", "timeout_seconds": 60, "steps": list(steps), **extra}


def test_wait_is_one_wait_state_between_two_attempts(bucket: str, clock: Clock) -> None:
    ref = upload(
        scenario(
            {"name": "pause", "action": "wait", "with": {"seconds": 6.5}},
            {"name": "after", "action": "wait", "with": {"seconds": 1}},
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict
    assert [(i["name"], i["outcome"], i["wait_seconds"]) for i in execution.iterations] == [
        ("pause", "retry", 7),  # rounded up to whole seconds
        ("pause", "passed", 1),
        ("after", "retry", 1),
        ("after", "passed", 1),
    ]
    pause = store.read_run(RUN_ID)["steps"][0]
    assert (pause["status"], pause["attempts"], pause["result"]) == ("passed", 1, {"seconds": 7})
    assert pause["duration_ms"] == 7000


def test_a_wait_longer_than_the_time_left_fails_at_once(bucket: str, clock: Clock) -> None:
    ref = upload(
        scenario(
            {"name": "first", "action": "wait", "with": {"seconds": 30}},
            {"name": "second", "action": "wait", "with": {"seconds": 25}},
            timeout_seconds=50,
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.waits == [30]
    assert execution.verdict["status"] == "failed"
    assert execution.verdict["reason"] == (
        "step 'second' failed: a wait of 25 s would outlast the run (20 s left of its timeout)"
    )


def test_a_big_result_is_kept_whole_in_the_bucket(
    bucket: str, httpserver: HTTPServer, clock: Clock
) -> None:
    body = {"rows": [{"n": i, "text": "x" * 40} for i in range(3000)]}
    httpserver.expect_request("/big").respond_with_json(body)
    ref = upload(
        scenario(
            {
                "name": "download",
                "action": "http",
                "with": {"url": httpserver.url_for("/big")},
                "expect": [{"path": "length(json.rows)", "equals": 3000}],
                "capture": {"last": "json.rows[-1].n"},
            }
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "passed"  # expect and capture saw the whole result
    step = store.read_run(RUN_ID)["steps"][0]
    assert step["captures"] == {"last": 2999}
    assert step["result"]["status"] == 200 and "more items]" in step["result"]["json"]["rows"][-1]
    assert step["result_ref"] == f"s3://{bucket}/results/{RUN_ID}/0.json"
    kept = client("s3").get_object(Bucket=bucket, Key=f"results/{RUN_ID}/0.json")
    assert json.loads(kept["Body"].read())["json"] == body
    assert all(len(json.dumps(i)) < 2048 for i in execution.iterations)  # what travels


def test_echoed_secrets_are_masked_in_every_form(
    bucket: str, httpserver: HTTPServer, clock: Clock
) -> None:
    client("ssm").put_parameter(Name="/itest/pw", Value=SECRET, Type="SecureString")

    def echo(request: Any) -> Any:
        from werkzeug import Response

        text = json.dumps({"query": request.query_string.decode(), "auth": request.headers["X"]})
        return Response(text, content_type="application/json")

    httpserver.expect_request("/echo").respond_with_handler(echo)
    ref = upload(
        scenario(
            {
                "name": "echo",
                "action": "http",
                "with": {
                    "url": httpserver.url_for("/echo"),
                    "query": {"pw": "{{ secret.pw }}"},
                    "headers": {"X": "{{ secret.pw }}"},
                },
                "expect": [{"path": "json.auth", "equals": "nope"}],
            },
            secrets={"pw": "ssm:/itest/pw"},
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    record = store.read_run(RUN_ID)
    text = json.dumps(record) + json.dumps(execution.verdict) + json.dumps(execution.iterations)
    for form in (SECRET, "p%40ss+word%2F42", "p%40ss%20word%2F42"):
        assert form not in text
    assert record["steps"][0]["result"]["json"] == {"query": "pw=***", "auth": "***"}
    assert record["steps"][0]["mismatches"][0]["actual"] == "***"


def test_every_mismatch_of_a_step_is_reported_with_path_expected_actual(
    bucket: str, httpserver: HTTPServer, clock: Clock
) -> None:
    httpserver.expect_request("/o").respond_with_json({"id": "o-1", "qty": 2, "tags": ["a"]})
    ref = upload(
        scenario(
            {
                "name": "check",
                "action": "http",
                "with": {"url": httpserver.url_for("/o")},
                "expect": [
                    {"path": "status", "equals": 200},
                    {"path": "json.qty", "gt": 5, "one_of": [1, 3]},
                    {"path": "json.tags", "contains": "b", "length": 2},
                    {"path": "json", "schema": {"required": ["price"]}},
                ],
            }
        ),
        bucket,
    )

    execution = execute(ref, {}, clock)

    mismatches = store.read_run(RUN_ID)["steps"][0]["mismatches"]
    assert [(m["path"], m["matcher"], m["expected"], m["actual"]) for m in mismatches] == [
        ("json.qty", "gt", 5, 2),
        ("json.qty", "one_of", [1, 3], 2),
        ("json.tags", "contains", "b", ["a"]),
        ("json.tags", "length", 2, ["a"]),
        ("json", "schema", {"required": ["price"]}, {"id": "o-1", "qty": 2, "tags": ["a"]}),
    ]
    assert "(and 4 more)" in execution.verdict["reason"]


def passed_record(index: int, name: str) -> records.StepRecord:
    return {
        "index": index, "name": name, "action": "http", "status": "passed", "attempts": 1,
        "started_at": None, "ended_at": None, "duration_ms": 0, "captures": {},
        "result": None, "mismatches": [], "error": None,
    }  # fmt: skip


def test_the_recorded_wait_state_drives_the_action_handler(bucket: str, clock: Clock) -> None:
    """tests/events/action_wait.json: what the Backoff state got after a wait step's first
    attempt on the local state machine; the attempt after it passes."""
    from itest.lambdas import handlers
    from itest.lambdas.scenario.loading import load_scenario_file
    from itest.lambdas.scenario_store import scenario_key

    from .machine import EVENTS

    recorded = json.loads((EVENTS / "action_wait.json").read_text())
    shipped = load_scenario_file(Path(__file__).parents[3] / "scenarios" / "aws-messaging.yaml")
    key = scenario_key("aws-messaging", "recorded")
    client("s3").put_object(Bucket=bucket, Key=key, Body=shipped.to_json().encode())
    ref = {"bucket": bucket, "key": key}
    prepared = handlers.prepare({"input": {"scenario": ref}, "run_id": recorded["run_id"]}, None)
    state = {**recorded, "scenario": ref, "deadline": prepared["deadline"]}
    for index, name in enumerate(shipped.step_names[: recorded["index"]]):  # they passed
        store.write_step(recorded["run_id"], passed_record(index, name))

    first = handlers.action({**state, "attempt": 0}, None)
    clock.now += recorded["wait_seconds"]  # the Wait state
    second = handlers.action(state, None)

    assert {k: first[k] for k in ("attempt", "outcome", "wait_seconds", "reason")} == {
        k: recorded[k] for k in ("attempt", "outcome", "wait_seconds", "reason")
    }
    assert (second["attempt"], second["outcome"], second["reason"]) == (2, "passed", None)
    step = store.read_run(recorded["run_id"])["steps"][recorded["index"]]
    assert (step["status"], step["attempts"], step["duration_ms"]) == ("passed", 1, 1000)
