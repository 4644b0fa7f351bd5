"""Faults fail the step with the reason, and cleanup still runs: a target that is down,
a target Lambda that crashes, polling that runs out of time (through the state machine)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from itest.cli import commands
from itest.cli.connect import Orchestrator
from itest.cli.reports import Report
from itest.cli.scenarios import load

pytestmark = pytest.mark.e2e

CLEANUP = """
steps:
  - name: seed an order
    action: dynamodb.put_item
    with:
      table: "{{{{ vars.orders_table }}}}"
      item: {{pk: "fault-{{{{ run_id }}}}", qty: 1}}
    cleanup:
      action: dynamodb.delete_item
      with: {{table: "{{{{ vars.orders_table }}}}", key: {{pk: "fault-{{{{ run_id }}}}"}}}}
{step}
"""


def run(local: Any, tmp_path: Path, name: str, step: str) -> Report:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ntimeout_seconds: 60\n" + CLEANUP.format(step=step))
    aws, target, target_vars = local
    orchestrator = Orchestrator(aws, target, "private", aws.endpoint_url)
    outcome = commands.run_on(orchestrator, load((path,)), target_vars, wait=True, timeout=90)
    (report,) = outcome.reports
    return report


def assert_cleaned_up(local: Any, report: Report) -> None:
    aws, _, target_vars = local
    (action,) = report.record["cleanup"]["actions"]
    assert (action["action"], action["status"]) == ("dynamodb.delete_item", "passed")
    item = aws.client("dynamodb").get_item(
        TableName=target_vars["orders_table"], Key={"pk": {"S": f"fault-{report.run_id}"}}
    )
    assert "Item" not in item


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe closes


def test_a_target_that_is_down_fails_the_step_and_cleanup_runs(local, tmp_path):
    report = run(local, tmp_path, "fault-target-down", f"""
  - name: call the api
    action: http
    with: {{url: "http://127.0.0.1:{closed_port()}/orders", timeout: 2}}
    expect:
      - {{path: status, equals: 200}}
""")
    assert report.status == "failed"
    seeded, called = report.record["steps"]
    assert (seeded["status"], called["status"]) == ("passed", "failed")
    assert "onnection refused" in called["error"]
    assert "call the api" in report.reason
    assert_cleaned_up(local, report)


def test_a_crashing_target_lambda_fails_the_step_with_its_error(local, tmp_path):
    report = run(local, tmp_path, "fault-lambda-crash", """
  - name: price nothing
    action: lambda.invoke
    with: {function: "{{ vars.pricing_function }}", payload: {qty: 0}}
    expect:
      - {path: function_error, equals: null}
""")
    assert report.status == "failed"
    (mismatch,) = report.record["steps"][1]["mismatches"]
    assert (mismatch["path"], mismatch["expected"], mismatch["actual"]) == (
        "function_error", None, "Unhandled"
    )
    assert_cleaned_up(local, report)


def test_polling_that_runs_out_of_time_fails_with_the_last_mismatch(local, tmp_path):
    report = run(local, tmp_path, "fault-never-consistent", """
  - name: wait for an order that never comes
    action: dynamodb.get_item
    with: {table: "{{ vars.orders_table }}", key: {pk: "never-{{ run_id }}"}}
    expect:
      - {path: item, exists: true}
    retry: {timeout_seconds: 5, interval_seconds: 1, backoff: 1}
""")  # a third attempt comes while an attempt and its Wait take under 2.5 s, loaded or not
    assert report.status == "failed"
    polled = report.record["steps"][1]
    assert polled["status"] == "failed"
    assert polled["attempts"] >= 3
    (mismatch,) = polled["mismatches"]
    assert mismatch["path"] == "item"
    assert_cleaned_up(local, report)
