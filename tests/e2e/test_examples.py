"""The shipped examples, run through the synthesized state machine on the local AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from itest.cli import commands
from itest.cli.connect import Orchestrator
from itest.cli.reports import Report
from itest.cli.scenarios import load

from tests.e2e.conftest import SCENARIOS, itest

pytestmark = pytest.mark.e2e


def run_example(local, filename: str) -> Report:
    aws, target, target_vars = local
    loaded = load((SCENARIOS / filename,))
    orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)
    outcome = commands.run_on(orchestrator, loaded, target_vars, wait=True, timeout=120)
    (report,) = outcome.reports
    return report


def test_happy_path_passes_with_captures(local):
    report = run_example(local, "orders-happy-path.yaml")
    assert report.status == "passed", report.reason
    steps = report.record["steps"]
    assert [s["status"] for s in steps] == ["passed", "passed"]
    created_at = steps[0]["captures"]["created_at"]
    assert steps[1]["result"]["item"]["created_at"] == created_at
    assert steps[1]["result"]["item"]["qty"] == 2


def test_failing_example_names_step_expected_and_actual(local):
    report = run_example(local, "orders-wrong-quantity-fails-on-purpose.yaml")
    assert report.status == "failed"
    first, second = report.record["steps"]
    assert first["status"] == "passed"
    assert second["status"] == "failed"
    (mismatch,) = second["mismatches"]
    assert (mismatch["path"], mismatch["expected"], mismatch["actual"]) == ("item.qty", 3, 2)
    assert "order stored with the wrong quantity" in report.reason
    assert "expected 3, got 2" in report.reason


def test_executed_definition_is_the_synthesized_one(local):
    """The local Step Functions runs the template's DefinitionString, only references resolved.

    (tests/e2e/test_private_stack.py compares it with what moto's CloudFormation makes.)
    """
    from itest.cli.local.orchestrator import assembly

    aws, target, _ = local
    executed = aws.client("stepfunctions").describe_state_machine(
        stateMachineArn=target.state_machine_arn
    )["definition"]

    template = json.loads((assembly() / "Itest.template.json").read_text())
    (machine,) = [  # the scenario state machine (the suite's starts at Concurrency)
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
        and '\\"StartAt\\":\\"Prepare\\"' in json.dumps(r["Properties"]["DefinitionString"])
    ]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    literal = [p for p in parts if isinstance(p, str)]
    # Every literal piece of the synthesized definition is in the executed one, in order.
    position = 0
    for piece in literal:
        found = executed.find(piece, position)
        assert found >= 0, piece[:80]
        position = found + len(piece)


def test_cli_runs_the_example_and_prints_the_table():
    result = itest("run", "scenarios/orders-happy-path.yaml", "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "orders-happy-path" in result.stdout and "PASSED" in result.stdout
    # the included step is `create-order/create order` (folded in a narrow table)
    assert "create-order" in result.stdout and "order stored" in result.stdout
    # a private local AWS: stderr says what is being built and which target serves what
    assert "local target scenarios/itest_local.py serves orders-happy-path" in result.stderr
    assert "building the local stack (1/3): starting the local AWS" in result.stderr
    assert "building the local stack (3/3): deploying the orchestrator" in result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith(
        "status: not kept (this run's private local AWS stopped with the command;"
    )


def test_cli_failing_example_exits_1_with_expected_and_actual():
    result = itest("run", "scenarios/orders-wrong-quantity-fails-on-purpose.yaml", "--local",
                   "--format", "json")
    assert result.returncode == 1, result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    assert run["status"] == "failed"
    failed = [s for s in run["steps"] if s["status"] == "failed"]
    assert failed[0]["mismatches"][0]["message"] == "item.qty: expected 3, got 2"


def test_cli_bad_scenario_exits_2_without_traceback(tmp_path: Path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\nsteps:\n  - name: x\n    action: http\n    with: {url: 1\n")
    result = itest("run", str(bad), "--local")
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
