"""Reports as rich tables (for people), JSON (for programs) or JUnit XML (for CI).

Tables go through rich, which drops colour for NO_COLOR and for output that
is not a terminal; there the width is fixed (120, or $COLUMNS) so that CI
logs do not wrap at 80 columns.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any, TextIO

from itest.cli.reports import ReportStatus, cleanup_lines
from itest.lambdas.statuses import StepStatus

if TYPE_CHECKING:
    from itest.cli.reports import Outcome, Report
    from rich.console import Console, RenderableType

JSON_VERSION = 1
GONE = (
    "not kept (this run's private local AWS stopped with the command; "
    "`itest local up` keeps one, and its runs, between commands)"
)
# escape codes in text from the run are not for a terminal
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
STATUS_STYLE = {
    ReportStatus.PASSED: "green",
    ReportStatus.FAILED: "red",
    ReportStatus.ERROR: "red",
    ReportStatus.TIMEOUT: "red",
    ReportStatus.NOT_STARTED: "red",
    StepStatus.PENDING: "yellow",
    ReportStatus.RUNNING: "yellow",
    ReportStatus.STARTED: "cyan",
    StepStatus.SKIPPED: "dim",
}


def console(file: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A rich console that is plain (no colour, fixed width) unless it is a terminal.

    Text is printed as it is: scenario and step names, reasons and run ids are the
    user's, so `[x]` or `:fire:` in them is neither rich markup nor an emoji code."""
    from rich.console import Console

    probe = Console(file=file, stderr=stderr)
    literal = {"highlight": False, "markup": False, "emoji": False}
    if probe.is_terminal:
        return Console(file=file, stderr=stderr, **literal)
    width = int(os.environ.get("COLUMNS") or 120)
    return Console(file=file, stderr=stderr, width=width, no_color=True, **literal)


def render(outcome: Outcome, fmt: str) -> str:
    """The outcome as text in `fmt` (table text has no colour)."""
    if fmt == "json":
        return as_json(outcome)
    if fmt == "junit":
        from itest.cli import junit

        return junit.render(outcome)
    from io import StringIO

    buffer = StringIO()
    print_outcome(console(buffer), outcome)
    return buffer.getvalue()


def overall(outcome: Outcome) -> str:
    """The worst status: error, failed, running, started, passed."""
    statuses = {r.status for r in outcome.reports}
    if statuses & {ReportStatus.ERROR, ReportStatus.TIMEOUT, ReportStatus.NOT_STARTED}:
        return ReportStatus.ERROR
    for status in (ReportStatus.FAILED, ReportStatus.RUNNING, ReportStatus.STARTED):
        if status in statuses:
            return status
    return ReportStatus.PASSED


def as_json(outcome: Outcome) -> str:
    """The documented JSON shape (docs/cli.md)."""
    document = {
        "version": JSON_VERSION,
        "status": overall(outcome),
        "exit_code": outcome.exit_code,
        "counts": outcome.counts,
        "runs": [report.as_json() for report in outcome.reports],
    }
    return json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n"


def print_outcome(out: Console, outcome: Outcome) -> None:
    for report in outcome.reports:
        print_parts(out, [*report_parts(report), ""])
    if len(outcome.reports) > 1:
        counts = outcome.counts
        parts = [f"{counts[s]} {s.replace('_', ' ')}" for s in STATUS_STYLE if counts.get(s)]
        print_parts(out, [f"{counts['total']} scenarios: " + ", ".join(parts)])


def report_parts(report: Report) -> list[RenderableType]:
    """The lines and the step table of one report, as the table format prints them."""
    return (_started if report.status == ReportStatus.STARTED else _report)(report)


def print_parts(out: Console, parts: list[RenderableType]) -> None:
    """Each part on its own line(s), never wrapped: an ARN or a command stays whole, to
    be copied. A step table is laid out by plain_layout where it can (the same
    characters in the same styles for a fraction of rich's CPU), and on unstyled output
    every line is written as plain_layout gives it; the rest goes through rich."""
    from itest.cli.plain_layout import laid_out, plain, styled
    from rich.table import Table

    unstyled = not styled(out)
    for part in parts:
        text = plain(out, part) if unstyled else None
        if text is not None:
            out.file.write(text)
            continue
        table = laid_out(out, part) if not unstyled and isinstance(part, Table) else None
        out.print(part if table is None else table, soft_wrap=True)


def _started(report: Report) -> list[RenderableType]:
    from rich.text import Text

    lines: list[RenderableType] = [
        Text.assemble("started ", (report.scenario, "bold"), f"  {report.run_id}"),
        f"  {report.execution_arn}",
    ]
    if report.console_url:
        lines.append(f"  {report.console_url}")
    if report.follow:
        lines.append(f"  follow: {report.follow}")
    return lines


def _report(report: Report) -> list[RenderableType]:
    from rich.table import Table
    from rich.text import Text

    duration = _duration(report.duration_ms)
    title = Text.assemble(
        (report.scenario, "bold"),
        "  ",
        (report.status.upper().replace("_", " "), STATUS_STYLE.get(report.status, "")),
        f"  {report.run_id or ''}",
        f"  {duration}" if duration else "",
    )
    parts: list[RenderableType] = [title]
    if report.current:
        parts.append(Text(f"now: {report.current}", style="yellow"))
    if report.steps:
        table = Table(expand=False)
        for column in ("#", "step", "action", "status", "attempts", "duration", "reason"):
            table.add_column(column, overflow="fold")
        for step in report.steps:
            table.add_row(
                str(step["index"] + 1),
                step["name"],
                step.get("action") or "",
                Text(step["status"], style=STATUS_STYLE.get(step["status"], "")),
                str(step.get("attempts") or ""),
                _duration(step.get("duration_ms")),
                _reason(step),
            )
        parts.append(table)
    record = report.record or {}
    assertions = record.get("assertions")
    if assertions and assertions["status"] != StepStatus.PASSED:
        parts.append(Text("assertions: " + _reason(assertions), style="red"))
    for line, status in cleanup_lines(report.record):
        style = "" if status is None else "dim" if status == StepStatus.SKIPPED else "red"
        parts.append(Text(clean(line), style=style))
    if report.status != ReportStatus.PASSED and report.reason:
        style = STATUS_STYLE.get(report.status, "")
        parts.append(Text(clean(f"reason: {report.reason}"), style=style))
    if report.status != ReportStatus.PASSED:
        if report.console_url:
            parts.append(f"console: {report.console_url}")
        if report.follow and report.follow != report.status_command:
            parts.append(f"more: {report.follow}")
    if report.run_id:
        parts.append(f"status: {report.status_command or GONE}")
    return parts


def print_listing(
    out: Console, scenarios: list[dict[str, Any]], executions: list[dict[str, Any]] | None
) -> None:
    """`itest list`: local scenarios, then recent executions (None: not asked for)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="scenarios", title_justify="left")
    for column in ("name", "tags", "steps", "file"):
        table.add_column(column, overflow="fold")
    for item in scenarios:
        table.add_row(item["name"], ", ".join(item["tags"]), str(item["steps"]), item["file"])
    out.print(table if scenarios else "no scenario files found")
    if executions is None:
        return
    if not executions:
        out.print("no executions yet")
        return
    # plain aligned lines, not a table: a run id (what `itest status` and `logs` take) is
    # never wrapped or cut, whatever the width, so it can be copied
    title = "recent executions (run id)"
    width = max(len(title), *(len(item["run_id"]) for item in executions))
    out.print(Text(f"{title:<{width}}  {'status':<11} "
                   f"{'started (UTC)':<19}  duration", style="bold"), soft_wrap=True)
    for item in executions:
        started = (item["started_at"] or "")[:19].replace("T", " ")
        out.print(Text.assemble(
            f"{item['run_id']:<{width}}  ",
            (f"{item['status']:<11}", STATUS_STYLE.get(item["status"], "")),
            f" {started:<19}  {_duration(item['duration_ms'])}",
        ), soft_wrap=True)


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _reason(record: dict[str, Any]) -> str:
    """Every mismatch with path, expected and actual; else the error, or why it was
    skipped."""
    mismatches = record.get("mismatches") or []
    if mismatches:
        return clean("; ".join(m["message"] for m in mismatches))
    return clean(record.get("error") or record.get("reason") or "")


def clean(text: str) -> str:
    """Text from the run (errors, actual values) with control characters made visible."""
    return _CONTROL.sub("?", text)
