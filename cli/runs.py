"""Starting scenario executions, waiting for them, and reading their results."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cli.aws import ClientFactory
from cli.errors import InfraError
from cli.target import Target

if TYPE_CHECKING:
    from lambdas.model import Scenario

EXECUTION_NAME_MAX = 80
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True)
class StartedRun:
    """One execution: its run id is its name."""

    scenario: str
    run_id: str
    execution_arn: str


def new_run_id(scenario_name: str, now: datetime | None = None) -> str:
    """`<scenario>-<UTC time>-<6 hex>`: sortable, readable, unique, a valid execution name."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    suffix = f"-{stamp}-{secrets.token_hex(3)}"
    return scenario_name[: EXECUTION_NAME_MAX - len(suffix)] + suffix


def upload(aws: ClientFactory, target: Target, scenario: Scenario) -> dict[str, str]:
    """Put the normalized scenario in the bucket, addressed by its content."""
    body = scenario.to_json().encode()
    key = f"scenarios/{scenario.name}/{hashlib.sha256(body).hexdigest()}.json"
    aws.client("s3").put_object(
        Bucket=target.bucket, Key=key, Body=body, ContentType="application/json"
    )
    return {"bucket": target.bucket, "key": key}


def start(
    aws: ClientFactory, target: Target, scenario: Scenario, overrides: dict[str, str]
) -> StartedRun:
    """Upload the scenario and start its execution, named by a fresh run id."""
    ref = upload(aws, target, scenario)
    run_id = new_run_id(scenario.name)
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=target.state_machine_arn,
        name=run_id,
        input=json.dumps({"scenario": ref, "vars": overrides}),
    )
    return StartedRun(scenario.name, run_id, started["executionArn"])


def wait(
    aws: ClientFactory,
    runs: Iterable[StartedRun],
    *,
    timeout_seconds: float,
    on_change: Callable[[StartedRun, str], None] = lambda run, status: None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Poll until every execution ends; returns run id -> execution status.

    Polling backs off from 0.5 s to 5 s so that many runs stay well under
    DescribeExecution's refill rate.

    Raises:
        InfraError: the timeout passed with executions still running (they are
            left running; `itest status` follows them).
    """
    sfn = aws.client("stepfunctions")
    pending = {run.run_id: run for run in runs}
    statuses: dict[str, str] = {}
    deadline = time.monotonic() + timeout_seconds
    interval = 0.5
    while pending:
        for run_id, run in list(pending.items()):
            status = sfn.describe_execution(executionArn=run.execution_arn)["status"]
            if status != statuses.get(run_id):
                statuses[run_id] = status
                on_change(run, status)
            if status in TERMINAL:
                del pending[run_id]
        if not pending:
            break
        if time.monotonic() >= deadline:
            names = ", ".join(run.execution_arn for run in pending.values())
            raise InfraError(f"timed out after {timeout_seconds:.0f}s waiting for: {names}")
        sleep(interval)
        interval = min(interval * 1.5, 5.0)
    return statuses


def execution_error(aws: ClientFactory, run: StartedRun) -> dict[str, Any]:
    """The execution's status with the error and cause Step Functions reported."""
    described = aws.client("stepfunctions").describe_execution(executionArn=run.execution_arn)
    return {k: described[k] for k in ("status", "error", "cause") if k in described}
