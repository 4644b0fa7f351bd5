"""The wait action's parameters (its waiting is the state machine's: test_engine_features)."""

from __future__ import annotations

import pytest
from itest.lambdas.actions.registry import run_action
from itest.lambdas.errors import ActionError


@pytest.mark.parametrize(("seconds", "whole"), [(1, 1), (0.2, 1), (6.5, 7), (86400, 86400)])
def test_seconds_round_up_to_whole_seconds(seconds: float, whole: int) -> None:
    assert run_action("wait", {"seconds": seconds}) == {"seconds": whole}


@pytest.mark.parametrize("seconds", [0, -1, 86401, "soon"])
def test_out_of_bounds_waits_are_invalid(seconds: object) -> None:
    with pytest.raises(ActionError, match="wait: invalid parameters: seconds") as caught:
        run_action("wait", {"seconds": seconds})
    assert caught.value.retryable is False
