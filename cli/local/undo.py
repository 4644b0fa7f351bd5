"""What every moto patch gives back: the function that undoes it."""

from __future__ import annotations

from collections.abc import Callable

Undo = Callable[[], None]


def in_reverse(undoes: list[Undo]) -> Undo:
    """One undo for several patches: each one's, the last installed first (a later
    patch may wrap what an earlier one installed). The list is read when it runs, so
    patches appended after this call are undone too."""

    def undo() -> None:
        for undo_one in reversed(undoes):
            undo_one()

    return undo
