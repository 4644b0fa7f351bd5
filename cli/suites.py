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
from typing import TYPE_CHECKING, Any

from itest.cli.errors import InfraError

if TYPE_CHECKING:
    from itest.cli.aws import ClientFactory
    from itest.cli.target import Target

SUITE_PREFIX = "suites/"
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
    key = f"{SUITE_PREFIX}{label or hashlib.sha256(body).hexdigest()}.json"
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
