"""logs.match and logs.absent through the handlers on in-process moto: the run's start
as the default `since`, JSON patterns applied by itest, limits, and bad input."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from itest.lambdas.aws import client
from itest.lambdas.results import store

from .machine import RUN_ID, Clock, execute, upload

pytestmark = pytest.mark.usefixtures("results_table")

GROUP = "/aws/lambda/orders"


@pytest.fixture
def logged(clock: Clock) -> None:
    """Lines before the run (an hour earlier) and during it, JSON and text; the run starts
    now (CloudWatch refuses events more than two hours ahead)."""
    clock.now = time.time()
    logs = client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s1")
    start = int(clock.now * 1000)
    lines = [
        (start - 3_600_000, {"order": "o-1", "level": "ERROR"}),
        (start + 1000, {"order": "o-1", "level": "INFO", "ms": 40}),
        (start + 2000, {"order": "o-1", "level": "ERROR", "ms": 900}),
        (start + 3000, "START RequestId: 1"),
    ]
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="s1",
        logEvents=[
            {"timestamp": t, "message": m if isinstance(m, str) else json.dumps(m)}
            for t, m in lines
        ],
    )


def match(pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "match",
        "action": "logs.match",
        "with": {"log_group": GROUP, "filter_pattern": pattern, **extra},
    }


@pytest.mark.usefixtures("logged")
@pytest.mark.parametrize(
    ("pattern", "extra", "orders"),
    [
        ('{ $.level = "ERROR" }', {}, [900]),  # since the run's start: not the hour-old one
        ('{ $.level = "ERROR" }', {"since": 0}, [None, 900]),
        ("{ $.ms > 10 && $.ms < 100 }", {}, [40]),
        ("{ $.ms NOT EXISTS }", {"since": "1970-01-01T00:00:00Z"}, [None]),
        ("", {}, [40, 900, "text"]),
        ("", {"limit": 1}, [40]),
    ],
)
def test_logs_match(bucket: str, clock: Clock, pattern: str, extra: dict, orders: list) -> None:
    ref = upload({"name": "logs", "steps": [match(pattern, **extra)]}, bucket)

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict
    found = store.read_run(RUN_ID)["steps"][0]["result"]
    assert found["count"] == len(found["events"])
    assert [e["json"].get("ms") if "json" in e else "text" for e in found["events"]] == orders
    assert all(e["log_stream"] == "s1" and e["timestamp"].endswith("Z") for e in found["events"])


@pytest.mark.usefixtures("logged")
@pytest.mark.parametrize(("pattern", "verdict"), [('{ $.level = "FATAL" }', "passed"),
                                                  ("{ $.ms >= 900 }", "failed")])  # fmt: skip
def test_logs_absent_waits_its_window_and_fails_on_a_matching_line(
    bucket: str, clock: Clock, pattern: str, verdict: str
) -> None:
    step = {
        "name": "absent",
        "action": "logs.absent",
        "with": {"log_group": GROUP, "filter_pattern": pattern, "seconds": 3},
    }
    ref = upload({"name": "logs", "steps": [step]}, bucket)

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == verdict, execution.verdict
    if verdict == "passed":
        assert [(i["outcome"], i["wait_seconds"]) for i in execution.iterations] == [
            ("retry", 3),
            ("passed", 1),
        ]
    else:  # found at the window's start: no need to wait
        assert [i["outcome"] for i in execution.iterations] == ["failed"]
        assert "found what must not arrive" in execution.verdict["reason"]
        assert "900" in execution.verdict["reason"]


def test_a_pattern_broken_by_its_template_fails_the_step_at_once(bucket: str, clock: Clock) -> None:
    client("logs").create_log_group(logGroupName=GROUP)
    step = {**match('{ $.order = "{{ vars.order }}" '), "retry": {"timeout_seconds": 10}}
    step["expect"] = [{"path": "count", "equals": 1}]
    ref = upload({"name": "logs", "vars": {"order": "o-1"}, "steps": [step]}, bucket)

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "failed"
    assert "invalid JSON filter pattern" in execution.verdict["reason"]
    assert len(execution.iterations) == 1  # not retried
