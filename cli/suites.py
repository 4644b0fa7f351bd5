"""Suites as one execution: the list of scenarios a suite runs, and starting it.

The suite state machine (infra/suite.py) reads its list from the scenario
bucket, `suites/<label or content hash>.json`, and starts one child execution
of the scenario state machine per item. The CLI names every child up front
(`run_id`, as it names the runs it starts), so it knows each child's ARN before
the suite starts it and follows the children as it follows its own runs. A
list uploaded once for a pipeline (`itest upload --suite`) has no run ids: the
suite names each child `<name>-<uuid>` when it starts it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itest.cli.errors import BadInput, InfraError, Interrupted
from itest.cli.scheduler import TERMINAL, Stage
from itest.lambdas.bucket_layout import SUITES_PREFIX
from itest.lambdas.statuses import FINAL_STATUSES

if TYPE_CHECKING:
    from itest.cli.aws import ClientFactory
    from itest.cli.connect import Orchestrator
    from itest.cli.reports import Report
    from itest.cli.scenarios import LoadedScenario
    from itest.cli.scheduler import Scheduler, Tracked
    from itest.cli.target import Target

SUITE_NAME = "suite"  # suite executions the CLI starts are named suite-<time>-<6 hex>
MAX_CONCURRENCY = 10_000  # a distributed Map's most child executions at once
MAX_SCENARIOS = 2_000
"""The most scenarios in one suite: the Map's result lines (about 100 bytes each, more
with a reason) must fit Step Functions' 256 KiB of state data (docs/engine.md)."""
UUID_NAME_PART = 37  # "-" and a UUID: what the suite adds to `name` without a run id
NAME_MAX = 80 - UUID_NAME_PART


def item(
    run_prefix: str, scenario: dict[str, str], run_vars: dict[str, Any], run_id: str | None
) -> dict[str, Any]:
    """One entry of a suite list (docs/engine.md): the scenario's reference and vars,
    and its child's name (`run_id`) or the start of the name the suite gives it."""
    entry: dict[str, Any] = {"name": run_prefix[:NAME_MAX], "scenario": scenario,
                             "vars": run_vars}
    if run_id is not None:
        entry["run_id"] = run_id
    return entry


def upload_list(
    aws: ClientFactory, target: Target, items: list[dict[str, Any]], *, label: str | None = None
) -> str:
    """Put the list at `suites/<label or content hash>.json`; return its key."""
    body = json.dumps(items, separators=(",", ":")).encode()
    key = f"{SUITES_PREFIX}{label or hashlib.sha256(body).hexdigest()}.json"
    aws.client("s3").put_object(
        Bucket=target.bucket, Key=key, Body=body, ContentType="application/json"
    )
    return key


def suite_input(key: str, max_concurrency: int | None) -> dict[str, Any]:
    """The suite execution's input: its list, and how many children at once (the
    stack's `itest:suiteMaxConcurrency` when None)."""
    given: dict[str, Any] = {"scenarios_key": key}
    if max_concurrency is not None:
        given["max_concurrency"] = max_concurrency
    return given


def upload_suite(
    aws: ClientFactory,
    target: Target,
    scenarios: list[LoadedScenario],
    overrides: dict[str, Any],
    *,
    label: str | None = None,
) -> dict[str, Any]:
    """Upload every scenario and a list of them without run ids (`itest upload --suite`,
    for a pipeline that starts it again and again); return the one execution input.

    Raises:
        InfraError: the stack has no suite state machine.
    """
    from itest.cli.scheduler import upload_all

    machine = suite_machine(target)
    refs = upload_all(aws, target, [one.scenario for one in scenarios], label=label)
    items = [
        item(one.run_prefix, ref, {**overrides, **one.variant}, None)
        for one, ref in zip(scenarios, refs, strict=True)
    ]
    return {
        "state_machine_arn": machine,
        "scenarios": [one.label for one in scenarios],
        "input": suite_input(upload_list(aws, target, items, label=label), None),
    }


def suite_machine(target: Target) -> str:
    """The suite state machine's ARN.

    Raises:
        InfraError: the orchestrator has none (found by --state-machine-arn, or a stack
            from before suites).
    """
    if not target.suite_state_machine_arn:
        raise InfraError(
            "no suite state machine: --suite needs the stack's SuiteStateMachineArn output "
            "(--stack, not --state-machine-arn; redeploy a stack older than suites)"
        )
    return target.suite_state_machine_arn


def read_list(aws: ClientFactory, target: Target, suite_input_: dict[str, Any]) -> list[dict]:
    """The list a suite execution runs, from its input.

    Raises:
        InfraError: the list is gone or is not one.
    """
    key = suite_input_.get("scenarios_key")
    if not isinstance(key, str):
        raise InfraError(f"not an itest suite execution: its input has no scenarios_key: "
                         f"{json.dumps(suite_input_)[:200]}")
    body = aws.client("s3").get_object(Bucket=target.bucket, Key=key)["Body"].read()
    listed = json.loads(body)
    if not isinstance(listed, list):
        raise InfraError(f"s3://{target.bucket}/{key} is not a suite list")
    return listed


def check_suite(scenarios: int, max_concurrency: int | None) -> None:
    """Refuse, before anything is uploaded, a suite that could not report its children.

    Raises:
        BadInput: more scenarios than one suite's result holds, or more children at
            once than a distributed Map runs.
    """
    if scenarios > MAX_SCENARIOS:
        raise BadInput(f"{scenarios} scenarios with --suite: one suite runs at most "
                       f"{MAX_SCENARIOS} (its result must fit Step Functions' 256 KiB of "
                       "state data); split the paths into several suites")
    if max_concurrency is not None and max_concurrency > MAX_CONCURRENCY:
        raise BadInput(f"--parallel {max_concurrency} with --suite: a suite runs at most "
                       f"{MAX_CONCURRENCY} scenarios at once")


@dataclass(frozen=True)
class StartedSuite:
    """One suite execution and when it started (its children start after it)."""

    execution_arn: str
    start_date: datetime


def start_suite(
    aws: ClientFactory,
    target: Target,
    tracked: list[Tracked],
    overrides: dict[str, Any],
    *,
    max_concurrency: int | None,
) -> StartedSuite:
    """Upload every scenario and their list, each child named by a run id chosen here,
    and start the one suite execution; every `tracked` gets its child's run (its ARN
    known before the suite starts it) and is `queued` until the child begins.

    Raises:
        InfraError: no suite state machine (nothing was uploaded), or AWS failed.
    """
    from itest.cli.aws import call_throttled
    from itest.cli.run_ids import new_run_id
    from itest.cli.scheduler import StartedRun, upload_all
    from itest.cli.target import execution_arn_of

    machine = suite_machine(target)
    items = []
    refs = upload_all(aws, target, [one.item.scenario for one in tracked])
    for one, ref in zip(tracked, refs, strict=True):
        run_id = new_run_id(one.item.run_prefix)
        given = one.vars if one.vars is not None else overrides
        items.append(item(one.item.run_prefix, ref, given, run_id))
        one.run = StartedRun(one.item.scenario.name, run_id,
                             execution_arn_of(target.state_machine_arn, run_id))
    key = upload_list(aws, target, items)
    sfn = aws.client("stepfunctions")
    started = call_throttled(
        lambda: sfn.start_execution(
            stateMachineArn=machine, name=new_run_id(SUITE_NAME),
            input=json.dumps(suite_input(key, max_concurrency)),
        ),
        what="StartExecution",
    )
    return StartedSuite(started["executionArn"], started["startDate"])


class SuiteFollower:
    """Follows a suite's children with the scheduler's own polling and reports.

    Step Functions, not DescribeExecution, says where the children are: one
    ListExecutions of the scenario state machine (newest first, down to the
    suite's start; 1,000 a page) per check finds the children that began and
    those that ended, however many there are; a check every 4 polls, every 2
    while the table says a child has its verdict (its execution ends within a
    state or two). Meanwhile each running child's
    progress is read from the results table, as for a run the CLI started. A
    child that ended otherwise than SUCCEEDED is described once (its error and
    cause). When the suite ends with children it never started (it failed or was
    stopped), they are `not_started` with the suite's reason.
    """

    CHECK_POLLS = 4  # list the children every this many poll intervals (per page listed)
    CLOSING_POLLS = 2  # ... or this many, while the table says a child has its verdict

    def __init__(self, scheduler: Scheduler, suite: StartedSuite) -> None:
        self.scheduler = scheduler
        self.suite = suite
        self.next_check = self.last_check = 0.0
        scheduler.describe_runs = False  # the listing settles them

    def run(self, tracked: list[Tracked]) -> list[Tracked]:
        """Follow every child of the suite until each ends (or the wait does)."""
        children = {one.run.run_id: one for one in tracked if one.run is not None}
        waiting = dict(children)
        for one in waiting.values():
            one.state = Stage.QUEUED

        def admit(running: list[Tracked]) -> None:
            now = self.scheduler.clock()
            if now < self._next_check(running):
                return
            listed, pages = self._listed(set(children))
            self.last_check = now
            self.next_check = now + self.CHECK_POLLS * self.scheduler.poll_seconds * pages
            for run_id, execution in listed.items():
                one = children[run_id]
                if run_id in waiting:
                    del waiting[run_id]
                    self.scheduler.begin(one)
                    running.append(one)
                if one.state == Stage.RUNNING and execution["status"] in TERMINAL:
                    self._settle(one, execution)
            if waiting and not running:
                self._settle_if_over(waiting)

        try:
            return self.scheduler.follow(tracked, admit, lambda: list(waiting.values()),
                                         self._next_check)
        except Interrupted:
            hint = self.scheduler.follow_hint(self.suite.execution_arn)
            raise Interrupted(
                f"interrupted: the suite goes on and starts every scenario left; "
                f"follow its {len(children)} children with:\n  {hint}"
            ) from None

    def _next_check(self, running: list[Tracked]) -> float:
        """When to list the children again: sooner while one has its verdict."""
        if any(one.progress.status in FINAL_STATUSES for one in running):
            return self.last_check + self.CLOSING_POLLS * self.scheduler.poll_seconds
        return self.next_check

    def _listed(self, names: set[str]) -> tuple[dict[str, dict[str, Any]], int]:
        """The children named `names` that exist, by name, and the pages it took."""
        sfn = self.scheduler.aws.client("stepfunctions")
        return _existing(sfn, self.scheduler.target, names, self.suite.start_date)

    def _settle(self, one: Tracked, listed: dict[str, Any]) -> None:
        """A child ended: SUCCEEDED as listed, anything else with its error and cause."""
        from itest.cli.scheduler import execution_of

        execution = execution_of(listed)
        if listed["status"] != "SUCCEEDED":
            from itest.cli.aws import call_throttled

            assert one.run is not None
            sfn = self.scheduler.aws.client("stepfunctions")
            execution = execution_of(call_throttled(
                lambda: sfn.describe_execution(executionArn=one.run.execution_arn),
                what="DescribeExecution",
            ))
        self.scheduler.settle(one, execution)

    def _settle_if_over(self, waiting: dict[str, Tracked]) -> None:
        """The suite ended: children still not begun will never be."""
        sfn = self.scheduler.aws.client("stepfunctions")
        described = sfn.describe_execution(executionArn=self.suite.execution_arn)
        if described["status"] == "RUNNING":
            return
        listed, _ = self._listed(set(waiting))  # the last ones may have begun meanwhile
        detail = described.get("cause") or described.get("error") or "no cause given"
        for run_id in list(waiting):
            if run_id in listed:
                continue
            one = waiting.pop(run_id)
            one.state = Stage.NOT_STARTED
            one.reason = (f"not started: the suite ended {described['status']} before "
                          f"starting it: {detail}"[:2000])
            self.scheduler.on_update(one)


def is_suite_name(run: str) -> bool:
    """A suite execution's name as `itest run --suite` makes them: a run id
    (cli/run_ids.py) of the name `suite`."""
    from itest.cli.run_ids import scenario_of

    return run != SUITE_NAME and scenario_of(run) == SUITE_NAME


def suite_execution_arn(target: Target, name: str) -> str:
    from itest.cli.target import execution_arn_of

    return execution_arn_of(suite_machine(target), name)


def is_suite(target: Target, arn: str) -> bool:
    """Whether `arn` is an execution of the orchestrator's suite state machine."""
    from itest.cli.target import parse_execution_arn

    machine = parse_execution_arn(arn).state_machine_arn
    return target.suite_state_machine_arn is not None and machine == target.suite_state_machine_arn


def children_status(orchestrator: Orchestrator, suite_arn: str) -> list[Report]:
    """`itest status` of a suite execution: one report per child, in the list's order.

    A child is named by the list's run id, or (a list without run ids) by the line
    the suite wrote for it once the suite ended; until the suite starts it, it is
    `queued` (`not_started` if the suite ended first).
    """
    from itest.cli import reports
    from itest.cli.aws import call_throttled
    from itest.cli.target import execution_arn_of

    aws, target = orchestrator.aws, orchestrator.target
    sfn = aws.client("stepfunctions")
    described = call_throttled(lambda: sfn.describe_execution(executionArn=suite_arn),
                               what="DescribeExecution")
    listed = read_list(aws, target, json.loads(described.get("input") or "{}"))
    run_ids = [entry.get("run_id") for entry in listed]
    if None in run_ids and described["status"] != "RUNNING":
        run_ids = _named_by_the_suite(sfn, suite_arn) or run_ids
    started, _ = _existing(sfn, target, {r for r in run_ids if r}, described["startDate"])
    found = []
    for entry, run_id in zip(listed, run_ids, strict=False):
        if run_id in started:
            found.append(reports.status(orchestrator,
                                        execution_arn_of(target.state_machine_arn, run_id)))
            continue
        over = described["status"] != "RUNNING"
        found.append(reports.Report(
            entry.get("name", "?"),
            reports.ReportStatus.NOT_STARTED if over else reports.ReportStatus.QUEUED,
            run_id=run_id,
            reason=(f"the suite ended {described['status']} before starting it" if over
                    else "the suite has not started it yet"),
        ))
    return found


def _named_by_the_suite(sfn: Any, suite_arn: str) -> list[str | None]:
    """The run ids the suite gave its children, from its lines (MapStateExited)."""
    for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=suite_arn, reverseOrder=True
    ):
        for event in page["events"]:
            if event["type"] == "MapStateExited":
                output = json.loads(event["stateExitedEventDetails"]["output"])
                return [line.get("run_id") for line in output.get("results", [])]
    return []


def _existing(
    sfn: Any, target: Target, names: set[str], since: datetime
) -> tuple[dict[str, dict[str, Any]], int]:
    """Executions of the scenario state machine named `names` (started since `since`),
    by name, and the pages of ListExecutions it took (newest first, 1,000 a page)."""
    found: dict[str, dict[str, Any]] = {}
    pages = 0
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=target.state_machine_arn, PaginationConfig={"PageSize": 1000}
    ):
        pages += 1
        for execution in page["executions"]:
            if execution["name"] in names:
                found[execution["name"]] = execution
        oldest = page["executions"][-1]["startDate"] if page["executions"] else None
        if len(found) == len(names) or oldest is None or oldest < since:
            break
    return found, max(pages, 1)
