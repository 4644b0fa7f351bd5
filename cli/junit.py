"""JUnit XML for CI (CodeBuild reports, Jenkins, GitLab): a testsuite per scenario,
a testcase per step.

Written with xml.etree: junitparser, the maintained library, adds a `skipped`
attribute to `<testsuites>` that the Jenkins/Ant schema (junit-10.xsd) these
tools read does not allow, and writes times with more decimals than it accepts.
The output validates against that schema (tests/schemas/junit-10.xsd).

A failed step is a `<failure>` (its message is the first mismatch, the body
lists every mismatch with path, expected and actual, or the action's error);
steps after it are `<skipped>`, and so is a step whose `skip_if` held (its reason
is the message). Final assertions are one more testcase when
the scenario declares any. A run that ended in error without a failing step
(timeout, a crashed handler, not started) gets an `execution` testcase with
an `<error>`, so that no red run ever shows up green.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from itest.cli.reports import Outcome, Report, ReportStatus, cleanup_lines
from itest.lambdas.statuses import StepStatus

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(outcome: Outcome) -> str:
    root = ET.Element("testsuites", name="itest")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for report in outcome.reports:
        suite = _suite(report)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        total_time += float(suite.get("time", "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(total_time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(report: Report) -> ET.Element:
    suite = ET.Element("testsuite", name=report.scenario)
    properties = ET.SubElement(suite, "properties")
    for name in ("run_id", "execution_arn", "status", "console_url", "file"):
        value = getattr(report, name)
        if value:
            ET.SubElement(properties, "property", name=name, value=_text(value))
    cases = [_step_case(report, step) for step in _steps(report)]
    assertions = _assertions_case(report)
    if assertions is not None:  # (an Element without children is falsy)
        cases.append(assertions)
    if report.status not in (ReportStatus.PASSED, ReportStatus.FAILED) and not any(
        c.find("failure") is not None or c.find("error") is not None for c in cases
    ):
        case = _case(report, "execution", None)
        ET.SubElement(case, "error", message=_text(report.reason or report.status),
                      type=report.status)
        cases.append(case)
    suite.extend(cases)
    counts = {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": sum(c.find("error") is not None for c in cases),
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }
    for key, value in counts.items():
        suite.set(key, str(value))
    seconds = (report.duration_ms or 0) / 1000
    suite.set("time", _seconds(seconds))
    if report.started_at:
        suite.set("timestamp", _timestamp(report.started_at))
    if report.file:
        suite.set("file", report.file)
    out = ET.SubElement(suite, "system-out")
    out.text = _text(_summary(report))
    return suite


def _steps(report: Report) -> list[dict[str, Any]]:
    if report.record:
        return report.steps
    names = report.planned_steps
    skipped = StepStatus.SKIPPED
    return [{"index": i, "name": name, "status": skipped} for i, name in enumerate(names)]


def _step_case(report: Report, step: dict[str, Any]) -> ET.Element:
    case = _case(report, step["name"], step.get("duration_ms"))
    status = step["status"]
    if status == StepStatus.FAILED:
        _failure(case, step, "mismatch" if step.get("mismatches") else "error")
    elif status == StepStatus.SKIPPED:
        message = step.get("reason") or _skip_reason(report)  # its skip_if, or not reached
        ET.SubElement(case, "skipped", message=_text(message))
    elif status != StepStatus.PASSED:  # pending: the run stopped (or the wait did) mid-step
        ET.SubElement(
            case, "error", type=report.status,
            message=_text(f"step did not finish ({status}): {report.reason or report.status}"),
        )
    return case


def _assertions_case(report: Report) -> ET.Element | None:
    record = (report.record or {}).get("assertions")
    declared = report.assertions_declared
    if not declared and not (record and record["status"] != StepStatus.PASSED):
        return None
    case = _case(report, "assertions", None)
    if record is None:
        ET.SubElement(case, "skipped", message=_skip_reason(report))
    elif record["status"] != StepStatus.PASSED:
        _failure(case, record, "assertion")
    return case


def _case(report: Report, name: str, duration_ms: int | None) -> ET.Element:
    case = ET.Element("testcase", name=_text(name), classname=_text(report.scenario))
    case.set("time", _seconds((duration_ms or 0) / 1000))
    return case


def _failure(case: ET.Element, record: dict[str, Any], kind: str) -> None:
    """A `<failure>` whose message is the first mismatch (else the error) and whose body
    lists them all."""
    mismatches = record.get("mismatches") or []
    message = mismatches[0]["message"] if mismatches else record.get("error") or "failed"
    failure = ET.SubElement(case, "failure", message=_text(message), type=kind)
    failure.text = _text(_failure_body(record))


def _failure_body(record: dict[str, Any]) -> str:
    lines = []
    for mismatch in record.get("mismatches") or []:
        lines += [
            mismatch["message"],
            f"  path:     {mismatch.get('path')}",
            f"  matcher:  {mismatch.get('matcher')}",
            f"  expected: {_json(mismatch.get('expected'))}",
            f"  actual:   {_json(mismatch.get('actual'))}",
        ]
    if record.get("error"):
        lines.append(f"error: {record['error']}")
    if record.get("attempts"):
        lines.append(f"attempts: {record['attempts']}")
    return "\n".join(lines)


def _skip_reason(report: Report) -> str:
    if report.status == ReportStatus.NOT_STARTED:
        return "not started"
    return "not run: the scenario stopped before this step"


def _summary(report: Report) -> str:
    lines = [f"{report.scenario}: {report.status}"]
    if report.reason:
        lines.append(f"reason: {report.reason}")
    lines += [line for line, _ in cleanup_lines(report.record)]
    if report.console_url:
        lines.append(f"console: {report.console_url}")
    if report.follow and report.follow != report.status_command:
        lines.append(f"more: {report.follow}")
    if report.status_command:
        lines.append(f"status: {report.status_command}")
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{max(value, 0):.3f}"


def _timestamp(iso: str) -> str:
    """JUnit's timestamp: ISO 8601 without a zone (UTC here)."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _text(value: Any) -> str:
    """Characters XML 1.0 cannot carry (escape codes from a tool's output) become '?'."""
    return _NOT_XML.sub("?", str(value))
