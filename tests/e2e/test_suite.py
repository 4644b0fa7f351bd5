"""A suite as one execution: the synthesized suite state machine on the local AWS
starts each scenario as a child execution of the scenario state machine.

One scenario fails on purpose: the others still run to their end, each child
keeps its run id and run record, and the suite fails listing every child.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from itest.cli.authoring import load_file
from itest.cli.scheduler import new_run_id, upload
from itest.lambdas.results import read_run

from tests.e2e.conftest import SCENARIOS
from tests.e2e.test_scenarios import FAILS_ON_PURPOSE

pytestmark = pytest.mark.e2e

NAMES = ("orders-happy-path", "dynamodb-items", "orders-wrong-quantity-fails-on-purpose")


def _suite_arn(aws: Any) -> str:
    from itest.cli.local.deploy import stack_outputs
    from itest.infra.app import DEFAULT_STACK_NAME

    return stack_outputs(aws, DEFAULT_STACK_NAME)["SuiteStateMachineArn"]


def _item(local: Any, name: str) -> dict[str, Any]:
    """The suite item for a shipped scenario, uploaded and named by the CLI's own code."""
    aws, target, target_vars = local
    found = load_file(SCENARIOS / f"{name}.yaml")  # includes expanded, as the CLI does
    assert found is not None, name
    scenario, variants = found
    ref = upload(aws, target, scenario)
    run_vars = {**target_vars, **variants[0]}  # a matrix file: its first combination
    return {"run_id": new_run_id(scenario.name), "scenario": ref, "vars": run_vars}


def _run_suite(aws: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    suite = sfn.start_execution(
        stateMachineArn=_suite_arn(aws), input=json.dumps({"scenarios": items})
    )["executionArn"]
    deadline = time.monotonic() + 240
    while (described := sfn.describe_execution(executionArn=suite))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the suite did not end"
        time.sleep(0.5)
    return described


def test_a_suite_runs_every_scenario_as_a_child_and_fails_when_one_fails(local: Any) -> None:
    aws, target, _ = local
    sfn = aws.client("stepfunctions")
    items = [_item(local, name) for name in NAMES]
    described = _run_suite(aws, items)

    assert described["status"] == "FAILED"
    assert described["error"] == "SuiteFailed"
    results = {line["run_id"]: line for line in json.loads(described["cause"])}
    assert list(results) == [item["run_id"] for item in items]  # in the input's order
    executions = target.state_machine_arn.replace(":stateMachine:", ":execution:")
    for item in items:
        run_id = item["run_id"]
        line = results[run_id]
        child = sfn.describe_execution(executionArn=f"{executions}:{run_id}")
        record = read_run(run_id, table=target.results_table, dynamodb=aws.client("dynamodb"))
        assert record is not None, run_id
        assert line["status"] == child["status"]
        if FAILS_ON_PURPOSE in run_id:
            assert (line["status"], line["passed"], record["status"]) == ("FAILED", False, "failed")
            assert line["reason"] == record["reason"] == child["cause"]
        else:
            assert (line["status"], line["passed"], record["status"]) == (
                "SUCCEEDED", True, "passed"
            ), record.get("reason")
            assert line["reason"] == ""


def test_a_suite_whose_children_all_pass_succeeds_with_their_lines(local: Any) -> None:
    aws, _, _ = local
    items = [_item(local, name) for name in NAMES[:2]]
    described = _run_suite(aws, items)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {
        "results": [
            {"run_id": item["run_id"], "status": "SUCCEEDED", "reason": "", "passed": True}
            for item in items
        ]
    }
