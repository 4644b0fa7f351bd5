"""Every shipped scenario through the synthesized state machine on the local AWS.

A feature counts when a scenario runs it through the state machine: all the
examples under scenarios/ start at once, and each is checked for what it shows
(polling, cleanup after a failure, masked secrets, a big result in the bucket,
wait as a Wait state), and against the history bound validation uses.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from itest.cli import scheduler
from itest.cli.authoring import load_file
from itest.lambdas.results.records import RunRecord
from itest.lambdas.results.store import read_run
from itest.lambdas.scenario import limits
from itest.lambdas.scenario.loading import load_scenario_file
from itest.lambdas.scenario.models import Scenario

from tests.e2e.conftest import SCENARIOS, itest

pytestmark = pytest.mark.e2e

FAILS_ON_PURPOSE = "-fails-on-purpose"


def _example_target() -> Any:
    spec = importlib.util.spec_from_file_location("examples_target", SCENARIOS / "itest_local.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TARGET = _example_target()
SECRET_VALUES = (TARGET.API_TOKEN, TARGET.DB_PASSWORD)


@dataclass
class Run:
    scenario: Scenario
    run_id: str
    arn: str
    status: str = "RUNNING"  # the execution's
    record: RunRecord | None = None
    history: list[dict[str, Any]] | None = None
    output: str | None = None


def start(local: Any, path: Path, overrides: dict[str, Any] | None = None) -> Run:
    """Upload and start as the CLI does (docs/engine.md), without the CLI."""
    aws, target, target_vars = local
    found = load_file(path)  # includes expanded, matrix taken off, as the CLI does
    assert found is not None
    scenario, variants = found
    overrides = {**variants[0], **(overrides or {})}  # a matrix file: its first combination
    started = scheduler.start(aws, target, scenario, {**target_vars, **overrides})
    return Run(scenario, started.run_id, started.execution_arn)


def finish(local: Any, runs: list[Run], timeout: float = 150) -> None:
    aws, target, _ = local
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while any(r.status == "RUNNING" for r in runs):
        assert time.monotonic() < deadline, [r.run_id for r in runs if r.status == "RUNNING"]
        time.sleep(0.3)
        for run in runs:
            if run.status == "RUNNING":
                described = sfn.describe_execution(executionArn=run.arn)
                run.status, run.output = described["status"], described.get("output")
    for run in runs:
        run.record = read_run(
            run.run_id, table=target.results_table, dynamodb=aws.client("dynamodb")
        )
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=run.arn)
        run.history = [event for page in pages for event in page["events"]]


@pytest.fixture(scope="module")
def shipped(local: Any) -> dict[str, Run]:
    """Every example started at once, then followed to its end."""
    runs = [start(local, path) for path in sorted(SCENARIOS.glob("*.yaml"))]
    finish(local, runs)
    return {run.scenario.name: run for run in runs}


def events(run: Run, kind: str, state: str | None = None) -> list[dict[str, Any]]:
    found = [e for e in run.history or [] if e["type"] == kind]
    if state is None:
        return found
    details = {"WaitStateEntered": "stateEnteredEventDetails"}.get(kind, "stateEnteredEventDetails")
    return [e for e in found if e.get(details, {}).get("name") == state]


def test_there_is_more_than_the_two_first_examples() -> None:
    assert len(list(SCENARIOS.glob("*.yaml"))) >= 8


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
def test_each_example_ends_as_its_name_says(shipped: dict[str, Run], name: str) -> None:
    run = next(r for r in shipped.values() if r.run_id.startswith(name[:60]))
    assert run.record is not None
    if FAILS_ON_PURPOSE in name:
        assert (run.status, run.record["status"]) == ("FAILED", "failed"), run.record["reason"]
    else:
        assert (run.status, run.record["status"]) == ("SUCCEEDED", "passed"), run.record["reason"]
        assert all(s["status"] == "passed" or s.get("reason") for s in run.record["steps"])


def test_every_action_and_matcher_runs_in_a_passing_example(shipped: dict[str, Run]) -> None:
    from itest.lambdas.actions.registry import ACTIONS
    from itest.lambdas.matchers import MATCHERS

    actions, matchers = set(), set()
    for run in shipped.values():
        if run.record is None or run.record["status"] != "passed":
            continue
        for step in run.scenario.steps:
            actions.add("aws.*" if step.action.startswith("aws.") else step.action)
            for expectation in [*step.expect, *step.stop_if]:
                matchers |= set(expectation.matchers())
            if step.cleanup:
                actions.add(step.cleanup.action)
        for expectation in run.scenario.assertions:
            matchers |= set(expectation.matchers())
    assert actions >= {*ACTIONS, "aws.*"}, sorted({*ACTIONS, "aws.*"} - actions)
    assert matchers >= set(MATCHERS), sorted(set(MATCHERS) - matchers)


def test_polling_is_a_wait_state_loop_until_the_order_is_processed(shipped: dict[str, Run]) -> None:
    run = shipped["orders-processed-eventually"]
    assert run.record is not None
    step = run.record["steps"][1]
    assert (step["name"], step["status"]) == ("order processed", "passed")
    assert step["attempts"] >= 2  # PENDING first, PROCESSED about 4 s later
    waits = [
        json.loads(e["stateEnteredEventDetails"]["input"])
        for e in events(run, "WaitStateEntered", "Backoff")
    ]
    polls = [w for w in waits if w["name"] == "order processed"]
    assert len(polls) == step["attempts"] - 1  # one Wait state per retry, in the history
    # interval 1, backoff 1.5, rounded up: 1, 2, 3, 4 ... (how many depends on timing)
    assert [w["wait_seconds"] for w in polls] == [1, 2, 3, 4, 6, 8][: len(polls)]
    assert run.record["steps"][2]["captures"] == {"total_cents": 3750}
    assert run.record["assertions"] == {"status": "passed", "mismatches": [], "error": None}


def test_wait_is_a_wait_state_not_a_sleeping_lambda(shipped: dict[str, Run]) -> None:
    run = shipped["aws-messaging"]
    assert run.record is not None
    (pause,) = [s for s in run.record["steps"] if s["action"] == "wait"]
    assert (pause["status"], pause["attempts"], pause["result"]) == ("passed", 1, {"seconds": 1})
    waits = [
        json.loads(e["stateEnteredEventDetails"]["input"])
        for e in events(run, "WaitStateEntered", "Backoff")
    ]
    assert [(w["name"], w["wait_seconds"]) for w in waits if w["name"] == pause["name"]] == [
        (pause["name"], 1)
    ]


def test_cleanup_after_a_failure_deletes_the_test_data(local: Any, shipped: dict[str, Run]) -> None:
    aws, _, target_vars = local
    run = shipped["orders-cleanup-fails-on-purpose"]
    record = run.record
    assert record is not None
    order_id = f"itest-{run.run_id}"

    assert record["reason"].startswith(
        "step 'order has five items' failed: item.qty: expected 5, got 1; cleanup: 1 of 4 failed, "
        "first 'cleanup[0]'"
    )
    assert [s["status"] for s in record["steps"]] == ["passed", "passed", "failed", "skipped"]
    assert record["cleanup"] is not None
    assert [(a["name"], a["status"]) for a in record["cleanup"]["actions"]] == [
        ("leave a marker", "passed"),  # the steps' own cleanups, newest first...
        ("create order", "passed"),
        ("cleanup[0]", "failed"),  # ...then the scenario's, each attempted
        ("cleanup[1]", "passed"),
    ]  # and none for "never runs": it did not run
    table, bucket = target_vars["orders_table"], target_vars["receipts_bucket"]
    item = aws.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": order_id}})
    assert "Item" not in item
    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"markers/{order_id}")
    assert listed.get("KeyCount") == 0
    time.sleep(TARGET.PROCESSING_DELAY_SECONDS)  # the service's own processing finds no order
    assert "Item" not in aws.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": order_id}}
    )


def test_a_big_result_travels_as_a_summary_and_is_kept_whole(
    local: Any, shipped: dict[str, Run]
) -> None:
    aws, target, _ = local
    run = shipped["http-features"]
    assert run.record is not None
    big = run.record["steps"][-1]
    assert big["name"] == "a big answer"
    assert big["result_ref"] == f"s3://{target.bucket}/results/{run.run_id}/5.json"
    assert "more items]" in big["result"]["json"]["rows"][-1]
    kept = aws.client("s3").get_object(Bucket=target.bucket, Key=f"results/{run.run_id}/5.json")
    assert len(json.loads(kept["Body"].read())["json"]["rows"]) == 2000
    for event in run.history or []:  # nothing near the payload limit went through the machine
        for details in event.values():
            if isinstance(details, dict):
                for text in (details.get("input"), details.get("output")):
                    assert text is None or len(text) < 8 * 1024


def test_history_stays_under_the_bound_validation_uses(shipped: dict[str, Run]) -> None:
    for run in shipped.values():
        estimate = limits.estimate_history(run.scenario)
        assert len(run.history or []) <= estimate.events, (run.run_id, estimate)


def test_a_step_whose_skip_if_holds_is_skipped_through_the_state_machine(
    shipped: dict[str, Run],
) -> None:
    run = shipped["skip-conditions"]
    assert run.record is not None and run.status == "SUCCEEDED", run.record
    steps = run.record["steps"]
    assert [s["status"] for s in steps] == ["passed", "skipped", "passed"]
    assert steps[1]["reason"] == "skip_if holds: vars.env is 'local' (not_equals 'prod')"
    assert run.record["assertions"]["status"] == "passed"  # saw steps."charge the card"
    cleanup = run.record["cleanup"]
    assert cleanup is not None
    assert [a["name"] for a in cleanup["actions"]] == ["create-order/create order"]
    assert cleanup["status"] == "passed"
    # the skipped iteration ended at StepPassed: the Map went on to the third step
    assert len(events(run, "SucceedStateEntered", "StepPassed")) == 3


def test_the_same_scenario_runs_the_step_when_skip_if_does_not_hold(local: Any) -> None:
    run = start(local, SCENARIOS / "skip-conditions.yaml", {"env": "prod"})
    finish(local, [run])

    assert run.record is not None and run.record["status"] == "failed"
    charge = run.record["steps"][1]
    assert (charge["status"], charge.get("reason")) == ("failed", None)  # no /payments route
    assert "expected 201, got 404" in run.record["reason"]
    cleanup = run.record["cleanup"]
    names = [a["name"] for a in cleanup["actions"]]
    assert names == ["charge the card", "create-order/create order"]


def test_sigv4_and_basic_auth_reach_the_service_and_what_they_sent_is_masked(
    local: Any, shipped: dict[str, Run]
) -> None:
    aws, target, _ = local
    run = shipped["http-auth"]
    assert run.record is not None and run.record["status"] == "passed", run.record["reason"]
    signed, _, basic = run.record["steps"]
    # a SigV4 signature in form (the full check against the Action's credentials is
    # tests/aws/runtime/test_skip_and_auth.py: the local AWS makes its keys up)
    assert (signed["result"]["status"], signed["result"]["json"]["service"]) == (200, "execute-api")
    raw = json.dumps(
        aws.client("dynamodb").query(
            TableName=target.results_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": run.run_id}},
        )["Items"]
    )
    assert "AWS4-HMAC-SHA256" not in raw and "Basic " not in raw
    assert TARGET.DB_PASSWORD not in raw
    assert basic["result"]["json"]["authorization"] == "***"


def test_vars_render_in_order_and_execution_input_overrides_win(local: Any) -> None:
    order_id = f"itest-override-{secrets.token_hex(3)}"
    run = start(local, SCENARIOS / "orders-processed-eventually.yaml", {"order_id": order_id})
    finish(local, [run])

    assert run.record is not None and run.record["status"] == "passed", run.record
    assert run.record["vars"]["order_id"] == order_id
    assert run.record["vars"]["receipt_key"] == f"receipts/{order_id}.json"  # rendered after it
    assert run.record["steps"][0]["result"]["json"]["id"] == order_id


def test_a_secret_value_appears_nowhere(local: Any, shipped: dict[str, Run]) -> None:
    aws, target, _ = local
    run = shipped["secrets-masked"]
    assert run.record is not None and run.record["status"] == "passed", run.record

    # the results table, read back and raw
    assert run.record["steps"][0]["result"]["json"]["token"] == "***"  # the API echoed it
    raw = aws.client("dynamodb").query(
        TableName=target.results_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": run.run_id}},
    )["Items"]
    places = {"results table": json.dumps(raw), "read_run": json.dumps(run.record)}
    # the execution: its history, every event with its details, and its output
    places["execution history"] = json.dumps(run.history, default=str)
    places["execution output"] = run.output or ""
    # every log group of the local AWS: the handlers', the state machine's, the target's
    logs = aws.client("logs")
    texts = []
    for group in logs.get_paginator("describe_log_groups").paginate():
        for log_group in group["logGroups"]:
            name = log_group["logGroupName"]
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=name):
                texts += [f"{name} {e['message']}" for e in page["events"]]
    places["logs"] = "\n".join(texts)
    assert run.run_id in places["logs"]  # the run's own lines are there to be searched
    assert "/aws/lambda/" in places["logs"] or "Handlers" in places["logs"]

    for where, text in places.items():
        for value in SECRET_VALUES:
            assert value not in text, f"a secret value is in the {where}"
    assert "***" in places["results table"]


def test_the_cli_never_prints_a_secret_value() -> None:
    table = itest("run", "scenarios/secrets-masked.yaml", "--local")
    as_json = itest("run", "scenarios/secrets-masked.yaml", "--local", "--format", "json")

    assert table.returncode == 0, table.stdout + table.stderr
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    (report,) = json.loads(as_json.stdout)["runs"]
    assert report["steps"][0]["result"]["json"]["token"] == "***"
    for result in (table, as_json):
        for value in SECRET_VALUES:
            assert value not in result.stdout + result.stderr


def test_a_scenario_started_without_the_cli_gets_the_validate_errors(local: Any) -> None:
    """Prepare validates with the same model: a bad object put in the bucket by hand and
    started from the console or a pipeline fails with the message `itest validate` gives."""
    from click.testing import CliRunner
    from itest.cli.main import cli

    aws, target, _ = local
    bad = SCENARIOS.parent / "tests" / "bad_scenarios" / "dynamodb-missing-key.yaml"
    expected = CliRunner().invoke(cli, ["validate", str(bad)]).output
    key = f"scenarios/by-hand/{secrets.token_hex(4)}.yaml"
    aws.client("s3").put_object(Bucket=target.bucket, Key=key, Body=bad.read_bytes())
    run_id = f"by-hand-{secrets.token_hex(4)}"
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=target.state_machine_arn,
        name=run_id,
        input=json.dumps({"scenario": {"bucket": target.bucket, "key": key}}),
    )
    run = Run(
        load_scenario_file(SCENARIOS / "lambda-pricing.yaml"), run_id, started["executionArn"]
    )
    finish(local, [run])

    assert run.status == "FAILED"
    assert run.record is not None and run.record["status"] == "error"
    assert "ScenarioError" in run.record["reason"]
    assert "steps['read'].with: 'key' is required" in run.record["reason"]
    assert "steps['read'].with: 'key' is required" in expected
