"""When a failing step is tried again, and how long the state machine waits."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from itest.lambdas.scenario.models import Step
from itest.lambdas.states import Attempt, decide

FAILING = Attempt(
    mismatches=[{"path": "p", "matcher": "equals", "expected": 1, "actual": 2, "message": "m"}]
)


def step(**retry: float) -> Step:
    return Step.model_validate(
        {
            "name": "poll",
            "action": "http",
            "with": {"url": "http://x"},
            "expect": [{"path": "status", "equals": 200}],
            **({"retry": retry} if retry else {}),
        }
    )


def test_a_passing_attempt_passes() -> None:
    assert decide(step(), Attempt(), attempt=1, first=0, now=0, deadline=None) == ("passed", 1)


def test_without_retry_the_first_mismatch_fails() -> None:
    assert decide(step(), FAILING, attempt=1, first=0, now=0, deadline=None) == ("failed", 1)


def test_waits_grow_by_backoff_and_round_up() -> None:
    polling = step(timeout_seconds=100, interval_seconds=1.5, backoff=2)
    waits = [
        decide(polling, FAILING, attempt=n, first=0, now=0, deadline=None)[1] for n in (1, 2, 3)
    ]
    assert waits == [2, 3, 6]


def test_the_window_and_the_deadline_cut_the_wait() -> None:
    polling = step(timeout_seconds=10, interval_seconds=8)
    assert decide(polling, FAILING, attempt=1, first=0, now=7.5, deadline=None) == ("retry", 3)
    assert decide(polling, FAILING, attempt=1, first=0, now=1, deadline=2.2) == ("retry", 2)
    assert decide(polling, FAILING, attempt=3, first=0, now=10, deadline=None) == ("failed", 1)
    assert decide(polling, FAILING, attempt=1, first=0, now=5, deadline=5) == ("failed", 1)


def test_stop_if_and_unretryable_errors_fail_at_once() -> None:
    polling = step(timeout_seconds=10)
    stopped = Attempt(error="stop_if holds", stopped=True)
    broken = Attempt(error="bad template", retryable=False)
    flaky = Attempt(error="connection refused")
    assert decide(polling, stopped, attempt=1, first=0, now=0, deadline=None)[0] == "failed"
    assert decide(polling, broken, attempt=1, first=0, now=0, deadline=None)[0] == "failed"
    assert decide(polling, flaky, attempt=1, first=0, now=0, deadline=None)[0] == "retry"


@given(
    timeout=st.floats(0.1, 3600),
    interval=st.floats(0.01, 600),
    backoff=st.floats(1, 4),
    attempt=st.integers(1, 30),
    elapsed=st.floats(0, 3600),
)
def test_a_wait_is_a_whole_second_or_more_and_never_overshoots_much(
    timeout: float, interval: float, backoff: float, attempt: int, elapsed: float
) -> None:
    interval = min(interval, timeout)  # a longer interval is rejected by the model
    polling = step(timeout_seconds=timeout, interval_seconds=interval, backoff=backoff)
    outcome, wait = decide(polling, FAILING, attempt=attempt, first=0, now=elapsed, deadline=None)
    assert isinstance(wait, int) and wait >= 1
    if outcome == "retry":
        assert elapsed < timeout
        assert wait <= max(1, math.ceil(timeout - elapsed))
    else:
        assert outcome == "failed" and elapsed >= timeout
