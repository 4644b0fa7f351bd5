"""status, logs and list in-process (CliRunner) against the session's local AWS, seen
by the commands as a background one: a run is followed while it runs, then read back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli import commands
from itest.cli.connect import Orchestrator
from itest.cli.main import cli
from itest.cli.scenarios import load

from tests.e2e.conftest import SCENARIOS

pytestmark = pytest.mark.e2e

POLLING = """\
name: orders-processed
description: polls until the order is processed (about 2 s), so it can be watched running
tags: [slow]
timeout_seconds: 60
vars:
  order_id: "itest-{{ run_id }}"
steps:
  - name: create order
    action: http
    with:
      method: POST
      url: "{{ vars.api_url }}/orders"
      json: {id: "{{ vars.order_id }}", qty: 1}
    expect: [{path: status, equals: 201}]
  - name: order processed
    action: dynamodb.get_item
    with: {table: "{{ vars.orders_table }}", key: {pk: "{{ vars.order_id }}"}}
    expect: [{path: item.status, equals: PROCESSED}]
    retry: {timeout_seconds: 30, interval_seconds: 1}
"""


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_status_and_logs_follow_a_running_execution(local, as_background, tmp_path: Path):
    aws, target, target_vars = local
    (tmp_path / "polling.yaml").write_text(POLLING)
    orchestrator = Orchestrator(aws, target, "local", aws.endpoint_url)
    outcome = commands.run_on(orchestrator, load((tmp_path,)), target_vars, wait=False)
    (started,) = outcome.reports
    arn = started.execution_arn
    assert started.follow == f"itest status --local {started.run_id}"

    running = invoke("status", arn, "--format", "json")  # the ARN's account finds the local AWS
    assert running.exit_code == 0, running.output
    (run,) = json.loads(running.output)["runs"]
    assert run["status"] == "running"
    assert run["current"]

    followed = invoke("logs", "--local", arn, "--follow")
    assert followed.exit_code == 0, followed.output
    lines = followed.output.splitlines()
    times = [line.split()[0] for line in lines]
    assert times == sorted(times)
    sources = {line.split()[1] for line in lines}
    assert {"states", "prepare", "action", "cleanup"} <= sources
    assert any(re.search(r" action +order processed +step .*outcome=retry", x) for x in lines)
    assert any("Backoff: waiting" in x and "order processed" in x for x in lines)
    assert "execution succeeded" in lines[-1] or any("execution succeeded" in x for x in lines)

    done = invoke("status", "--local", arn)
    assert done.exit_code == 0, done.output
    assert "orders-processed  PASSED" in done.output
    assert "order processed" in done.output

    as_json = invoke("logs", "--local", arn, "--format", "json", "--since", "1h")
    entries = [json.loads(x) for x in as_json.output.splitlines()]
    assert any(e["source"] == "action" and e["step"] == "order processed" for e in entries)
    assert all(e["fields"].get("run_id", started.run_id) == started.run_id for e in entries)


def test_status_of_a_failed_run_names_expected_and_actual(local, as_background):
    aws, target, target_vars = local
    orchestrator = Orchestrator(aws, target, "local", aws.endpoint_url)
    failing = load((SCENARIOS / "orders-wrong-quantity-fails-on-purpose.yaml",))
    (report,) = commands.run_on(orchestrator, failing, target_vars, wait=True).reports
    result = invoke("status", "--local", report.execution_arn)
    assert result.exit_code == 1
    assert "FAILED" in result.output and "item.qty: expected 3, got 2" in result.output
    assert f"more: itest logs --local {report.run_id}" in result.output
    assert result.output.rstrip().endswith(f"status: itest status --local {report.run_id}")
    by_run_id = invoke("status", "--local", report.run_id)
    assert by_run_id.exit_code == 1 and by_run_id.output == result.output
    junit = invoke("status", "--local", report.execution_arn, "--format", "junit")
    assert 'failures="1"' in junit.output and "expected: 3" in junit.output


def test_list_shows_scenarios_and_recent_executions(local, as_background):
    aws, target, target_vars = local
    orchestrator = Orchestrator(aws, target, "local", aws.endpoint_url)
    happy = load((SCENARIOS / "orders-happy-path.yaml",))
    (report,) = commands.run_on(orchestrator, happy, target_vars, wait=True).reports
    result = invoke("list", "--local", str(SCENARIOS), "--format", "json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    names = {s["name"]: s for s in listed["scenarios"]}
    assert names["orders-happy-path"]["tags"] == ["smoke", "orders"]
    assert names["orders-happy-path"]["steps"] == 2
    mine = [e for e in listed["executions"] if e["run_id"] == report.run_id]
    assert mine and mine[0]["status"] == "passed" and mine[0]["scenario"] == "orders-happy-path"
    table = invoke("list", "--local", str(SCENARIOS), "--tag", "smoke", "--no-executions")
    assert "orders-happy-path" in table.output and "fails-on-purpose" not in table.output
