"""What the CLI reports about runs: one `Report` per execution, whatever the command.

The results table says what happened to each step; the execution (Step
Functions) says whether it ended and how, which matters when a run ended
without the table knowing (timed out, aborted, a crashed handler).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from itest.cli.errors import EXIT_FAILED, EXIT_INFRA, EXIT_PASSED
from itest.lambdas.statuses import FINAL_STATUSES, RunStatus, StepStatus
from itest.lambdas.timestamps import iso

if TYPE_CHECKING:
    from itest.cli.connect import Orchestrator
    from itest.cli.scheduler import Tracked
    from itest.lambdas.results.records import RunRecord



class ReportStatus(StrEnum):
    """A report's status: the run's verdict, or what the CLI saw of the run."""

    PASSED = RunStatus.PASSED.value
    FAILED = RunStatus.FAILED.value
    ERROR = RunStatus.ERROR.value
    RUNNING = RunStatus.RUNNING.value  # `itest status` of a live run: no verdict yet
    QUEUED = "queued"  # `itest status` of a live suite: a child it has not started yet
    STARTED = "started"  # run without --wait
    TIMEOUT = "timeout"  # the wait ended first
    NOT_STARTED = "not_started"  # queued when the wait (or the suite) ended


EXIT_CODES = {
    ReportStatus.PASSED: EXIT_PASSED,
    ReportStatus.FAILED: EXIT_FAILED,
    ReportStatus.STARTED: EXIT_PASSED,
    ReportStatus.RUNNING: EXIT_PASSED,
    ReportStatus.QUEUED: EXIT_PASSED,
}


@dataclass
class Report:
    """One execution as every output format shows it."""

    scenario: str
    status: str
    run_id: str | None = None
    execution_arn: str | None = None
    reason: str | None = None
    record: RunRecord | None = None
    execution: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    console_url: str | None = None
    follow: str | None = None  # the command to look further: itest status|logs ARN
    status_command: str | None = None  # `itest status ...` for this run (None: it is gone)
    current: str | None = None  # where a running execution is (status)
    assertions_declared: int | None = None  # from the scenario file, when known
    planned_steps: list[str] = field(default_factory=list)  # from the scenario file, when known

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list((self.record or {}).get("steps", []))

    @property
    def started_at(self) -> str | None:
        return (self.record or {}).get("started_at") or _iso(self.execution.get("startDate"))

    @property
    def ended_at(self) -> str | None:
        return (self.record or {}).get("ended_at") or _iso(self.execution.get("stopDate"))

    @property
    def duration_ms(self) -> int | None:
        start, end = self.execution.get("startDate"), self.execution.get("stopDate")
        if isinstance(start, datetime) and isinstance(end, datetime):
            return round((end - start).total_seconds() * 1000)
        record = self.record or {}
        if record.get("started_at") and record.get("ended_at"):
            from itest.lambdas.timestamps import epoch

            return round((epoch(record["ended_at"]) - epoch(record["started_at"])) * 1000)
        return None

    def as_json(self) -> dict[str, Any]:
        """The documented shape (docs/cli.md)."""
        record: dict[str, Any] = dict(self.record or {})
        return {
            "scenario": self.scenario,
            "file": self.file,
            "run_id": self.run_id,
            "execution_arn": self.execution_arn,
            "console_url": self.console_url,
            "status": self.status,
            "execution_status": self.execution.get("status"),
            "reason": self.reason,
            "current": self.current,
            "status_command": self.status_command,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_ms": self.duration_ms,
            "steps": record.get("steps", []),
            "assertions": record.get("assertions"),
            "cleanup": record.get("cleanup"),
        }


@dataclass
class Outcome:
    """The reports of one command; the exit code follows the worst of them."""

    reports: list[Report]

    @property
    def exit_code(self) -> int:
        return max((EXIT_CODES.get(r.status, EXIT_INFRA) for r in self.reports), default=0)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"total": len(self.reports)}
        for report in self.reports:
            counts[report.status] = counts.get(report.status, 0) + 1
        return counts


def started(orchestrator: Orchestrator, tracked: Tracked) -> Report:
    """A run started without --wait."""
    assert tracked.run is not None
    arn = tracked.run.execution_arn
    return Report(
        tracked.name,
        ReportStatus.STARTED,
        run_id=tracked.run.run_id,
        execution_arn=arn,
        file=str(tracked.item.path),
        console_url=orchestrator.console_url(arn),
        follow=orchestrator.hint("status", arn),
        status_command=orchestrator.hint("status", arn),
    )


def finished(orchestrator: Orchestrator, tracked: Tracked) -> Report:
    """A run the scheduler followed: done, timed out, or never started."""
    from itest.cli.scheduler import Stage

    scenario = tracked.item.scenario
    if tracked.state == Stage.NOT_STARTED:  # a suite's child may have its run id already
        return Report(
            tracked.name, ReportStatus.NOT_STARTED, file=str(tracked.item.path),
            run_id=tracked.run and tracked.run.run_id, reason=tracked.reason,
            assertions_declared=len(scenario.assertions),
            planned_steps=scenario.step_names,
        )
    assert tracked.run is not None
    arn = tracked.run.execution_arn
    record = tracked.record or _read_run(orchestrator, tracked.run.run_id)
    report = Report(
        tracked.name,
        ReportStatus.ERROR,
        run_id=tracked.run.run_id,
        execution_arn=arn,
        record=record,
        execution=tracked.execution,
        file=str(tracked.item.path),
        console_url=orchestrator.console_url(arn),
        follow=orchestrator.hint("logs", arn),
        status_command=orchestrator.hint("status", arn),
        assertions_declared=len(scenario.assertions),
        planned_steps=scenario.step_names,
    )
    if tracked.state == Stage.TIMEOUT and (record or {}).get("status") not in FINAL_STATUSES:
        report.status = ReportStatus.TIMEOUT
        report.record = still_going(record)
        report.follow = orchestrator.hint("status", arn)
        goes_on = (
            f"the execution goes on: {report.follow}" if report.follow
            else "this command's private local AWS stops, and the execution with it"
        )
        report.reason = f"still running when the wait ended; {goes_on}"
    else:
        report.status, report.reason = verdict(record, tracked.execution)
    return report


def status(orchestrator: Orchestrator, arn: str) -> Report:
    """An execution looked up by its ARN, running or not (`itest status`)."""
    from itest.cli.aws import call_throttled
    from itest.cli.history import position
    from itest.cli.run_ids import scenario_of
    from itest.cli.scheduler import execution_of
    from itest.cli.target import parse_execution_arn

    sfn = orchestrator.aws.client("stepfunctions")
    described = call_throttled(
        lambda: sfn.describe_execution(executionArn=arn), what="DescribeExecution"
    )
    execution = execution_of(described)
    run_id = parse_execution_arn(arn).name
    record = _read_run(orchestrator, run_id)
    report = Report(
        (record or {}).get("scenario") or scenario_of(run_id),
        ReportStatus.RUNNING,
        run_id=run_id,
        execution_arn=arn,
        record=record,
        execution=execution,
        console_url=orchestrator.console_url(arn),
        follow=orchestrator.hint("logs", arn),
        status_command=orchestrator.hint("status", arn),
    )
    if execution["status"] == "RUNNING":
        report.record = still_going(record)
        where = position(sfn, arn)
        report.current = where.describe() if where else None
        report.follow = report.follow and f"{report.follow} --follow"
    else:
        report.status, report.reason = verdict(record, execution)
    return report


def still_going(record: RunRecord | None) -> RunRecord | None:
    """A live run's record as it is: steps it has not reached yet are `pending`, not
    `skipped` (skipped means a failure ended the run before them, or, with a
    `reason`, that the step's skip_if held: that one stays skipped)."""
    from itest.lambdas.results.records import never_ran

    if record is None:
        return None
    steps = [
        {**step, "status": StepStatus.PENDING}
        if never_ran(step)
        else step
        for step in record["steps"]
    ]
    return {**record, "steps": steps}  # type: ignore[typeddict-item]


def verdict(record: RunRecord | None, execution: dict[str, Any]) -> tuple[str, str | None]:
    """passed | failed | error and the reason: the table's verdict, else how the execution ended."""
    if record and record["status"] in FINAL_STATUSES:
        succeeded = execution.get("status") in (None, "SUCCEEDED")
        if record["status"] == RunStatus.PASSED and not succeeded:
            return RunStatus.ERROR, _execution_reason(execution)
        return record["status"], record.get("reason")
    return RunStatus.ERROR, _execution_reason(execution)


def _execution_reason(execution: dict[str, Any]) -> str:
    status = execution.get("status", "UNKNOWN")
    detail = execution.get("cause") or execution.get("error") or "no cause given"
    return f"execution {status}: {detail}"


def _read_run(orchestrator: Orchestrator, run_id: str) -> RunRecord | None:
    from itest.lambdas.results.store import read_run

    return read_run(
        run_id,
        table=orchestrator.target.results_table,
        dynamodb=orchestrator.aws.client("dynamodb"),
    )


def _iso(value: Any) -> str | None:
    return iso(value) if isinstance(value, datetime) else value


def cleanup_lines(record: RunRecord | None) -> list[tuple[str, str | None]]:
    """`cleanup: 2/3 actions succeeded`, then a line per action that did not (`failed:
    <why>`, `failed (allow_failure): <why>`, `skipped: <why>`), each with its status
    (None for the first), as every format shows them; none without cleanup actions."""
    cleanup = (record or {}).get("cleanup")
    if not cleanup or not cleanup["actions"]:
        return []
    actions = cleanup["actions"]
    done = sum(a["status"] == StepStatus.PASSED for a in actions)
    lines: list[tuple[str, str | None]] = [
        (f"cleanup: {done}/{len(actions)} actions succeeded", None)
    ]
    for a in actions:
        if a["status"] != StepStatus.PASSED:
            allowed = " (allow_failure)" if a.get("allow_failure") else ""
            line = f"  cleanup {a['name']} ({a['action']}) {a['status']}{allowed}: {a['error']}"
            lines.append((line, a["status"]))
    return lines
