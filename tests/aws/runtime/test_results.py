"""The results table: records as docs/engine.md lays them out, and read back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from itest.lambdas.aws import client
from itest.lambdas.errors import ConfigError, StateError
from itest.lambdas.results import copies, store, summaries
from itest.lambdas.results.records import StepRecord

pytestmark = pytest.mark.usefixtures("results_table")

RUN = "orders-20261121T232100-ab12cd"


def step(index: int, name: str, status: str = "passed", **changes: Any) -> StepRecord:
    record: StepRecord = {
        "index": index,
        "name": name,
        "action": "http",
        "status": status,
        "attempts": 1,
        "started_at": "2026-11-21T23:21:00.000Z",
        "ended_at": "2026-11-21T23:21:01.000Z",
        "duration_ms": 1000,
        "captures": {},
        "result": {"status": 200},
        "mismatches": [],
        "error": None,
    }
    return {**record, **changes}  # type: ignore[typeddict-item]


def start_run() -> None:
    store.write_run(
        RUN,
        scenario="orders",
        steps=["create", "check", "never"],
        vars={"api": "http://h", "n": 1.5, "empty": {}, "none": None},
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:sm:" + RUN,
        started_at="2026-11-21T23:21:00.000Z",
    )


def raw(sk: str) -> dict[str, Any]:
    key = {"pk": {"S": RUN}, "sk": {"S": sk}}
    return client("dynamodb").get_item(TableName="itest-results", Key=key)["Item"]


def test_run_record_layout() -> None:
    start_run()

    item = raw("run")

    assert item["status"] == {"S": "running"}
    # the names as one string: a list costs moto per element on every read of the record
    assert json.loads(item["steps_json"]["S"]) == ["create", "check", "never"]
    assert json.loads(item["vars_json"]["S"]) == {
        "api": "http://h",
        "n": 1.5,
        "empty": {},
        "none": None,
    }
    assert item["execution_arn"]["S"].endswith(RUN)


def test_a_run_record_with_its_step_names_as_a_list_still_reads() -> None:
    """Records an older stack wrote keep the names in ``steps`` (a list)."""
    item = {"pk": {"S": RUN}, "sk": {"S": "run"}, "status": {"S": "running"},
            "steps": {"L": [{"S": "create"}, {"S": "check"}]}}  # fmt: skip
    client("dynamodb").put_item(TableName="itest-results", Item=item)

    run = store.read_run(RUN)

    assert run is not None
    assert [(s["name"], s["status"]) for s in run["steps"]] == [
        ("create", "skipped"), ("check", "skipped")
    ]  # fmt: skip


def test_step_records_are_overwritten_per_attempt() -> None:
    start_run()
    store.write_step(RUN, step(1, "check", "pending", attempts=1))
    store.write_step(RUN, step(1, "check", "passed", attempts=2, captures={"x": 1}))

    item = raw("step#0001")

    assert item["status"] == {"S": "passed"}
    assert item["attempts"] == {"N": "2"}
    assert json.loads(item["captures_json"]["S"]) == {"x": 1}
    assert "error" not in item  # None is left out, not stored as NULL


def test_context_overlays_captures_of_earlier_steps_only() -> None:
    start_run()
    for record in (step(0, "create", captures={"order": "o-1", "api": "http://other"}),
                   step(1, "check", captures={"late": True})):  # fmt: skip
        store.write_step(RUN, record)
        store.remember_captures(RUN, record["index"], record["captures"])

    context = store.read_context(RUN, below=1)

    assert context["vars"] == {
        "api": "http://other",
        "n": 1.5,
        "empty": {},
        "none": None,
        "order": "o-1",
    }
    assert context["steps"] == {
        "create": {
            "status": "passed",
            "captures": {"order": "o-1", "api": "http://other"},
            "result": {"status": 200},
            "error": None,
        },
    }
    assert store.read_context(RUN)["vars"]["late"] is True
    named = store.read_context(RUN, below=1, steps=[0])  # as an Action reads
    assert (named["vars"], named["steps"]) == (context["vars"], context["steps"])
    assert store.read_context(RUN, below=1, steps=[])["steps"] == {}


def test_context_of_a_run_read_whole_is_its_context() -> None:
    start_run()
    store.write_step(RUN, step(0, "create", captures={"order": "o-1", "api": "http://other"}))
    store.write_step(RUN, step(1, "check", "failed", captures={"late": True}))

    run = store.read_run(RUN)

    assert run is not None and run["steps"][2]["status"] == "skipped"
    assert store.context_of(run) == store.read_context(RUN)


def test_context_without_a_run_record_is_a_state_error() -> None:
    with pytest.raises(StateError, match="no run record"):
        store.read_context("nope")


def test_read_run_gives_the_whole_run() -> None:
    start_run()
    mismatch = {
        "path": "status",
        "matcher": "equals",
        "expected": 201,
        "actual": 500,
        "message": "m",
    }
    store.write_step(RUN, step(0, "create"))
    store.write_step(RUN, step(1, "check", "failed", mismatches=[mismatch], error=None))
    store.write_assert(RUN, status="passed", mismatches=[])
    store.write_cleanup(
        RUN,
        status="failed",
        actions=[
            {"name": "create", "action": "http", "status": "failed", "error": "boom"},
        ],
    )
    store.finish_run(
        RUN,
        scenario="orders",
        status="failed",
        reason="step 'check' failed: m",
        ended_at="2026-11-21T23:22:00.000Z",
    )

    run = store.read_run(RUN)

    assert run is not None
    assert (run["scenario"], run["status"], run["reason"]) == (
        "orders",
        "failed",
        "step 'check' failed: m",
    )
    assert run["ended_at"] == "2026-11-21T23:22:00.000Z"
    assert run["vars"]["api"] == "http://h"
    assert [(s["name"], s["status"]) for s in run["steps"]] == [
        ("create", "passed"),
        ("check", "failed"),
        ("never", "skipped"),
    ]
    assert run["steps"][1]["mismatches"] == [mismatch]
    assert run["steps"][0]["result"] == {"status": 200}
    assert run["assertions"] == {"status": "passed", "mismatches": [], "error": None}
    assert run["cleanup"] == {
        "status": "failed",
        "actions": [{"name": "create", "action": "http", "status": "failed", "error": "boom"}],
    }


def test_read_run_of_an_unknown_run_is_none() -> None:
    assert store.read_run("nope") is None


def test_finish_run_creates_the_record_when_prepare_failed() -> None:
    store.finish_run(RUN, scenario=None, status="error", reason="TemplateError: x", ended_at="t")

    run = store.read_run(RUN)

    assert run is not None
    assert (run["status"], run["reason"], run["scenario"], run["steps"]) == (
        "error",
        "TemplateError: x",
        None,
        [],
    )


def test_the_first_verdict_stays() -> None:
    """Two invocations settling the same run at once (the Cleanup state and the rule on
    the execution's end): the second one's verdict is refused."""
    store.write_run(RUN, scenario="orders", steps=[], vars={}, execution_arn=None,
                    started_at="2026-11-21T23:21:00.000Z")  # fmt: skip

    first = store.finish_run(RUN, scenario="orders", status="failed", reason="a", ended_at="t")
    second = store.finish_run(RUN, scenario="orders", status="error", reason="b", ended_at="u")

    run = store.read_run(RUN)
    assert (first, second) == (True, False)
    assert run is not None
    assert (run["status"], run["reason"], run["ended_at"]) == ("failed", "a", "t")


def test_big_results_are_kept_whole_in_the_bucket_and_summarized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client("s3").create_bucket(Bucket="itest-scenarios")
    monkeypatch.setenv("SCENARIO_BUCKET", "itest-scenarios")
    start_run()
    body = "x" * 100_000
    result = {"status": 200, "text": body, "json": {"rows": list(range(5000))}}

    store.write_step(RUN, step(0, "create", result=result))

    item = raw("step#0000")
    stored = json.loads(item["result_json"]["S"])
    assert len(item["result_json"]["S"].encode()) <= copies.RESULT_LIMIT
    assert stored["status"] == 200  # the shape is kept: small fields read the same
    assert stored["text"].startswith("x" * 100) and "more characters]" in stored["text"]
    assert stored["json"]["rows"][-1].endswith("more items]")
    ref = item["result_ref"]["S"]
    assert ref == f"s3://itest-scenarios/results/{RUN}/0.json"
    whole = client("s3").get_object(Bucket="itest-scenarios", Key=f"results/{RUN}/0.json")
    assert json.loads(whole["Body"].read()) == result
    (read,) = [s for s in store.read_run(RUN)["steps"] if s["index"] == 0]
    assert read["result_ref"] == ref


def test_a_result_too_big_even_when_cut_becomes_a_marker() -> None:
    wide = {f"k{i}": i for i in range(100_000)}
    assert json.loads(summaries.summarize(wide, limit=4096))["…"].endswith("more keys]")

    stored = json.loads(summaries.summarize({"k" * 5000: 1}, limit=4096))  # nothing to cut

    assert stored["__truncated__"] is True
    assert stored["bytes"] > 5000


def test_small_results_are_kept_whole() -> None:
    value = {"a": [1, 2.5, None, {"b": {}}]}
    assert json.loads(summaries.summarize(value, copies.RESULT_LIMIT)) == value


def test_missing_table_name_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESULTS_TABLE")
    with pytest.raises(ConfigError, match="RESULTS_TABLE"):
        store.read_run(RUN)


def test_read_run_with_an_explicit_table_and_client(monkeypatch: pytest.MonkeyPatch) -> None:
    start_run()
    monkeypatch.delenv("RESULTS_TABLE")  # the CLI knows the table from the stack outputs

    run = store.read_run(RUN, table="itest-results", dynamodb=client("dynamodb"))

    assert run is not None
    assert run["scenario"] == "orders"
