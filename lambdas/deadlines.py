"""Time budgets: no action outlives its Lambda or the scenario's deadline.

The handler notes when its invocation must end (:func:`enter`, from the Lambda
context); an action then gets the smaller of what is left of the invocation
(less a reserve to write the result) and of the scenario. :func:`run_within`
bounds any call by a budget, so even an action without a timeout of its own
(a boto3 call, a synchronous ``lambda.invoke``) is cut off; ``http`` also caps
its own connect/read timeout with :func:`action_budget`.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from itest.lambdas.errors import ItestError

T = TypeVar("T")

RESERVE_SECONDS = 5.0
"""Kept back from a Lambda's time left: enough to record the outcome after a cut-off."""
GRACE_SECONDS = 0.5
"""How long the watchdog lets an action's own timeout (capped to the budget) speak first:
its error names the call."""

_invocation_end: float | None = None
_action_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "action_budget", default=None
)


class OutOfTime(ItestError):
    """A call did not finish within its budget."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        super().__init__(budget.describe())


@dataclass(frozen=True)
class Budget:
    """Seconds an action may take, and what sets the limit."""

    seconds: float
    by: str  # "scenario deadline" | "Lambda time left" | "cleanup budget"

    def describe(self) -> str:
        return f"timed out after {max(self.seconds, 0):.0f} s ({self.by})"


def enter(context: Any, now: float | None = None) -> None:
    """Note when this invocation ends (``context.get_remaining_time_in_millis``);
    without a context (tests, scripts) there is no Lambda limit."""
    global _invocation_end
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    start = time.time() if now is None else now
    _invocation_end = start + remaining() / 1000 if callable(remaining) else None


def lambda_left(now: float) -> float | None:
    """Seconds this invocation may still use for work (its reserve kept), or None."""
    if _invocation_end is None:
        return None
    return _invocation_end - now - RESERVE_SECONDS


def budget(now: float, deadline: float | None, *, cap: float | None = None) -> Budget:
    """The smaller of the scenario's time left, the Lambda's and ``cap`` (a cleanup's)."""
    limits = []
    if deadline is not None:
        limits.append(Budget(float(deadline) - now, "scenario deadline"))
    if (left := lambda_left(now)) is not None:
        limits.append(Budget(left, "Lambda time left"))
    if cap is not None:
        limits.append(Budget(cap, "cleanup budget"))
    return min(limits, key=lambda b: b.seconds, default=Budget(float("inf"), "none"))


def action_budget() -> Budget | None:
    """The budget of the running action (None: unbounded), for timeouts of the
    action's own calls (``http``)."""
    return _action_budget.get()


def run_within(limit: Budget, call: Callable[[], T]) -> T:
    """``call()``, or :class:`OutOfTime` once ``limit`` has passed.

    The call runs in a daemon thread that is abandoned when cut off: a hanging
    connection cannot hold the invocation past its budget. A thread whose call
    returned in time waits for the next one (a warm worker starts no thread per
    step); an abandoned one ends when its call does.

    Raises:
        OutOfTime: the call did not finish within the budget.
    """
    if limit.seconds == float("inf"):
        return call()
    if limit.seconds <= 0:
        raise OutOfTime(limit)
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()
    context.run(_action_budget.set, limit)
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            done.set()

    try:
        lane = _idle.pop()  # one step: two threads never take the same lane
    except IndexError:
        lane = _Lane()
    lane.calls.put(target)
    if not done.wait(limit.seconds + GRACE_SECONDS):
        lane.calls.put(None)  # abandoned: it ends after this call, and gets no other
        raise OutOfTime(limit)
    _idle.append(lane)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class _Lane:
    """A daemon thread running the calls put to it, one after another, until None."""

    def __init__(self) -> None:
        self.calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="itest-action", daemon=True).start()

    def _serve(self) -> None:
        while (call := self.calls.get()) is not None:
            call()


_idle: list[_Lane] = []
"""Lanes whose last call returned in time: the next call takes one."""
