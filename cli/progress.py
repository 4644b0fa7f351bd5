"""Live progress while waiting, on stderr: one line per scenario and its current step.

A terminal gets a rich live table, redrawn in place. Anything else (CI logs,
a pipe) gets one plain line per change instead, which reads well in a log.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from itest.cli.scheduler import Stage
from itest.lambdas.statuses import FINAL_STATUSES, RunStatus, StepStatus

if TYPE_CHECKING:
    from itest.cli.scheduler import Tracked

SYMBOL = {
    Stage.QUEUED: "·",
    RunStatus.RUNNING: "▶",
    RunStatus.PASSED: "✔",
    RunStatus.FAILED: "✘",
    RunStatus.ERROR: "✘",
}


def describe(tracked: Tracked) -> tuple[str, str]:
    """(status word, detail) of a scenario as the progress shows it."""
    progress = tracked.progress
    if tracked.state == Stage.QUEUED:
        return Stage.QUEUED, ""
    if tracked.state in (Stage.TIMEOUT, Stage.NOT_STARTED):
        return tracked.state.replace("_", " "), ""
    if tracked.state == Stage.DONE:
        status = progress.status if progress.status in FINAL_STATUSES else RunStatus.ERROR
        return status, ""
    if progress.step_index is None:
        return RunStatus.RUNNING, "preparing" if progress.status is None else "starting the steps"
    total = f"/{progress.total_steps}" if progress.total_steps else ""
    detail = f"step {progress.step_index + 1}{total} {progress.step_name or ''}"
    if progress.step_status == StepStatus.PENDING:
        detail += f" (polling, attempt {progress.attempts})"
    return RunStatus.RUNNING, detail


def elapsed(tracked: Tracked) -> str:
    if tracked.state == Stage.QUEUED or not tracked.started:
        return ""
    end = tracked.finished or time.monotonic()
    return f"{end - tracked.started:.0f}s"


ROWS_PER_SECOND = 40
"""Rows of the live table laid out a second at most, above 10 rows (see refreshes_per_second)."""


def refreshes_per_second(rows: int) -> float:
    """How often the live table is redrawn: 4 times a second, or less when it is long,
    so that at most about ROWS_PER_SECOND rows are laid out a second (rich lays out
    a 50-row table in about 15 ms), never less than once a second (the elapsed column
    counts seconds)."""
    return min(4.0, max(1.0, ROWS_PER_SECOND / max(rows, 1)))


class LiveProgress:
    """A live table on a terminal's stderr, redrawn by rich's own refresh only: a
    change shows at the next redraw (redrawing on every change laid out the 50-row
    table about 150 times in a burst of 50, 2 s of the CLI's CPU)."""

    def __init__(self, tracked: list[Tracked]) -> None:
        from itest.cli.render import console
        from rich.live import Live

        self.tracked = tracked
        self.live = Live(
            get_renderable=self._table, console=console(stderr=True),
            refresh_per_second=refreshes_per_second(len(tracked)), transient=False,
        )  # fmt: skip

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)

    def update(self, tracked: Tracked) -> None:
        """Nothing now: the next redraw shows the change, and leaving draws the last state."""

    def _table(self) -> Any:
        from itest.cli.render import STATUS_STYLE
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        for one in self.tracked:
            status, detail = describe(one)
            style = STATUS_STYLE.get(status, "")
            table.add_row(
                Text(SYMBOL.get(status, "✘"), style=style),
                Text(one.name, style="bold"),
                Text(status, style=style),
                Text(detail),
                Text(elapsed(one), style="dim"),
            )
        return table


class LineProgress:
    """One plain line per change, for logs."""

    def __init__(self, tracked: list[Tracked]) -> None:
        import click

        self.echo = lambda text: click.echo(text, err=True)
        self.last: dict[int, tuple[str, int | None]] = {}

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, tracked: Tracked) -> None:
        status, detail = describe(tracked)
        shown = (status, tracked.progress.step_index)  # not every polling attempt
        if self.last.get(id(tracked)) == shown:
            return
        self.last[id(tracked)] = shown
        if status == RunStatus.RUNNING and detail in ("preparing", "starting the steps"):
            run_id = tracked.run.run_id if tracked.run else ""
            if detail == "preparing":
                self.echo(f"{tracked.name}: started {run_id}")
            return
        took = elapsed(tracked)
        tail = f" ({took})" if status != RunStatus.RUNNING and took else ""
        self.echo(f"{tracked.name}: {status}{' ' + detail if detail else ''}{tail}")


def progress_for(tracked: list[Tracked]) -> LiveProgress | LineProgress:
    from itest.cli.render import console

    return LiveProgress(tracked) if console(stderr=True).is_terminal else LineProgress(tracked)
