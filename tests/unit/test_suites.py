"""Following a suite's children (cli/suites.py) against stub AWS clients on a fake clock:
Step Functions starts the children MaxConcurrency at a time; the CLI finds them with
ListExecutions, not one DescribeExecution per child, and reports them as its own runs."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from itest.cli import reports
from itest.cli.connect import Orchestrator
from itest.cli.scheduler import Scheduler
from itest.cli.suites import SuiteFollower, start_suite
from itest.cli.target import Target

from tests.unit.test_cli_scheduler import Clock, FakeAws, scenarios

TARGET = Target("arn:aws:states:eu-west-1:111122223333:stateMachine:itest", "bucket", "results",
                "arn:aws:states:eu-west-1:111122223333:stateMachine:itest-suite")


class FakeSuiteAws(FakeAws):
    """The suite state machine too: it reads its list from what was put, and starts its
    children `max_concurrency` at a time, each lasting `duration`. `broken`: it fails
    at once (its list unreadable) and starts none."""

    def __init__(self, clock: Clock, *, broken: bool = False, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.broken = broken
        self.objects: dict[str, bytes] = {}
        self.suite: dict[str, Any] = {}
        self.list_calls = 0

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.objects[kwargs["Key"]] = kwargs["Body"]
        return {}

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if stateMachineArn != TARGET.suite_state_machine_arn:
            return super().start_execution(stateMachineArn=stateMachineArn, name=name,
                                           input=input)
        given = json.loads(input)
        items = json.loads(self.objects[given["scenarios_key"]])
        width = given["max_concurrency"]
        start = self.clock()
        self.suite = {"arn": f"{stateMachineArn}:{name}".replace(":stateMachine:", ":execution:"),
                      "start": start}
        if not self.broken:
            for i, entry in enumerate(items):
                arn = TARGET.state_machine_arn.replace(":stateMachine:", ":execution:")
                self.executions[f"{arn}:{entry['run_id']}"] = {
                    "name": entry["run_id"], "start": start + 1 + (i // width) * self.duration
                }
        return {"executionArn": self.suite["arn"], "startDate": _date(start)}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        if executionArn != self.suite.get("arn"):
            return super().describe_execution(executionArn=executionArn)
        if self.broken:
            return {"status": "FAILED", "error": "States.Runtime", "cause": "list unreadable"}
        over = all(self._ended(e) for e in self.executions.values())
        return {"status": "SUCCEEDED" if over else "RUNNING"}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_executions"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.list_calls += 1
        now = self.clock()
        listed = []
        for execution in self.executions.values():
            if execution["start"] > now:
                continue  # not started by the suite yet
            failed = execution["name"].split("-")[0] in self.failing
            status = ("FAILED" if failed else "SUCCEEDED") if self._ended(execution) else "RUNNING"
            listed.append({"name": execution["name"], "status": status,
                           "startDate": _date(execution["start"])})
        listed.sort(key=lambda e: e["startDate"], reverse=True)
        return [{"executions": listed}]


def _date(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _run(aws: FakeSuiteAws, clock: Clock, count: int, width: int) -> list[Any]:
    scheduler = Scheduler(aws, TARGET, parallel=10, clock=clock, sleep=clock.sleep,
                          rng=random.Random(7))
    tracked = scenarios(count)
    suite = start_suite(aws, TARGET, tracked, {}, max_concurrency=width)
    return SuiteFollower(scheduler, suite).run(tracked)


def test_children_are_followed_by_listing_not_by_describing_each():
    clock = Clock()
    began = clock()
    aws = FakeSuiteAws(clock, duration=20.0, failing=frozenset({"s2"}))
    tracked = _run(aws, clock, count=10, width=3)
    # four waves of 20 s after 1 s: the last child is seen ending within a few polls
    assert clock() - began < 1 + 4 * 20 + 3
    assert [one.state for one in tracked] == ["done"] * 10
    assert [one.run.run_id.split("-")[0] for one in tracked] == [f"s{i}" for i in range(10)]
    statuses = {one.name: one.execution["status"] for one in tracked}
    assert statuses == {f"s{i}": "FAILED" if i == 2 else "SUCCEEDED" for i in range(10)}
    assert len(aws.describe_calls) == 1  # the failed child's error and cause, nothing else
    # four waves of 20 s, a listing every 4 polls (0.5 s): not one per child per poll
    assert aws.list_calls < 4 * 20 / (4 * 0.5) * 2


def test_children_a_failed_suite_never_started_are_not_started_with_its_reason():
    clock = Clock()
    aws = FakeSuiteAws(clock, broken=True)
    orchestrator = Orchestrator(aws, TARGET)  # type: ignore[arg-type]
    done = [reports.finished(orchestrator, one) for one in _run(aws, clock, count=3, width=10)]
    assert [r.status for r in done] == ["not_started"] * 3
    assert all(r.run_id and r.run_id.startswith(f"s{i}-") for i, r in enumerate(done))
    assert done[0].reason == (
        "not started: the suite ended FAILED before starting it: list unreadable"
    )
    assert reports.Outcome(done).exit_code == 3


def test_a_suite_state_machine_arn_finds_the_orchestrator_it_runs():
    """`itest status <suite execution ARN>` on AWS: the ARN names the suite state machine;
    its definition names the scenario state machine, whose first handler names the rest."""
    from itest.cli.target import from_state_machine

    suite_arn, scenario_arn = TARGET.suite_state_machine_arn, TARGET.state_machine_arn
    definitions = {
        suite_arn: {"StartAt": "Concurrency", "States": {"RunScenarios": {"Type": "Map",
                    "ItemProcessor": {"States": {"RunScenario": {"Parameters": {
                        "StateMachineArn": scenario_arn}}}}}}},
        scenario_arn: {"StartAt": "Prepare", "States": {"Prepare": {"Parameters": {
            "FunctionName": "prepare"}}}},
    }

    class Aws:
        def client(self, service: str) -> Aws:
            return self

        def describe_state_machine(self, *, stateMachineArn: str) -> dict[str, Any]:
            return {"definition": json.dumps(definitions[stateMachineArn])}

        def get_function_configuration(self, *, FunctionName: str) -> dict[str, Any]:
            return {"Environment": {"Variables": {"SCENARIO_BUCKET": "bucket",
                                                  "RESULTS_TABLE": "results"}}}

    assert from_state_machine(Aws(), suite_arn) == TARGET  # type: ignore[arg-type]


def test_ctrl_c_says_the_suite_goes_on_and_how_to_follow_it():
    import pytest
    from itest.cli.errors import Interrupted

    clock = Clock()
    aws = FakeSuiteAws(clock, duration=20.0)
    scheduler = Scheduler(aws, TARGET, parallel=10, clock=clock, sleep=clock.sleep,
                          rng=random.Random(7))

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    scheduler.sleep = interrupt
    tracked = scenarios(3)
    suite = start_suite(aws, TARGET, tracked, {}, max_concurrency=1)
    with pytest.raises(Interrupted) as caught:
        SuiteFollower(scheduler, suite).run(tracked)
    assert str(caught.value) == (
        "interrupted: the suite goes on and starts every scenario left; follow its 3 "
        f"children with:\n  itest status {suite.execution_arn}"
    )


def test_a_suite_bigger_than_its_result_can_hold_is_refused_before_anything_is_uploaded(
    tmp_path, monkeypatch
) -> None:
    import pytest
    from click.testing import CliRunner
    from itest.cli import connect, suites
    from itest.cli.errors import BadInput
    from itest.cli.main import cli

    with pytest.raises(BadInput, match="2001 scenarios with --suite: one suite runs at most 2000"):
        suites.check_suite(2_001, None)
    suites.check_suite(2_000, 10_000)

    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\nsteps:\n  - {{name: pause, action: wait, with: {{seconds: 1}}}}\n"
        )
    monkeypatch.setattr(suites, "MAX_SCENARIOS", 2)

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("nothing may connect, upload or start")

    monkeypatch.setattr(connect, "for_listing", never)
    monkeypatch.setattr(connect, "for_run", never)
    for command in (["upload", "--suite"], ["run", "--suite"]):
        result = CliRunner().invoke(cli, [*command, str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert "3 scenarios with --suite: one suite runs at most 2" in result.output


def test_a_suite_name_is_a_run_id_of_the_name_suite() -> None:
    from itest.cli.run_ids import new_run_id
    from itest.cli.suites import is_suite_name

    assert is_suite_name(new_run_id("suite"))
    for other in ("suite", new_run_id("suite-a"), new_run_id("orders"), new_run_id("suite") + "x"):
        assert not is_suite_name(other), other
