"""plain_layout writes what rich writes, or leaves the part to rich (None)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itest.cli import plain_layout, render
from itest.cli.plain_layout import plain, styled
from itest.cli.reports import Outcome, Report
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tests.unit.test_cli_render import outcome as sample_outcome
from tests.unit.test_cli_render import record, report, step


class AsciiOut(io.StringIO):
    encoding = "ascii"  # rich then draws boxes with ASCII characters


def plain_console(width: int = 120, *, ascii_only: bool = False) -> Console:
    file = AsciiOut() if ascii_only else io.StringIO()
    return Console(file=file, highlight=False, width=width, no_color=True)


def by_rich(console: Console, renderable: Any) -> str:
    with console.capture() as captured:
        console.print(renderable, soft_wrap=True)
    return captured.get()


# Words that rich treats in its own ways: markup tags, escapes, emoji codes, wide and
# combining characters, tabs, control characters, leading and trailing spaces.
PLAIN_WORDS = st.text(alphabet="abcXYZ019 .-_/=", max_size=12)
WORDS = st.one_of(
    PLAIN_WORDS, PLAIN_WORDS, PLAIN_WORDS,  # mostly what reports hold
    st.sampled_from(["[bold]x[/bold]", "[x]", "a[1, 2]", r"\[b]", ":smile:", "arn:aws:s3",
                     "status: itest", "é", "中文", "e\u0301", "a\tb", "a\nb", "\x1b[31m",
                     "  lead", "trail  ", "", "x" * 70]),
)
CELLS = st.one_of(WORDS, WORDS.map(Text))


def table_of(headers: list[str], rows: list[list[Any]], **options: Any) -> Table:
    table = Table(**options)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


@st.composite
def tables(draw: st.DrawFn, words: st.SearchStrategy[str] = WORDS,
           cells: st.SearchStrategy[Any] = CELLS) -> Table:
    columns = draw(st.integers(1, 7))
    headers = draw(st.lists(words, min_size=columns, max_size=columns))
    rows = draw(st.lists(st.lists(cells, min_size=columns, max_size=columns), max_size=6))
    return table_of(headers, rows)


@settings(max_examples=400, deadline=None)
@given(table=tables(), width=st.integers(10, 160), ascii_only=st.booleans())
def test_a_table_laid_out_plainly_is_what_rich_writes(table: Table, width: int,
                                                      ascii_only: bool) -> None:
    console = plain_console(width, ascii_only=ascii_only)
    laid_out = plain(console, table)
    assert laid_out is None or laid_out == by_rich(console, table)


@settings(max_examples=200, deadline=None)
@given(table=tables(PLAIN_WORDS, PLAIN_WORDS), width=st.integers(10, 160))
def test_a_table_of_plain_words_is_laid_out_plainly_when_it_fits(table: Table,
                                                                 width: int) -> None:
    console = plain_console(width)
    cells = [[column.header, *column.cells] for column in table.columns]
    natural = sum(max(map(len, column)) + 2 for column in cells) + len(cells) + 1
    laid_out = plain(console, table)
    empty = any(not max(map(len, column)) for column in cells)  # rich's own way: left to it
    assert (laid_out is not None) == (natural <= width and not empty)
    assert laid_out is None or laid_out == by_rich(console, table)


@settings(max_examples=300, deadline=None)
@given(part=CELLS, width=st.integers(10, 160))
def test_a_line_laid_out_plainly_is_what_rich_writes(part: Any, width: int) -> None:
    console = plain_console(width)
    laid_out = plain(console, part)
    assert laid_out is None or laid_out == by_rich(console, part)


def test_what_rich_would_change_is_left_to_rich() -> None:
    console = plain_console(40)
    assert plain(console, "[bold]x[/bold]") == "x\n"  # what rich makes of the markup
    assert plain(console, ":smile: done") is None  # an emoji: two cells wide
    assert plain(console, "a\tb") is None
    assert plain(console, Text("centred", justify="center")) is None
    too_wide = table_of(["#", "reason"], [["1", "x" * 60]])
    assert plain(console, too_wide) is None  # rich folds the reason
    assert plain(console, table_of(["a"], [["1"]], title="t")) is None


def burst_outcome(runs: int = 50, steps: int = 10) -> Outcome:
    names = [f"b-{i:02d}" for i in range(runs)]
    return Outcome([
        report(name, "passed", record([step(i, f"post {i}", "passed") for i in range(steps)],
                                      "passed"),
               status_command=f"itest status --local {name}-20261121T232100-ab12cd")
        for name in names
    ])  # fmt: skip


@pytest.mark.parametrize("make", [sample_outcome, burst_outcome])
@pytest.mark.parametrize("width", [60, 120, 200])
def test_reports_read_the_same_laid_out_plainly(make: Any, width: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    laid_out = plain_console(width)
    render.print_outcome(laid_out, make())
    monkeypatch.setattr(plain_layout, "plain", lambda console, part: None)  # rich for all
    by_rich_only = plain_console(width)
    render.print_outcome(by_rich_only, make())
    assert laid_out.file.getvalue() == by_rich_only.file.getvalue()  # type: ignore[attr-defined]


def test_a_passing_report_is_laid_out_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case takes the cheap path: no part of it goes to rich's print."""
    console = plain_console()
    monkeypatch.setattr(Console, "print", lambda *args, **kwargs: pytest.fail("rich printed"))
    render.print_parts(console, [*render.report_parts(burst_outcome(1).reports[0]), ""])
    assert "│ 10 │ post 9 │ http   │ passed │ 1        │ 67 ms    │        │" in (
        console.file.getvalue()  # type: ignore[attr-defined]
    )


def test_a_terminal_is_left_to_rich() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    assert styled(terminal)
    assert not styled(plain_console())
    report_ = Report("x", "passed")
    assert render.report_parts(report_)  # a title at least


def styled_console(width: int) -> Console:
    return Console(file=io.StringIO(), force_terminal=True, color_system="truecolor",
                   width=width, highlight=False)  # fmt: skip


def seen(console: Console, renderable: Any) -> list[tuple[str, Any]]:
    """What a terminal shows: each character and its style."""
    with console.capture() as captured:
        console.print(renderable, soft_wrap=True)
    text = Text.from_ansi(captured.get())
    return [(char, text.get_style_at_offset(console, i)) for i, char in enumerate(text.plain)]


STYLED_CELLS = st.one_of(
    PLAIN_WORDS,
    st.builds(Text, PLAIN_WORDS, style=st.sampled_from(["", "green", "bold red", "dim"])),
    st.builds(lambda a, b: Text.assemble((a, "yellow"), " ", b), PLAIN_WORDS, PLAIN_WORDS),
    st.sampled_from(["[bold]x[/bold] y", "status: itest", "中文"]),
)


@st.composite
def styled_tables(draw: st.DrawFn) -> Table:
    table = draw(tables(PLAIN_WORDS, STYLED_CELLS))
    for column in table.columns:
        column.header_style = draw(st.sampled_from(["", "cyan"]))
        column.style = draw(st.sampled_from(["", "", "magenta"]))
    return table


@settings(max_examples=300, deadline=None)
@given(table=styled_tables(), width=st.integers(20, 160))
def test_a_table_laid_out_shows_on_a_terminal_as_rich_s(table: Table, width: int) -> None:
    """Every character in the style rich gives it (its escape codes may be split
    otherwise: rich writes each cell's padding apart)."""
    console = styled_console(width)
    laid_out = plain_layout.laid_out(console, table)
    assert laid_out is None or seen(console, laid_out) == seen(console, table)


def test_a_report_s_table_is_laid_out_on_a_terminal_too() -> None:
    console = styled_console(120)
    table = next(part for part in render.report_parts(sample_outcome().reports[1])
                 if isinstance(part, Table))  # fmt: skip
    laid_out = plain_layout.laid_out(console, table)
    assert laid_out is not None
    shown = seen(console, laid_out)
    assert shown == seen(console, table)
    styles = {str(style) for _, style in shown}  # the header; passed, failed, skipped
    assert len(styles) >= 5 and {"bold", "dim"} <= styles


@pytest.mark.parametrize("make", [sample_outcome, burst_outcome])
def test_reports_show_the_same_on_a_terminal(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def shown(console: Console) -> list[tuple[str, Any]]:
        text = Text.from_ansi(console.file.getvalue())  # type: ignore[attr-defined]
        return [(char, text.get_style_at_offset(console, i))
                for i, char in enumerate(text.plain)]  # fmt: skip

    laid_out = styled_console(120)
    render.print_outcome(laid_out, make())
    monkeypatch.setattr(plain_layout, "laid_out", lambda console, table: None)  # rich's own
    by_rich_only = styled_console(120)
    render.print_outcome(by_rich_only, make())
    assert shown(laid_out) == shown(by_rich_only)
