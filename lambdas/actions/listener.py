"""``listener.receive`` and ``listener.absent``: what the run's listeners caught.

Each attempt first moves what the listener's queue holds into the run's
store (lambdas/listeners.py), then offers every message captured so far as a
candidate: ``receive`` passes when ONE meets all of ``expect`` (the step's
result is that message), ``absent`` fails when one does that no earlier step
received (whenever it arrived: before the window too, so an event sent by the
step just before is not missed). ``absent`` is a window of the state machine's
Wait state, like ``wait``: its first attempt checks and asks for the wait, its
last one drains the queue once more at the end of the window and decides.
"""

from __future__ import annotations

import math
from typing import Any

from itest.lambdas import listeners
from itest.lambdas.actions.registry import RunScope, action
from itest.lambdas.actions.wait import MAX_WAIT_SECONDS
from itest.lambdas.errors import ActionError
from itest.lambdas.validation import Strict
from pydantic import Field

LISTENER_NAME = r"^[A-Za-z0-9_-]{1,24}$"


class ReceiveParams(Strict):
    """The ``with`` of ``listener.receive``."""

    listener: str = Field(description="a name under the scenario's listeners")


class AbsentParams(Strict):
    """The ``with`` of ``listener.absent``."""

    listener: str = Field(description="a name under the scenario's listeners")
    seconds: float = Field(
        gt=0, le=MAX_WAIT_SECONDS, description="the window; rounded up to whole seconds"
    )


def _caught(listener: str, scope: RunScope, *, thorough: bool) -> list[listeners.Captured]:
    kind = scope.listeners.get(listener)
    if kind is None:
        declared = ", ".join(sorted(scope.listeners)) or "none"
        raise ActionError(f"no listener {listener!r} (declared: {declared})", retryable=False)
    listeners.drain(scope.run_id, listener, kind, mask=scope.mask, thorough=thorough)
    return listeners.captured(scope.run_id, listener)


@action(
    "listener.receive", params=ReceiveParams, scoped=True, expect="any", names_listener=True
)
def receive(params: ReceiveParams, scope: RunScope) -> dict[str, Any]:
    """Candidates: every message captured so far, oldest first."""
    caught = _caught(params.listener, scope, thorough=False)
    return {"candidates": [c["message"] for c in caught], "captured": len(caught)}


@action(
    "listener.absent", params=AbsentParams, scoped=True, expect="none", waits=True,
    names_listener=True,
)
def absent(params: AbsentParams, scope: RunScope) -> dict[str, Any]:
    """Candidates: every message captured so far (the Action leaves out those an
    earlier step received)."""
    caught = _caught(params.listener, scope, thorough=True)
    return {
        "candidates": [c["message"] for c in caught],
        "seconds": math.ceil(params.seconds),
        "captured": len(caught),
    }
