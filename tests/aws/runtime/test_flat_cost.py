"""An Action attempt reads what it needs in the same few calls at step 1 and at step 200."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from itest.lambdas import states
from itest.lambdas.aws import client
from itest.lambdas.results import store
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from .conftest import RESULTS_TABLE
from .machine import RUN_ID, Clock, execute, upload

pytestmark = pytest.mark.usefixtures("results_table")

STEPS = 201


@pytest.fixture
def echo(httpserver: HTTPServer) -> str:
    def answer(request: Request) -> Response:
        return Response(request.get_data(), status=201, content_type="application/json")

    httpserver.expect_request("/items", method="POST").respond_with_handler(answer)
    return httpserver.url_for("")


def scenario(steps: int = STEPS) -> dict[str, Any]:
    """Each step posts, checks and captures; from step 1 on it also names step 0's
    record and the previous step's capture."""
    first = {"name": "post 0", "action": "http",
             "with": {"method": "POST", "url": "{{ vars.api_url }}/items", "json": {"n": 0}},
             "expect": [{"path": "status", "equals": 201}],
             "capture": {"last": "json.n"}}  # fmt: skip
    later = [
        {**first, "name": f"post {i}",
         "with": {**first["with"], "json": {"n": i, "previous": "{{ vars.last }}",
                                            "first": '{{ steps."post 0".status }}'}},
         "expect": [{"path": "status", "equals": 201}, {"path": "json.previous", "equals": i - 1},
                    {"path": "json.first", "equals": "passed"}]}
        for i in range(1, steps)
    ]  # fmt: skip
    return {"name": "flat", "timeout_seconds": 3600, "steps": [first, *later]}


def count_calls(monkeypatch: pytest.MonkeyPatch, state: str = "action") -> list[list[str]]:
    """Per invocation of ``state`` (an Action attempt), in order, the results-table
    operations it made."""
    calls: list[list[str]] = []
    current: list[list[str]] = []

    def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
        table = params.get("TableName") or next(iter(params.get("RequestItems") or {}), None)
        if table == RESULTS_TABLE and current:
            current[-1].append(model.name)

    def counted(event: dict[str, Any]) -> Any:
        current.append([])
        try:
            return action(event)
        finally:
            calls.append(current.pop())

    client("dynamodb").meta.events.register("before-parameter-build.dynamodb.*", seen)
    action = getattr(states, state)
    monkeypatch.setattr(states, state, counted)
    return calls


def test_an_attempt_reads_the_same_at_step_1_and_step_200(
    bucket: str, echo: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch)

    execution = execute(upload(scenario(), bucket), {"api_url": echo}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict["reason"]
    assert len(calls) == STEPS
    # the run record with step 0's record and the previous one's; the claim (a new
    # record), the outcome, the captures kept on the run record
    expected = ["BatchGetItem", "PutItem", "PutItem", "UpdateItem"]
    assert calls[0] == calls[1] == calls[200] == expected


def test_a_later_attempt_claims_beside_the_previous_outcome(
    bucket: str, httpserver: HTTPServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([503, 200])
    httpserver.expect_request("/poll").respond_with_handler(
        lambda _: Response("{}", status=next(answers), content_type="application/json")
    )
    poll = {"name": "poll", "action": "http", "with": {"url": httpserver.url_for("/poll")},
            "expect": [{"path": "status", "equals": 200}],
            "retry": {"interval_seconds": 1, "timeout_seconds": 30}}  # fmt: skip
    calls = count_calls(monkeypatch)
    claims: list[dict[str, Any]] = []
    claim, inspect = store.claim_attempt, boto3.client("dynamodb")  # not counted

    def seen(*args: Any, **kwargs: Any) -> Any:
        found = claim(*args, **kwargs)
        key = {"pk": {"S": RUN_ID}, "sk": {"S": store.step_sk(0)}}
        claims.append(inspect.get_item(TableName=RESULTS_TABLE, Key=key)["Item"])
        return found

    monkeypatch.setattr(store, "claim_attempt", seen)

    execution = execute(upload({"name": "poll", "steps": [poll]}, bucket), {}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict["reason"]
    assert calls == [["BatchGetItem", "PutItem", "PutItem"],
                     ["BatchGetItem", "UpdateItem", "PutItem"]]  # fmt: skip
    second = claims[1]  # running attempt 2, the first one's outcome still there
    assert (second["status"]["S"], second["attempts"]["N"]) == ("running", "1")
    assert json.loads(second["mismatches_json"]["S"])[0]["actual"] == 503


def test_a_run_s_own_calls_are_few_and_a_run_without_cleanups_claims_none(
    bucket: str, echo: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {name: count_calls(monkeypatch, name) for name in ("prepare", "assert_",
                                                                         "finish")}  # fmt: skip

    execution = execute(upload(scenario(2), bucket), {"api_url": echo}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict["reason"]
    assert calls == {
        "prepare": [["PutItem"]],  # the run record
        "assert_": [["PutItem"]],  # the assert record (no assertions: nothing read)
        # the run's records; the cleanup record; the verdict (no claim: nothing to clean up)
        "finish": [["Query", "PutItem", "UpdateItem"]],
    }


def test_a_template_using_steps_whole_reads_every_earlier_record(
    bucket: str, echo: str, clock: Clock
) -> None:
    spec = scenario(3)
    spec["steps"][2]["with"]["json"]["names"] = "{{ keys(steps) }}"
    spec["steps"][2]["expect"] = [{"path": "json.names", "equals": ["post 0", "post 1"]}]

    execution = execute(upload(spec, bucket), {"api_url": echo}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict["reason"]


def test_the_run_s_captures_together_are_bounded(
    bucket: str, echo: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "CAPTURES_LIMIT", 25)  # two steps of {"last": n}
    spec = scenario(3)

    execution = execute(upload(spec, bucket), {"api_url": echo}, clock)

    assert execution.verdict["status"] == "failed"
    assert "the run's captures would reach" in execution.verdict["reason"]
    record = store.read_run(RUN_ID)
    assert record is not None
    assert [s["status"] for s in record["steps"]] == ["passed", "passed", "failed"]
    assert json.loads(json.dumps(record["steps"][2]["captures"])) == {}


def test_duration_is_the_actions_and_waits_not_the_engine_s_reads(
    bucket: str, echo: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads that take 5 s (a slow table) show in engine_ms, never in duration_ms."""
    read = store.read_context

    def slow_read(*args: Any, **kwargs: Any) -> Any:
        clock.now += 5
        return read(*args, **kwargs)

    monkeypatch.setattr(store, "read_context", slow_read)
    spec = scenario(2)
    spec["steps"].insert(1, {"name": "pause", "action": "wait", "with": {"seconds": 3}})

    execution = execute(upload(spec, bucket), {"api_url": echo}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict["reason"]
    record = store.read_run(RUN_ID)
    assert record is not None
    durations = [(s["duration_ms"], s["engine_ms"]) for s in record["steps"]]
    assert durations == [(0, 5000), (3000, 10000), (0, 5000)]  # the wait is the step's time
