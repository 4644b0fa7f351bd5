"""logs.match and logs.absent through the synthesized state machine on the local AWS,
over what the example's pricing function logs (a JSON line per invocation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SCENARIOS
from tests.e2e.test_scenarios import finish, start

pytestmark = pytest.mark.e2e

ABSENT_FAILS = """
name: logs-absent-fails
timeout_seconds: 60
steps:
  - name: price two items
    action: lambda.invoke
    with: {function: "{{ vars.pricing_function }}", payload: {qty: 2, order_id: "{{ run_id }}"}}
  - name: nothing priced for this run
    action: logs.absent
    with:
      log_group: "/aws/lambda/{{ vars.pricing_function }}"
      filter_pattern: '{ $.pricing.order_id = "{{ run_id }}" }'
      seconds: 1
"""


def test_logs_match_finds_the_runs_own_json_line_and_logs_absent_passes(local: Any) -> None:
    run = start(local, SCENARIOS / "logs-match.yaml")
    finish(local, [run])

    assert run.record is not None and run.record["status"] == "passed", run.record["reason"]
    found = run.record["steps"][1]["result"]
    # the local AWS ignores JSON patterns and returns every line of the group (START,
    # REPORT, other runs' lines): one event left means logs.match applied the pattern
    assert found["count"] == 1
    (event,) = found["events"]
    assert event["json"] == {"pricing": {"qty": 3, "order_id": run.run_id}}
    assert set(event) == {"message", "timestamp", "log_stream", "json"}
    absent = run.record["steps"][2]
    assert (absent["attempts"], absent["result"]) == (1, {"seconds": 2, "count": 0})


def test_logs_absent_fails_naming_the_event_that_was_logged(local: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "logs-absent-fails.yaml"
    scenario.write_text(ABSENT_FAILS)
    run = start(local, scenario)
    finish(local, [run])

    assert run.record is not None and run.record["status"] == "failed"
    assert "found what must not arrive" in run.record["reason"]
    offending = run.record["steps"][1]["result"]["offending"]
    assert offending["json"]["pricing"] == {"qty": 2, "order_id": run.run_id}
