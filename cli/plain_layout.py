"""Report tables laid out as rich lays them out, without rich's per-cell work.

Rich renders every table cell through padding, measuring and wrapping: a 10-step
report's table took about 4.5 ms of CPU, so the 50 reports that follow a burst of 50
runs took 0.22 s, all of it after the last run ended. When a table fits the width with
every cell one line of plain characters, its layout is fixed: each column as wide as
its widest cell and the padding, the box's characters around them. `laid_out` writes
such a table as one Text, each character in the style rich gives it (the header's,
a cell's own); `plain` gives the text itself where nothing is styled (output that is
not a terminal: CI logs, pipes, `--output` files). Anything else (a cell that would
wrap, tabs, wide characters, a table option the reports do not use) is None, and rich
lays it out; tests compare the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Span, Text

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
        table = laid_out(console, renderable)
        return None if table is None else table.plain + "\n"
    line = _line(console, renderable)
    return None if line is None else line.plain + "\n"


def laid_out(console: Console, table: Table) -> Text | None:
    """The table as rich would lay it out on `console` (the same characters, each in
    the same style), when rich would put every cell on one line at its natural width;
    None otherwise."""
    if not _simple(console, table):
        return None
    rows: list[list[Text]] = [[] for _ in range(table.row_count + 1)]
    for column in table.columns:
        for row, cell in zip(rows, (column.header, *column.cells), strict=True):
            line = _line(console, cell)
            if line is None:
                return None
            row.append(line)
    pad = _PADDING[1] + _PADDING[3]
    widths = [max(len(cell.plain) for cell in column) + pad
              for column in zip(*rows, strict=True)]  # fmt: skip
    if sum(widths) + len(widths) + 1 > console.options.max_width or pad in widths:
        return None  # rich would fold cells to fit; an empty column, rich's own way
    box = table.box.substitute(  # type: ignore[union-attr]
        console.options, safe=console.safe_box if table.safe_box is None else table.safe_box
    )
    header = console.get_style(table.header_style or "")
    cell_styles = [  # (the header's, the other rows') of each column, beneath the cell's own
        (header + console.get_style(column.header_style), console.get_style(column.style or ""))
        for column in table.columns
    ]
    chunks = [box.get_top(widths), "\n"]
    spans: list[Span] = []
    offset = len(box.get_top(widths)) + 1
    for index, row in enumerate(rows):
        if index == 0:
            left, vertical, right = box.head_left, box.head_vertical, box.head_right
        elif index == len(rows) - 1:
            left, vertical, right = box.foot_left, box.foot_vertical, box.foot_right
        else:
            left, vertical, right = box.mid_left, box.mid_vertical, box.mid_right
        for number, (cell, width, styles) in enumerate(zip(row, widths, cell_styles,
                                                           strict=True)):  # fmt: skip
            border = vertical if number else left
            chunks.append(border)
            start = offset + len(border)
            cell_style = styles[0] if index == 0 else styles[1]
            if cell_style:  # the whole cell, its padding too
                spans.append(Span(start, start + width, cell_style))
            if cell.style:  # the cell's text, padded to the column's width
                spans.append(Span(start + 1, start + width - 1, cell.style))
            spans += (Span(start + 1 + span.start, start + 1 + min(span.end, width - pad),
                           span.style) for span in cell.spans)  # fmt: skip
            chunks.append(f" {cell.plain.ljust(width - pad)} ")
            offset = start + width
        chunks += (right, "\n")
        offset += len(right) + 1
        if index == 0:
            separator = box.get_row(widths, "head", edge=True)
            chunks += (separator, "\n")
            offset += len(separator) + 1
    chunks.append(box.get_bottom(widths))
    return Text("".join(chunks), spans=spans)


def _line(console: Console, renderable: Any) -> Text | None:
    """A str (as rich reads it in a table cell: markup, emoji codes, no highlighting)
    or a Text that is one line of plain characters, one cell wide each, as a Text of
    its own; else None."""
    if isinstance(renderable, str):
        if "[" in renderable or ":" in renderable:  # markup, or an emoji code like :smile:
            text = console.render_str(renderable, highlight=False)
        else:
            text = Text(renderable)
    elif isinstance(renderable, Text):
        text = renderable
    else:
        return None
    if text.justify is not None:
        return None
    line = text.plain
    if not line.isprintable() or cell_len(line) != len(line):
        return None  # tabs, new lines, control or wide characters: rich's own rules
    return text


def _simple(console: Console, table: Table) -> bool:
    """Whether the table uses only what `laid_out` lays out: a box with edges and a
    header, default padding; no title, footer, row lines, row or border styles, fixed
    or expanding widths."""
    return (
        bool(table.columns) and table.box is not None and table.show_header
        and table.show_edge and table.pad_edge and tuple(table.padding) == _PADDING
        and not (table.title or table.caption or table.show_footer or table.show_lines)
        and not (table.leading or table.expand or table.collapse_padding or table.row_styles)
        and not console.get_style(table.style or "") + console.get_style(table.border_style or "")
        and table.width is None and table.min_width is None
        and all(row.style is None and not row.end_section for row in table.rows)
        and all(
            column.width is None and column.min_width is None and column.max_width is None
            and column.ratio is None and column.justify == "left" and not column.highlight
            for column in table.columns
        )
    )  # fmt: skip
