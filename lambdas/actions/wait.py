"""``wait``: pause the scenario for N seconds, as a Wait state of the state machine.

No Lambda sleeps: the Action handler answers the step's first attempt with
outcome ``retry`` and ``wait_seconds`` = N, the state machine's Wait state
waits, and the second attempt passes (lambdas/states.py). That is why a ``wait``
cannot be a cleanup action (cleanups run inside one Lambda invocation).
"""

from __future__ import annotations

import math
from typing import Any

from itest.lambdas.actions.registry import action
from itest.lambdas.validation import Strict
from pydantic import Field

MAX_WAIT_SECONDS = 86400


class WaitParams(Strict):
    """The ``with`` of a ``wait`` step."""

    seconds: float = Field(
        gt=0, le=MAX_WAIT_SECONDS, description="how long; rounded up to whole seconds"
    )

    @property
    def whole_seconds(self) -> int:
        return math.ceil(self.seconds)


@action("wait", params=WaitParams, waits=True)
def wait(params: WaitParams) -> dict[str, Any]:
    """Result ``{seconds}``; the waiting itself is the state machine's (see above)."""
    return {"seconds": params.whole_seconds}
