"""What each command does, apart from parsing and printing: one function per command."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itest.cli.connect import Orchestrator, Where
from itest.cli.errors import Interrupted
from itest.cli.reports import Outcome
from itest.cli.scenarios import LoadedScenario, check_overrides, load
from itest.lambdas.statuses import RunStatus

if TYPE_CHECKING:
    from itest.cli.local.background import LocalState
    from itest.cli.logs import LogLine

DEFAULT_PARALLEL = 10
DEFAULT_SCENARIO_DIR = Path("scenarios")


def run(
    where: Where,
    paths: tuple[Path, ...],
    *,
    tags: tuple[str, ...] = (),
    overrides: dict[str, str],
    wait: bool,
    parallel: int | None = None,
    suite: bool = False,
    timeout: float | None = None,
    progress: bool = True,
    say: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Validate every file, then start one execution per scenario (with `suite`: one
    suite execution that starts them) and, with `wait`, follow them (at most
    `parallel` at a time) and report.

    Raises:
        BadInput: a bad file, an unknown tag, a var missing; nothing was started.
        InfraError: AWS or the local AWS failed; Interrupted on Ctrl-C.
    """
    from itest.cli import connect
    from itest.cli.scenarios import check_vars

    scenarios = load(paths, tags=tags)
    check_overrides(scenarios, overrides)
    if suite:
        from itest.cli.suites import check_suite

        check_suite(len(scenarios), parallel)
    if not where.local:  # on AWS every var comes from the command line: check before connecting
        check_vars(scenarios, {item.path: overrides for item in scenarios})
    began = time.monotonic()
    with connect.for_run(where, scenarios, timeout=timeout, say=say) as (orchestrator, served):
        overrides = stack_outputs(orchestrator, overrides)
        # --var wins over the scenario's own local target, which wins over its `vars:`
        vars_for = {item.path: {**served.vars_for(item.path), **overrides} for item in scenarios}
        check_vars(scenarios, vars_for, served if where.local else None)
        left = None if timeout is None else max(timeout - (time.monotonic() - began), 1.0)
        try:
            return run_on(
                orchestrator, scenarios, overrides, wait=wait or where.local,
                parallel=parallel, suite=suite, timeout=left, progress=progress,
                vars_for=vars_for, say=say,
            )
        except Interrupted:
            if orchestrator.kind != "private":
                raise
            raise Interrupted(
                "interrupted: the private local AWS stopped, and its executions with it "
                "(`itest local up` keeps one running between commands)"
            ) from None


def run_on(
    orchestrator: Orchestrator,
    scenarios: list[LoadedScenario],
    overrides: dict[str, str],
    *,
    wait: bool,
    parallel: int | None = None,
    suite: bool = False,
    timeout: float | None = None,
    progress: bool = False,
    vars_for: dict[Path, dict[str, str]] | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Start the scenarios on `orchestrator` (with `suite`: one suite execution, its
    children named here, `parallel` its concurrency, else the stack's); with `wait`,
    follow them and report, the same way either way.

    Each scenario gets `vars_for[its file]` when given (its own local target's vars
    and the --vars), else `overrides`.
    """
    from contextlib import nullcontext

    from itest.cli import reports
    from itest.cli.scheduler import LOCAL_PACE, Scheduler, Stage, Tracked

    tracked = [Tracked(item, vars=_vars_of(item, vars_for, overrides)) for item in scenarios]
    with orchestrator.errors():
        started_suite = None
        if suite:
            from itest.cli.suites import start_suite

            started_suite = start_suite(orchestrator.aws, orchestrator.target, tracked,
                                        overrides, max_concurrency=parallel)
            hint = orchestrator.follow_hint(started_suite.execution_arn)
            say(f"suite {started_suite.execution_arn} started; its children: {hint}")
        if not wait and started_suite is not None:
            return Outcome([reports.started(orchestrator, one) for one in tracked])
        if not wait:
            from itest.cli.scheduler import start, upload_all

            refs = upload_all(orchestrator.aws, orchestrator.target,
                              [one.item.scenario for one in tracked])  # fmt: skip
            for one, ref in zip(tracked, refs, strict=True):
                one.run = start(orchestrator.aws, orchestrator.target, one.item.scenario,
                                one.vars if one.vars is not None else overrides,
                                ref=ref, prefix=one.item.run_prefix)
            return Outcome([reports.started(orchestrator, one) for one in tracked])
        from itest.cli.progress import progress_for

        display = progress_for(tracked) if progress else None
        done: dict[int, reports.Report] = {}  # read as each run ends, not all at the end

        def update(one: Tracked) -> None:
            if display:
                display.update(one)
            if one.state == Stage.DONE:
                done[id(one)] = reports.finished(orchestrator, one)

        scheduler = Scheduler(
            orchestrator.aws, orchestrator.target, parallel=parallel or DEFAULT_PARALLEL,
            timeout=timeout,
            on_update=update,
            follow_hint=orchestrator.follow_hint,
            **(LOCAL_PACE if orchestrator.kind != "aws" else {}),
        )
        with display or nullcontext():
            if started_suite is not None:
                from itest.cli.suites import SuiteFollower

                SuiteFollower(scheduler, started_suite).run(tracked)
            else:
                scheduler.run(tracked, overrides)
        return Outcome([done.get(id(one)) or reports.finished(orchestrator, one)
                        for one in tracked])  # fmt: skip


def stack_outputs(orchestrator: Orchestrator, values: dict[str, Any]) -> dict[str, Any]:
    """`cfn:<StackName>/<OutputKey>` values read from the stacks, with the run's session.

    Raises:
        BadInput: a stack or an output is missing. InfraError: AWS failed.
    """
    from itest.cli.environments import CFN, resolve_outputs

    if not any(isinstance(v, str) and CFN.fullmatch(v) for v in values.values()):
        return values
    with orchestrator.errors():
        return resolve_outputs(values, orchestrator.aws.client("cloudformation"))


def _vars_of(
    item: LoadedScenario, vars_for: dict[Path, dict[str, str]] | None, overrides: dict[str, str]
) -> dict[str, Any] | None:
    """A scenario's own vars (its target's and the --vars), a matrix variant's values on
    top; None when it has nothing of its own (the run's overrides apply)."""
    own = (vars_for or {}).get(item.path)
    if not item.variant:
        return own
    return {**(own if own is not None else overrides), **item.variant}


def upload(
    where: Where,
    paths: tuple[Path, ...],
    *,
    tags: tuple[str, ...] = (),
    label: str | None = None,
    overrides: dict[str, str],
    suite: bool = False,
) -> list[dict[str, Any]]:
    """Validate and upload the scenarios without starting them; return each one's
    execution input (what StartExecution, or a pipeline's invoke action, passes), or
    with `suite` the one input of a suite execution running them all.

    Raises:
        BadInput: a bad file or tag; nothing was uploaded. InfraError: AWS failed.
    """
    from itest.cli import connect
    from itest.cli.scheduler import upload_all

    scenarios = load(paths, tags=tags)
    check_overrides(scenarios, overrides)
    if suite:
        from itest.cli.suites import check_suite

        check_suite(len(scenarios), None)
    orchestrator = connect.for_listing(where)
    overrides = stack_outputs(orchestrator, overrides)
    if suite:
        from itest.cli.suites import upload_suite

        with orchestrator.errors():
            return [upload_suite(orchestrator.aws, orchestrator.target, scenarios, overrides,
                                 label=label)]
    with orchestrator.errors():
        refs = upload_all(orchestrator.aws, orchestrator.target,
                          [item.scenario for item in scenarios], label=label)  # fmt: skip
        return [
            {
                "scenario": item.label,
                "file": str(item.path),
                "state_machine_arn": orchestrator.target.state_machine_arn,
                "input": {"scenario": ref, "vars": {**overrides, **item.variant}},
            }
            for item, ref in zip(scenarios, refs, strict=True)
        ]


def status(where: Where, run: str) -> Outcome:
    """One execution (run id or ARN), running or not: its steps, failures and cleanup;
    a suite execution: each of its children so.

    Raises:
        BadInput: neither a run id nor an execution ARN. InfraError: it cannot be read.
    """
    from itest.cli import connect, reports, suites

    if suites.is_suite_name(run):
        orchestrator = connect.for_listing(where)
        arn = suites.suite_execution_arn(orchestrator.target, run)
    else:
        orchestrator, arn = connect.for_execution(where, run)
    with orchestrator.errors():
        if suites.is_suite(orchestrator.target, arn):
            return Outcome(suites.children_status(orchestrator, arn))
        return Outcome([reports.status(orchestrator, arn)])


def logs(
    where: Where,
    run: str,
    *,
    since: str | None,
    follow: bool,
    emit: Callable[[list[LogLine]], None],
) -> None:
    """Emit the execution's (run id or ARN) log lines in time order; with `follow`,
    until it ends.

    Raises:
        BadInput: neither a run id nor an ARN, or a bad --since. InfraError: as status.
    """
    from itest.cli import connect
    from itest.cli.aws import call_throttled
    from itest.cli.logs import DRAIN_POLLS, LogReader, parse_since
    from itest.cli.logs import follow as follow_lines
    from itest.cli.target import parse_execution_arn

    start = parse_since(since, time.time()) if since else None
    orchestrator, arn = connect.for_execution(where, run)
    parsed = parse_execution_arn(arn)
    with orchestrator.errors():
        if start is None:
            sfn = orchestrator.aws.client("stepfunctions")
            described = call_throttled(
                lambda: sfn.describe_execution(executionArn=arn), what="DescribeExecution"
            )
            start = described["startDate"].timestamp() - 1
        reader = LogReader(orchestrator, arn, parsed.name, start)
        try:
            drains = DRAIN_POLLS if orchestrator.kind == "aws" else 0
            follow_lines(reader, emit, keep_following=follow, drains=drains)
        except KeyboardInterrupt:
            raise Interrupted(
                f"stopped following; the execution goes on: {orchestrator.follow_hint(arn)}"
            ) from None


@dataclass
class Listing:
    """`itest list`: scenarios found, files that failed to load, recent executions."""

    scenarios: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    executions: list[dict[str, Any]] | None = None
    error: Exception | None = None  # why executions could not be listed


def listing(
    where: Where,
    paths: tuple[Path, ...],
    *,
    tags: tuple[str, ...] = (),
    executions: bool = True,
    limit: int = 20,
) -> Listing:
    """Local scenarios (name, tags, steps) and the state machine's recent executions."""
    from click import ClickException
    from itest.cli.scenarios import load_all

    if not paths:
        paths = (DEFAULT_SCENARIO_DIR,) if DEFAULT_SCENARIO_DIR.is_dir() else ()
    loaded, problems = load_all(paths) if paths else ([], [])
    result = Listing(
        [
            {
                "name": item.label,
                "tags": list(item.scenario.tags),
                "steps": len(item.scenario.steps),
                "file": str(item.path),
                "description": item.scenario.description,
            }
            for item in loaded
            if not tags or set(tags) & set(item.scenario.tags)
        ],
        problems,
    )
    if executions:
        try:
            result.executions = recent_executions(where, limit)
        except ClickException as error:
            result.error = error
    return result


def recent_executions(where: Where, limit: int) -> list[dict[str, Any]]:
    """The newest executions, with the scenario and verdict from the results table."""
    from itest.cli import connect
    from itest.cli.reports import Report, verdict
    from itest.cli.run_ids import scenario_of
    from itest.lambdas.results.store import read_summaries

    orchestrator = connect.for_listing(where)
    with orchestrator.errors():
        sfn = orchestrator.aws.client("stepfunctions")
        found = sfn.list_executions(
            stateMachineArn=orchestrator.target.state_machine_arn, maxResults=limit
        )["executions"]
        records = read_summaries(
            [e["name"] for e in found],
            table=orchestrator.target.results_table,
            dynamodb=orchestrator.aws.client("dynamodb"),
        )
    listed = []
    for execution in found:
        record = records.get(execution["name"])
        status = RunStatus.RUNNING
        if execution["status"] != "RUNNING":
            status, _ = verdict(record, execution)  # type: ignore[arg-type]
        report = Report(
            (record or {}).get("scenario") or scenario_of(execution["name"]),
            status,
            run_id=execution["name"],
            execution_arn=execution["executionArn"],
            execution=execution,
        )
        listed.append(
            {
                "scenario": report.scenario,
                "status": status,
                "run_id": report.run_id,
                "execution_arn": report.execution_arn,
                "started_at": report.started_at,
                "duration_ms": report.duration_ms,
            }
        )
    return listed


def local_up(port: int) -> tuple[LocalState, bool]:
    """Start the background local AWS unless it is up; (its state, whether we started it).

    Raises:
        BackgroundError: it could not start.
    """
    from itest.cli.local.background import up

    return up(port=port)


def local_down() -> LocalState | None:
    """Stop the background local AWS; the state it had, or None if none ran."""
    from itest.cli.local.background import down

    return down()


def local_status() -> LocalState | None:
    from itest.cli.local.background import read_state

    return read_state()
