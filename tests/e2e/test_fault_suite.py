"""The fault suite: each fault injected into a run of the local state machine; each
test asserts the verdict, the reason, and that every test resource is gone.

A slow target past the deadline; StopExecution in the middle; the state machine's
own timeout; the Action's worker killed mid-action; a cleanup that hangs; a
redelivered Action event; throttled orchestrator DynamoDB and S3 calls; a label
uploaded again while an execution runs. Timeouts are a few seconds throughout.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from itest.cli import scheduler
from itest.cli.scheduler import StartedRun
from itest.lambdas.results import records, store
from itest.lambdas.scenario.loading import load_scenario

pytestmark = pytest.mark.e2e

SEED = """
  - name: seed
    action: dynamodb.put_item
    with:
      table: "{{ vars.orders_table }}"
      item: {pk: "fault-{{ run_id }}"}
    cleanup:
      action: dynamodb.delete_item
      with: {table: "{{ vars.orders_table }}", key: {pk: "fault-{{ run_id }}"}}
"""


def scenario(name: str, steps: str, *, timeout: int = 60, extra: str = "") -> str:
    return f"name: {name}\ntimeout_seconds: {timeout}\nsteps:{SEED}{steps}{extra}"


def start(local: Any, text: str, *, label: str | None = None) -> StartedRun:
    aws, target, target_vars = local
    loaded = load_scenario(text, source="fault.yaml")
    ref = scheduler.upload(aws, target, loaded, label=label)
    return scheduler.start(aws, target, loaded, target_vars, ref=ref)


def execution_status(local: Any, started: StartedRun, *, timeout: float = 60) -> str:
    sfn = local[0].client("stepfunctions")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = sfn.describe_execution(executionArn=started.execution_arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.2)
    raise AssertionError(f"{started.run_id} still running after {timeout} s")


def settled(local: Any, started: StartedRun, *, timeout: float = 60) -> records.RunRecord:
    """The run record once its verdict is written (by whichever cleanup ran)."""
    aws, target, _ = local
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        record = store.read_run(
            started.run_id, table=target.results_table, dynamodb=aws.client("dynamodb")
        )
        if record and record["status"] != "running":
            return record
        time.sleep(0.2)
    raise AssertionError(f"{started.run_id} has no verdict after {timeout} s")


def seed_gone(local: Any, run_id: str) -> bool:
    aws, _, target_vars = local
    item = aws.client("dynamodb").get_item(
        TableName=target_vars["orders_table"], Key={"pk": {"S": f"fault-{run_id}"}}
    )
    return "Item" not in item


def cleaned(record: records.RunRecord) -> list[tuple[str, str]]:
    return [(a["name"], a["status"]) for a in (record["cleanup"] or {"actions": []})["actions"]]


def function_named(local: Any, handler: str) -> dict[str, Any]:
    lam = local[0].client("lambda")
    functions = [f for p in lam.get_paginator("list_functions").paginate() for f in p["Functions"]]
    return next(f for f in functions if f.get("Handler") == f"itest.lambdas.handlers.{handler}")


def until(check: Callable[[], bool], timeout: float = 60) -> float:
    """Seconds until ``check()`` holds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


# -- deadlines, stops, timeouts ---------------------------------------------------------


def test_a_slow_target_is_cut_off_at_the_scenario_deadline(local, black_hole):
    started = start(local, scenario("fault-deadline", f"""
  - name: call a slow api
    action: http
    with: {{url: "{black_hole}/orders", timeout: 60}}
""", timeout=4))

    assert execution_status(local, started, timeout=40) == "FAILED"
    record = settled(local, started)
    assert record["status"] == "failed"
    assert record["reason"].startswith("step 'call a slow api' failed: ")
    assert record["reason"].endswith("(scenario deadline)")
    assert cleaned(record) == [("seed", "passed")]
    assert seed_gone(local, started.run_id)


def test_stop_execution_in_the_middle_still_cleans_up(local):
    started = start(local, scenario("fault-stopped", """
  - name: a long pause
    action: wait
    with: {seconds: 40}
"""))
    sfn = local[0].client("stepfunctions")
    until(lambda: _step_status(local, started, 1) == "pending")  # then the Wait state

    stopped_at = time.monotonic()
    sfn.stop_execution(executionArn=started.execution_arn, cause="pressed Stop")
    gone_after = until(lambda: seed_gone(local, started.run_id))

    assert execution_status(local, started) == "ABORTED"
    record = settled(local, started)
    assert record["status"] == "error"
    assert record["reason"] == "States.Aborted: the execution was stopped (StopExecution)"
    assert cleaned(record) == [("seed", "passed")]
    assert time.monotonic() - stopped_at < 20
    _note("stop_to_data_gone_seconds", round(gone_after, 2))


def test_the_state_machines_own_timeout_still_cleans_up(local):
    with state_machine_timeout(local, seconds=4):
        started = start(local, scenario("fault-machine-timeout", """
  - name: a long pause
    action: wait
    with: {seconds: 40}
"""))
        assert execution_status(local, started, timeout=30) == "TIMED_OUT"
    record = settled(local, started)

    assert record["status"] == "error"
    assert record["reason"] == (
        "States.Timeout: the execution timed out (the state machine's timeout)"
    )
    assert cleaned(record) == [("seed", "passed")]
    assert seed_gone(local, started.run_id)


# -- crashes, hangs, redelivery ---------------------------------------------------------


def test_an_action_worker_killed_mid_action_still_runs_that_steps_cleanup(local, black_hole):
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    aws, _, target_vars = local
    table = target_vars["orders_table"]
    aws.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": marker}})
    started = start(local, scenario("fault-worker-killed", f"""
  - name: create an order
    action: http
    with: {{method: POST, url: "{black_hole}/orders", timeout: 60}}
    cleanup:
      action: dynamodb.delete_item
      with: {{table: "{{{{ vars.orders_table }}}}", key: {{pk: "{marker}"}}}}
"""))
    until(lambda: _step_status(local, started, 1) == "running")

    killed = _kill_workers("itest.lambdas.handlers.action")

    assert killed
    assert execution_status(local, started, timeout=40) == "FAILED"
    record = settled(local, started)
    assert record["status"] == "error"
    assert record["reason"].startswith("Runtime.ExitError: ")
    assert cleaned(record) == [("create an order", "passed"), ("seed", "passed")]
    assert seed_gone(local, started.run_id)
    marker_key = {"pk": {"S": marker}}
    assert "Item" not in aws.client("dynamodb").get_item(TableName=table, Key=marker_key)


def test_a_cleanup_that_hangs_uses_its_budget_and_the_others_run(local, black_hole):
    with function_environment(local, "cleanup", CLEANUP_ACTION_SECONDS="2"):
        started = start(local, scenario("fault-cleanup-hangs", "", extra=f"""
cleanup:
  - action: http
    with: {{url: "{black_hole}/purge", timeout: 60}}
"""))
        assert execution_status(local, started, timeout=60) == "FAILED"  # a red cleanup: red run
        record = settled(local, started)

    assert record["status"] == "failed"
    assert record["reason"].startswith("cleanup: 1 of 2 failed, first 'cleanup[0]': ")
    assert record["reason"].endswith("timed out after 2 s (cleanup budget)")
    assert cleaned(record) == [("seed", "passed"), ("cleanup[0]", "failed")]
    assert seed_gone(local, started.run_id)


def test_a_redelivered_action_event_does_not_run_the_action_twice(local, httpserver):
    posts: list[str] = []
    httpserver.expect_request("/orders", method="POST").respond_with_handler(
        lambda request: posts.append(request.headers["Idempotency-Key"]) or _created()
    )
    url = httpserver.url_for("/orders")
    with lambda_service_error_after(index=1) as deliveries:  # the same input comes again
        started = start(local, scenario("fault-redelivered", f"""
  - name: create an order
    action: http
    with:
      method: POST
      url: "{url}"
      headers: {{Idempotency-Key: "{{{{ attempt_id }}}}"}}
      json: {{}}
    expect:
      - {{path: status, equals: 201}}
"""))
        assert execution_status(local, started, timeout=60) == "SUCCEEDED"
    record = settled(local, started)

    assert record["status"] == "passed"
    assert posts == [f"{started.run_id}:1:1"]
    assert len(deliveries) >= 2
    assert seed_gone(local, started.run_id)


# -- throttling, labels -------------------------------------------------------------------


def test_throttled_orchestrator_storage_is_retried_and_the_run_passes(local):
    _, target, _ = local
    with throttled_storage(target, dynamodb=4, s3=4) as injected:
        started = start(local, scenario("fault-throttled", """
  - name: read it back
    action: dynamodb.get_item
    with: {table: "{{ vars.orders_table }}", key: {pk: "fault-{{ run_id }}"}}
    expect:
      - {path: item, exists: true}
"""))
        status = execution_status(local, started, timeout=90)
    record = settled(local, started)
    assert status == "SUCCEEDED", record["reason"]

    assert injected == {"dynamodb": 4, "s3": 4}
    assert record["status"] == "passed"
    assert "TransientError" in _task_errors(local, started)
    assert seed_gone(local, started.run_id)


def test_a_label_uploaded_again_changes_no_running_execution(local):
    first = scenario("fault-label", """
  - name: first version
    action: wait
    with: {seconds: 3}
""")
    second = first.replace("first version", "second version")
    started = start(local, first, label="release")
    until(lambda: _step_status(local, started, 1) == "pending")
    later = start(local, second, label="release")  # uploaded again while the first runs

    statuses = execution_status(local, started), execution_status(local, later)
    assert statuses == ("SUCCEEDED", "SUCCEEDED"), (
        settled(local, started)["reason"], settled(local, later)["reason"]
    )
    ran = [s["name"] for s in settled(local, started)["steps"]]
    ran_later = [s["name"] for s in settled(local, later)["steps"]]
    assert ran == ["seed", "first version"]
    assert ran_later == ["seed", "second version"]
    assert seed_gone(local, started.run_id) and seed_gone(local, later.run_id)


# -- how the faults are injected ------------------------------------------------------------


def _task_errors(local: Any, started: StartedRun) -> list[str]:
    sfn = local[0].client("stepfunctions")
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=started.execution_arn
    )
    return [
        e["taskFailedEventDetails"]["error"]
        for page in pages
        for e in page["events"]
        if e["type"] == "TaskFailed"
    ]


def _step_status(local: Any, started: StartedRun, index: int) -> str | None:
    aws, target, _ = local
    item = aws.client("dynamodb").get_item(
        TableName=target.results_table,
        Key={"pk": {"S": started.run_id}, "sk": {"S": store.step_sk(index)}},
        ConsistentRead=True,
    )
    return item.get("Item", {}).get("status", {}).get("S")


def _kill_workers(handler: str) -> list[int]:
    """SIGKILL this process's local Lambda workers running ``handler``."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent.split()[1]) != os.getpid():
            continue
        if f"_HANDLER={handler}".encode() in environ:
            os.kill(int(entry.name), signal.SIGKILL)
            killed.append(int(entry.name))
    return killed


def _created() -> Any:
    from werkzeug import Response

    return Response("{}", status=201, content_type="application/json")


@contextmanager
def state_machine_timeout(local: Any, *, seconds: int) -> Iterator[None]:
    aws, target, _ = local
    sfn = aws.client("stepfunctions")
    original = sfn.describe_state_machine(stateMachineArn=target.state_machine_arn)["definition"]
    short = {**json.loads(original), "TimeoutSeconds": seconds}
    sfn.update_state_machine(stateMachineArn=target.state_machine_arn, definition=json.dumps(short))
    try:
        yield
    finally:
        sfn.update_state_machine(stateMachineArn=target.state_machine_arn, definition=original)


@contextmanager
def function_environment(local: Any, handler: str, **variables: str) -> Iterator[None]:
    lam = local[0].client("lambda")
    fn = function_named(local, handler)
    original = fn.get("Environment", {}).get("Variables", {})
    lam.update_function_configuration(
        FunctionName=fn["FunctionName"], Environment={"Variables": {**original, **variables}}
    )
    try:
        yield
    finally:
        lam.update_function_configuration(
            FunctionName=fn["FunctionName"], Environment={"Variables": original}
        )


@contextmanager
def lambda_service_error_after(*, index: int) -> Iterator[list[str]]:
    """The Action's first invocation for step ``index`` runs, then Lambda answers
    ServiceException (as if the response was lost): Step Functions' Retry sends the
    same input again."""
    from moto.awslambda.models import LambdaFunction
    from moto.core.exceptions import JsonRESTError

    invoke = LambdaFunction.invoke
    deliveries: list[str] = []

    def invoke_(self: Any, body: str, request_headers: Any, response_headers: Any) -> Any:
        payload = invoke(self, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        if self.handler == "itest.lambdas.handlers.action" and event.get("index") == index:
            deliveries.append(body)
        if len(deliveries) == 1 and event.get("index") == index:
            error = JsonRESTError("ServiceException", "injected: the response was lost")
            error.code = 500
            raise error
        return payload

    LambdaFunction.invoke = invoke_
    try:
        yield deliveries
    finally:
        LambdaFunction.invoke = invoke


@contextmanager
def throttled_storage(target: Any, *, dynamodb: int, s3: int) -> Iterator[dict[str, int]]:
    """The next ``dynamodb`` writes to the results table and ``s3`` reads of the
    scenario bucket are throttled (more than boto3's own 3 attempts absorb)."""
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.responses import DynamoHandler
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    injected = {"dynamodb": 0, "s3": 0}
    lock = threading.Lock()
    # the handler, not the backend: the local AWS answers the engine's plain puts without
    # moto's backend (cli/local/dynamodb_direct.py)
    put_item, get_object = DynamoHandler.put_item, S3Backend.get_object

    def take(kind: str, limit: int) -> bool:
        with lock:
            if injected[kind] >= limit:
                return False
            injected[kind] += 1
            return True

    def put_item_(self: Any) -> Any:
        if self.body.get("TableName") == target.results_table and take("dynamodb", dynamodb):
            raise JsonRESTError(
                "ProvisionedThroughputExceededException", "injected: rate exceeded"
            )
        return put_item(self)

    def get_object_(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        if bucket_name == target.bucket and take("s3", s3):
            raise S3ClientError("SlowDown", "injected: please reduce your request rate")
        return get_object(self, bucket_name, *args, **kwargs)

    DynamoHandler.put_item, S3Backend.get_object = put_item_, get_object_
    try:
        yield injected
    finally:
        DynamoHandler.put_item, S3Backend.get_object = put_item, get_object


def _note(name: str, value: Any) -> None:
    """A number for the fault suite's note (bench/ collects them when it runs this)."""
    path = os.environ.get("ITEST_FAULT_NUMBERS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({name: value}) + "\n")
