"""Invocations held in their handlers until as many as asked are in at once: a barrier
across worker processes, through files. A sleep meant to keep invocations overlapping can
end before the next one arrives on a slow machine; this cannot. The handler's side is a
module shipped in the function's zip beside its index.py (`wait_together(event)`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

MODULE = "together.py"
SOURCE = '''
import os
import time


def wait_together(event, seconds=20):
    """Hold this invocation until event["together"] = [folder, count] are in at once (at
    most `seconds`: the test then fails on the count, not on a timeout)."""
    if not event.get("together"):
        return
    folder, count = event["together"]
    open(os.path.join(folder, str(os.getpid())), "w").close()
    deadline = time.monotonic() + seconds
    while len(os.listdir(folder)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
'''


def together(folder: Path, count: int) -> dict[str, Any]:
    """The event of `count` invocations that each wait until all are in (`folder` empty,
    one file a process that got in)."""
    return {"together": [str(folder), count]}
