"""Reports: JUnit XML valid against the schema CI tools read, the JSON shape, tables."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from itest.cli import render
from itest.cli.reports import Outcome, Report

XSD = Path(__file__).resolve().parents[1] / "schemas" / "junit-10.xsd"
ARN = "arn:aws:states:eu-west-1:111122223333:execution:itest:{}-20261121T232100-ab12cd"


def step(index: int, name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "index": index, "name": name, "action": "http", "status": status, "attempts": 1,
        "started_at": "2026-11-21T23:21:00.000Z", "ended_at": "2026-11-21T23:21:00.067Z",
        "duration_ms": 67, "captures": {}, "result": None, "mismatches": [], "error": None,
        **extra,
    }


def record(steps: list[dict[str, Any]], status: str, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": "r", "scenario": "s", "status": status, "reason": None,
        "started_at": "2026-11-21T23:21:00.000Z", "ended_at": "2026-11-21T23:21:02.500Z",
        "execution_arn": None, "vars": {}, "steps": steps, "assertions": None, "cleanup": None,
        **extra,
    }


MISMATCH = {"path": "item.qty", "matcher": "equals", "expected": 3, "actual": 2,
            "message": "item.qty: expected 3, got 2"}


def report(name: str, status: str, rec: dict[str, Any] | None, **extra: Any) -> Report:
    run_id = f"{name}-20261121T232100-ab12cd"
    return Report(name, status, run_id=run_id, execution_arn=ARN.format(name), record=rec,
                  file=f"scenarios/{name}.yaml", **extra)


def outcome() -> Outcome:
    started = datetime(2026, 11, 21, 23, 21, tzinfo=UTC)
    return Outcome([
        report("passes", "passed", record([step(0, "create", "passed"),
                                           step(1, "stored", "passed")], "passed",
                                          assertions={"status": "passed", "mismatches": [],
                                                      "error": None}),
               execution={"status": "SUCCEEDED", "startDate": started,
                          "stopDate": started.replace(second=2)}, assertions_declared=1),
        report("fails", "failed", record(
            [step(0, "create", "passed"),
             step(1, "stored", "failed", mismatches=[MISMATCH]),
             step(2, "processed", "skipped", attempts=0, duration_ms=None)],
            "failed",
            cleanup={"status": "failed", "actions": [
                {"name": "stored", "action": "dynamodb.delete_item", "status": "failed",
                 "error": "AccessDenied \x1b[31m"}]},
        ), reason="step 'stored' failed: item.qty: expected 3, got 2",
            assertions_declared=1, follow=f"itest logs {ARN.format('fails')}"),
        report("action-error", "failed", record(
            [step(0, "call", "failed", error="ConnectionError: refused")], "failed")),
        report("crashed", "error", record([step(0, "call", "skipped")], "error"),
               reason="execution FAILED: Lambda.Unknown: boom"),
        report("slow", "timeout", record([step(0, "poll", "pending", attempts=7)], "running"),
               reason="still running when the wait ended"),
        Report("queued", "not_started", file="scenarios/queued.yaml",
               reason="not started: the wait timed out before its turn",
               planned_steps=["one", "two"]),
    ])


def test_junit_validates_against_the_jenkins_schema():
    text = render.render(outcome(), "junit")
    xmlschema.XMLSchema(str(XSD)).validate(text)


def test_junit_has_a_suite_per_scenario_a_case_per_step_and_right_counts():
    root = ET.fromstring(render.render(outcome(), "junit"))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["passes", "fails", "action-error", "crashed", "slow", "queued"]
    counts = {n: tuple(int(s.get(k)) for k in ("tests", "failures", "errors", "skipped"))
              for n, s in suites.items()}
    assert counts == {
        "passes": (3, 0, 0, 0),  # 2 steps and the assertions
        "fails": (4, 1, 0, 2),  # 3 steps + the declared assertions (not reached: skipped)
        "action-error": (1, 1, 0, 0),
        "crashed": (2, 0, 1, 1),  # the skipped step + an `execution` error case
        "slow": (1, 0, 1, 0),
        "queued": (3, 0, 1, 2),
    }
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("14", "2", "3")
    assert [c.get("name") for c in suites["fails"].findall("testcase")] == [
        "create", "stored", "processed", "assertions"]
    assert suites["passes"].get("time") == "2.000"
    assert suites["passes"].get("timestamp") == "2026-11-21T23:21:00"


def test_junit_failure_says_path_expected_and_actual():
    root = ET.fromstring(render.render(outcome(), "junit"))
    failure = root.find("testsuite[@name='fails']/testcase[@name='stored']/failure")
    assert failure.get("message") == "item.qty: expected 3, got 2"
    assert "path:     item.qty" in failure.text
    assert "expected: 3" in failure.text and "actual:   2" in failure.text
    error = root.find("testsuite[@name='action-error']/testcase/failure")
    assert error.get("message") == "ConnectionError: refused"
    crashed = root.find("testsuite[@name='crashed']/testcase[@name='execution']/error")
    assert crashed.get("message") == "execution FAILED: Lambda.Unknown: boom"
    out = root.find("testsuite[@name='fails']/system-out").text
    assert "cleanup: 0/1 actions succeeded" in out and "\x1b" not in out


def test_json_shape_is_the_documented_one():
    document = json.loads(render.render(outcome(), "json"))
    assert document["version"] == 1
    assert document["status"] == "error"
    assert document["exit_code"] == 3
    assert document["counts"] == {"total": 6, "passed": 1, "failed": 2, "error": 1,
                                  "timeout": 1, "not_started": 1}
    run = document["runs"][1]
    assert set(run) == {
        "scenario", "file", "run_id", "execution_arn", "console_url", "status",
        "execution_status", "reason", "current", "status_command", "started_at", "ended_at",
        "duration_ms",
        "steps", "assertions", "cleanup",
    }
    assert run["steps"][1]["mismatches"][0] == MISMATCH
    assert document["runs"][0]["duration_ms"] == 2000


@pytest.mark.parametrize(
    ("statuses", "code"),
    [(["passed"], 0), (["passed", "failed"], 1), (["failed", "error"], 3), (["timeout"], 3),
     (["started"], 0), (["running"], 0), ([], 0)],
)
def test_exit_code_follows_the_worst_report(statuses, code):
    assert Outcome([Report("s", s) for s in statuses]).exit_code == code


def test_tables_are_plain_when_not_a_terminal_or_no_color(monkeypatch):
    buffer = io.StringIO()
    render.print_outcome(render.console(buffer), outcome())
    text = buffer.getvalue()
    assert "\x1b[" not in text
    assert "item.qty: expected 3, got 2" in text
    assert "6 scenarios: 1 passed, 2 failed, 1 error, 1 timeout, 1 not started" in text
    assert f"more: itest logs {ARN.format('fails')}\n" in text  # whole, to be copied

    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = io.StringIO()
    render.print_outcome(render.console(coloured), outcome())
    assert "\x1b[" in coloured.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = io.StringIO()
    render.print_outcome(render.console(plain), outcome())
    assert "\x1b[3" not in plain.getvalue()  # no colour (bold may stay)


def test_every_run_report_ends_with_the_exact_status_command():
    passed = report("passes", "passed", record([step(0, "create", "passed")], "passed"),
                    status_command="itest status --local passes-20261121T232100-ab12cd")
    private = report("private", "passed", record([step(0, "create", "passed")], "passed"))
    buffer = io.StringIO()
    render.print_outcome(render.console(buffer), Outcome([passed, private]))
    blocks = buffer.getvalue().split("\n\n")
    assert blocks[0].splitlines()[-1] == (
        "status: itest status --local passes-20261121T232100-ab12cd"
    )
    assert blocks[1].splitlines()[-1].startswith(
        "status: not kept (this run's private local AWS stopped with the command;"
    )
    as_json = json.loads(render.render(Outcome([passed]), "json"))
    assert as_json["runs"][0]["status_command"] == passed.status_command


def test_list_shows_run_ids_whole_on_one_line_even_when_narrow(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    run_id = "orders-processed-eventually-with-a-long-name-20261122T004027-35f2f1"
    executions = [{"scenario": "orders", "status": "passed", "run_id": run_id,
                   "execution_arn": ARN.format("orders"), "started_at": "2026-11-22T00:40:27Z",
                   "duration_ms": 2020}]
    buffer = io.StringIO()
    render.print_listing(render.console(buffer), [], executions)
    text = buffer.getvalue()
    assert any(run_id in line for line in text.splitlines()), text
    assert "arn:aws" not in text


def test_a_step_skipped_by_its_skip_if_shows_the_reason_in_every_format():
    why = "skip_if holds: vars.env is 'local' (not_equals 'prod')"
    skipped = step(1, "charge", "skipped", attempts=0, duration_ms=0, reason=why)
    passed = Outcome([report("skips", "passed", record([step(0, "create", "passed"), skipped],
                                                       "passed"))])  # fmt: skip

    root = ET.fromstring(render.render(passed, "junit"))
    case = root.find("testsuite[@name='skips']/testcase[@name='charge']/skipped")
    assert case is not None and case.get("message") == why
    assert root.find("testsuite[@name='skips']").get("skipped") == "1"
    assert json.loads(render.render(passed, "json"))["runs"][0]["steps"][1]["reason"] == why
    table = render.render(passed, "table")
    assert "skipped" in table and "skip_if holds: vars.env is 'local'" in table


@pytest.mark.parametrize("forced_colour", [False, True])
def test_user_text_prints_as_written_not_as_markup_or_emoji(monkeypatch, forced_colour):
    """Scenario and step names and reasons are the user's: `[x]` and `:fire:` in them
    are text, on a terminal (colours) as in a CI log."""
    monkeypatch.setenv("COLUMNS", "200")  # one line per cell
    if forced_colour:
        monkeypatch.setenv("FORCE_COLOR", "1")
    name = "check [bold] items[0] :fire:"
    run = report("marked", "failed", record([step(0, name, "failed")], "failed"),
                 reason=f"step '{name}' failed")  # fmt: skip
    buffer = io.StringIO()

    render.print_outcome(render.console(buffer), Outcome([run]))

    text = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())
    assert text.count(name) == 2, text  # in the step table and in the reason
