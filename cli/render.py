"""Reports as rich tables (for people) or JSON (for programs)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from cli.commands import Outcome, Report

STATUS_STYLE = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "pending": "yellow",
    "running": "yellow",
    "skipped": "dim",
}


def render(outcome: Outcome, fmt: str) -> str:
    """The outcome as text in `fmt` (table text has no colour)."""
    if fmt == "json":
        return as_json(outcome)
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    _print_tables(Console(file=buffer, width=120, no_color=True, highlight=False), outcome)
    return buffer.getvalue()


def echo(text: str, fmt: str, outcome: Outcome | None = None) -> None:
    """Print to stdout; tables go through rich so a terminal gets colour."""
    if fmt == "table" and outcome is not None:
        from rich.console import Console

        _print_tables(Console(highlight=False), outcome)
    else:
        print(text, end="" if text.endswith("\n") else "\n")


def as_json(outcome: Outcome) -> str:
    """The documented JSON shape: started runs, and reports when waited for."""
    return json.dumps(
        {
            "runs": [
                r.as_json() if outcome.waited else _started_json(r)
                for r in (outcome.reports if outcome.waited else outcome.started)
            ]
        },
        indent=2,
        default=str,
    )


def _started_json(run: Any) -> dict[str, str]:
    return {"scenario": run.scenario, "run_id": run.run_id, "execution_arn": run.execution_arn}


def _print_tables(console: Console, outcome: Outcome) -> None:
    if not outcome.waited:
        for run in outcome.started:
            console.print(f"started {run.scenario}: {run.execution_arn}")
        return
    for report in outcome.reports:
        for part in _report(report):
            console.print(part)


def _report(report: Report) -> list[RenderableType]:
    from rich.table import Table
    from rich.text import Text

    title = Text.assemble(
        (report.run.scenario, "bold"),
        "  ",
        (report.status.upper(), STATUS_STYLE.get(report.status, "")),
        f"  {report.run.run_id}",
    )
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("#", "step", "action", "status", "attempts", "duration", "reason"):
        table.add_column(column, overflow="fold")
    record = report.record or {}
    for step in record.get("steps", []):
        table.add_row(
            str(step["index"] + 1),
            step["name"],
            step.get("action") or "",
            Text(step["status"], style=STATUS_STYLE.get(step["status"], "")),
            str(step.get("attempts") or ""),
            _duration(step.get("duration_ms")),
            _reason(step),
        )
    parts: list[RenderableType] = [table]
    assertions = record.get("assertions")
    if assertions and assertions["status"] != "passed":
        parts.append(Text("assertions: " + _reason(assertions), style="red"))
    cleanup = record.get("cleanup")
    if cleanup and cleanup["actions"]:
        done = sum(a["status"] == "passed" for a in cleanup["actions"])
        parts.append(f"cleanup: {done}/{len(cleanup['actions'])} actions succeeded")
        parts += [
            Text(f"  cleanup {a['name']} ({a['action']}): {a['error']}", style="red")
            for a in cleanup["actions"]
            if a["status"] != "passed"
        ]
    if report.status != "passed" and report.reason:
        parts.append(Text(f"reason: {report.reason}", style=STATUS_STYLE.get(report.status, "")))
    return parts


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _reason(record: dict[str, Any]) -> str:
    """Every mismatch with path, expected and actual; else the error."""
    mismatches = record.get("mismatches") or []
    if mismatches:
        return "; ".join(m["message"] for m in mismatches)
    return record.get("error") or ""
