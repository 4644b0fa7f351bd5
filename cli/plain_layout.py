"""Reports laid out as rich lays them out, without rich's per-cell work, for plain output.

Rich renders every table cell through markup, padding, measuring and wrapping: a
10-step report's table took about 4.5 ms of CPU, so the 50 reports that follow a burst
of 50 runs took 0.22 s, all of it after the last run ended. Where nothing is styled
(output that is not a terminal: CI logs, pipes, `--output` files) and a table fits the
width with every cell one plain line, its layout is fixed (each column as wide as its
widest cell and the padding, the box's characters around them): `plain` writes that
text directly. Anything else (a cell that wraps, markup, tabs, wide characters, a table
option the reports do not use) is None, and rich lays it out; tests compare the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console

_PADDING = (0, 1, 0, 1)  # rich's default cell padding: one space left and right


def styled(console: Console) -> bool:
    """Whether `console` writes anything but plain text (a terminal: colour, cursor moves)."""
    return console.is_terminal or console.color_system is not None


def plain(console: Console, renderable: Any) -> str | None:
    """What `console.print(renderable, soft_wrap=True)` writes on an unstyled console
    (see `styled`), for a str, a Text or a simple Table; None: rich must lay it out."""
    if isinstance(renderable, Table):
        return _table(console, renderable)
    line = _line(console, renderable)
    if line is None or (isinstance(renderable, Text) and renderable.end != "\n"):
        return None
    return line + "\n"


def _line(console: Console, renderable: Any) -> str | None:
    """A str or Text that renders as one line of plain characters, one cell wide each:
    that line; else None."""
    if isinstance(renderable, str):
        text = renderable
        if "[" in text or ":" in text:  # markup, or an emoji code like :smile:
            rendered = console.render_str(text)
            if rendered.justify is not None:
                return None
            text = rendered.plain
    elif isinstance(renderable, Text):
        if renderable.justify is not None:
            return None
        text = renderable.plain
    else:
        return None
    if not text.isprintable() or cell_len(text) != len(text):
        return None  # tabs, new lines, control or wide characters: rich's own rules
    return text


def _table(console: Console, table: Table) -> str | None:
    """The table's text when rich would lay out every cell on one line at its natural
    width; None otherwise."""
    if not _simple(table):
        return None
    rows: list[list[str]] = [[] for _ in range(table.row_count + 1)]
    for column in table.columns:
        for row, cell in zip(rows, (column.header, *column.cells), strict=True):
            line = _line(console, cell)
            if line is None:
                return None
            row.append(line)
    pad = _PADDING[1] + _PADDING[3]
    widths = [max(map(len, column)) + pad for column in zip(*rows, strict=True)]
    borders = len(widths) + 1
    if sum(widths) + borders > console.options.max_width:
        return None  # rich would fold cells to fit
    box = table.box.substitute(  # type: ignore[union-attr]
        console.options, safe=console.safe_box if table.safe_box is None else table.safe_box
    )
    lines = [box.get_top(widths)]
    for index, row in enumerate(rows):
        if index == 0:
            left, vertical, right = box.head_left, box.head_vertical, box.head_right
        elif index == len(rows) - 1:
            left, vertical, right = box.foot_left, box.foot_vertical, box.foot_right
        else:
            left, vertical, right = box.mid_left, box.mid_vertical, box.mid_right
        cells = zip(row, widths, strict=True)
        lines.append(left + vertical.join(f" {cell.ljust(width - pad)} " for cell, width in cells)
                     + right)
        if index == 0:
            lines.append(box.get_row(widths, "head", edge=True))
    lines.append(box.get_bottom(widths))
    return "\n".join(lines) + "\n"


def _simple(table: Table) -> bool:
    """Whether the table uses only what `_table` lays out: a box with edges and a header,
    default padding, no title, footer, row lines, fixed or expanding widths."""
    return (
        bool(table.columns) and table.box is not None and table.show_header and table.show_edge
        and not (table.title or table.caption or table.show_footer or table.show_lines)
        and not (table.leading or table.expand or table.collapse_padding or table.row_styles)
        and table.pad_edge and tuple(table.padding) == _PADDING
        and table.width is None and table.min_width is None
        and all(
            column.width is None and column.min_width is None and column.max_width is None
            and column.ratio is None and column.justify == "left"
            for column in table.columns
        )
    )  # fmt: skip
