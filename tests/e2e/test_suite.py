"""A suite as one execution: the synthesized suite state machine on the local AWS
starts each scenario as a child execution of the scenario state machine.

One scenario fails on purpose: the others still run to their end, each child
keeps its run id and run record, and the suite fails listing every child. The
CLI's `run --suite` runs the whole shipped scenarios/ folder as one suite and
reports it as it reports runs it starts itself.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from itest.cli import suites
from itest.cli.authoring import load_file
from itest.cli.run_ids import new_run_id
from itest.cli.scheduler import upload
from itest.lambdas.results.store import read_run

from tests.e2e.conftest import SCENARIOS
from tests.e2e.test_scenarios import FAILS_ON_PURPOSE

pytestmark = pytest.mark.e2e

NAMES = ("orders-happy-path", "dynamodb-items", "orders-wrong-quantity-fails-on-purpose")


def _item(local: Any, name: str, *, named: bool = True) -> dict[str, Any]:
    """The suite item for a shipped scenario, uploaded and named by the CLI's own code."""
    aws, target, target_vars = local
    found = load_file(SCENARIOS / f"{name}.yaml")  # includes expanded, as the CLI does
    assert found is not None, name
    scenario, variants = found
    ref = upload(aws, target, scenario)
    run_vars = {**target_vars, **variants[0]}  # a matrix file: its first combination
    run_id = new_run_id(scenario.name) if named else None
    return suites.item(scenario.name, ref, run_vars, run_id)


def _run_suite(local: Any, items: list[dict[str, Any]], **given: Any) -> dict[str, Any]:
    aws, target, _ = local
    sfn = aws.client("stepfunctions")
    key = suites.upload_list(aws, target, items)
    suite = sfn.start_execution(
        stateMachineArn=suites.suite_machine(target),
        input=json.dumps(suites.suite_input(key, given.get("max_concurrency"))),
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
    described = _run_suite(local, items, max_concurrency=2)

    assert described["status"] == "FAILED"
    assert described["error"] == "SuiteFailed"
    head, _, failed = described["cause"].partition("; the first: ")
    assert head == "1 of 3 scenarios did not pass"
    (failed_line,) = json.loads(failed)
    assert FAILS_ON_PURPOSE in failed_line["run_id"]
    history = sfn.get_execution_history(executionArn=described["executionArn"],
                                        maxResults=1000)["events"]
    (exited,) = [e for e in history if e["type"] == "MapStateExited"]
    lines = json.loads(exited["stateExitedEventDetails"]["output"])["results"]
    results = {line["run_id"]: line for line in lines}
    assert list(results) == [item["run_id"] for item in items]  # in the list's order
    assert results[failed_line["run_id"]] == failed_line
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
    items = [_item(local, name) for name in NAMES[:2]]
    described = _run_suite(local, items)  # the stack's default concurrency
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {
        "results": [
            {"run_id": item["run_id"], "status": "SUCCEEDED", "reason": "", "passed": True}
            for item in items
        ]
    }


def test_a_list_without_run_ids_gets_a_fresh_child_name_per_suite(local: Any) -> None:
    """What a pipeline starts again and again: the suite names each child."""
    aws, target, _ = local
    items = [_item(local, NAMES[0], named=False)]
    names = []
    for _ in range(2):
        described = _run_suite(local, items)
        assert described["status"] == "SUCCEEDED", described.get("cause")
        (line,) = json.loads(described["output"])["results"]
        assert line["run_id"].startswith(f"{NAMES[0]}-") and len(line["run_id"]) <= 80
        record = read_run(line["run_id"], table=target.results_table,
                          dynamodb=aws.client("dynamodb"))
        assert record is not None and record["status"] == "passed"
        names.append(line["run_id"])
    assert names[0] != names[1]


def test_upload_suite_prints_the_one_input_a_pipeline_starts(local: Any, as_background) -> None:
    """`itest upload --label ci --suite`: the scenarios and their list in the bucket,
    one execution input; the suite started with it runs them all."""
    from itest.cli import commands
    from itest.cli.connect import Where

    aws, target, target_vars = local
    files = tuple(SCENARIOS / f"{name}.yaml" for name in NAMES[:2])
    (printed,) = commands.upload(Where(local=True), files, label="ci", overrides=target_vars,
                                 suite=True)
    assert printed["state_machine_arn"] == target.suite_state_machine_arn
    assert printed["scenarios"] == list(NAMES[:2])
    assert printed["input"] == {"scenarios_key": "suites/ci.json"}
    listed = suites.read_list(aws, target, printed["input"])
    assert [entry["scenario"]["key"] for entry in listed] == [
        f"scenarios/{name}/ci.json" for name in NAMES[:2]
    ]
    assert all("run_id" not in entry and entry["vars"] == target_vars for entry in listed)
    sfn = aws.client("stepfunctions")
    suite = sfn.start_execution(stateMachineArn=printed["state_machine_arn"],
                                input=json.dumps(printed["input"]))["executionArn"]
    deadline = time.monotonic() + 240
    while (described := sfn.describe_execution(executionArn=suite))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the suite did not end"
        time.sleep(0.5)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    lines = json.loads(described["output"])["results"]
    assert [line["run_id"].rsplit("-", 5)[0] for line in lines] == list(NAMES[:2])
    shown = commands.status(Where(local=True), suite)  # children named by the suite
    assert [(r.run_id, r.status) for r in shown.reports] == [
        (line["run_id"], "passed") for line in lines
    ]


def test_run_suite_runs_the_shipped_folder_as_one_suite_and_reports_as_usual(
    local: Any, as_background
) -> None:
    from xml.etree import ElementTree

    from itest.cli import commands, render
    from itest.cli.connect import Orchestrator
    from itest.cli.scenarios import load

    aws, target, target_vars = local
    loaded = load((SCENARIOS,))
    orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)
    sfn = aws.client("stepfunctions")
    suite_machine = suites.suite_machine(target)
    before = {e["executionArn"] for e in
              sfn.list_executions(stateMachineArn=suite_machine)["executions"]}
    said: list[str] = []
    outcome = commands.run_on(orchestrator, loaded, target_vars, wait=True, suite=True,
                              parallel=4, timeout=400, say=said.append)

    (suite_arn,) = {e["executionArn"] for e in
                    sfn.list_executions(stateMachineArn=suite_machine)["executions"]} - before
    assert said == [f"suite {suite_arn} started; its children: {suite_arn}"]
    assert [r.scenario for r in outcome.reports] == [item.label for item in loaded]
    for report in outcome.reports:
        expected = "failed" if FAILS_ON_PURPOSE in report.scenario else "passed"
        assert report.status == expected, (report.scenario, report.reason)
        assert report.record is not None and report.record["run_id"] == report.run_id
        executions = target.state_machine_arn.replace(":stateMachine:", ":execution:")
        assert report.execution_arn == f"{executions}:{report.run_id}"
    assert outcome.exit_code == 1
    junit = ElementTree.fromstring(render.render(outcome, "junit"))
    assert len(junit.findall("testsuite")) == len(loaded)  # one testsuite per scenario
    while (described := sfn.describe_execution(executionArn=suite_arn))["status"] == "RUNNING":
        time.sleep(0.5)
    assert (described["status"], described["error"]) == ("FAILED", "SuiteFailed")
    failing = sum(FAILS_ON_PURPOSE in item.label for item in loaded)
    assert described["cause"].startswith(f"{failing} of {len(loaded)} scenarios did not pass")
    steps = [e for e in sfn.get_execution_history(executionArn=suite_arn, maxResults=1000)[
        "events"] if e["type"] == "MapStateEntered"]
    assert json.loads(steps[0]["stateEnteredEventDetails"]["input"])["max_concurrency"] == 4

    # `itest status` of the suite (its ARN, or its name with --local): every child
    from itest.cli.connect import Where

    name = suite_arn.rsplit(":", 1)[1]
    assert name.startswith("suite-")
    for given in (suite_arn, name):
        shown = commands.status(Where(local=True), given)
        assert [(r.run_id, r.status, r.reason) for r in shown.reports] == [
            (r.run_id, r.status, r.reason) for r in outcome.reports
        ]
        assert shown.exit_code == 1


def test_run_suite_with_more_than_a_map_runs_at_once_is_bad_input() -> None:
    from tests.e2e.conftest import itest

    done = itest("run", str(SCENARIOS), "--suite", "--parallel", "10001", "--local")
    assert done.returncode == 2, done.stderr
    assert "a suite runs at most 10000 scenarios at once" in done.stderr
    assert "local AWS" not in done.stderr  # nothing started, not even the local AWS


def test_the_command_runs_a_suite_and_exits_as_without_it() -> None:
    """`itest run FILES --suite --local`, as a user types it (a private local AWS)."""
    from tests.e2e.conftest import itest

    files = [str(SCENARIOS / f"{name}.yaml") for name in NAMES]
    done = itest("run", *files, "--suite", "--local", "--format", "json")
    assert done.returncode == 1, done.stderr  # one of them fails on purpose
    assert "suite arn:aws:states:" in done.stderr and "started" in done.stderr
    reports = json.loads(done.stdout)["runs"]
    assert {r["scenario"]: r["status"] for r in reports} == {
        name: "failed" if FAILS_ON_PURPOSE in name else "passed" for name in NAMES
    }
