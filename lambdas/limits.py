"""The engine's limits, and the check that a scenario fits them before it runs.

Step Functions stops an execution at 25,000 history events and a state's
input or output at 256 KiB. A scenario's steps and retries decide how many
events it can produce, so validation bounds that number from the definition
(docs/engine.md) and rejects a scenario that could cross the limit, with the
numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from itest.lambdas.model import Scenario, Step

HISTORY_LIMIT_EVENTS = 25_000
HISTORY_RESERVE_EVENTS = 500
"""Kept free for what cannot be foreseen: a task retried after a transient Lambda error
adds TaskFailed, TaskScheduled and TaskStarted."""
SCENARIO_LIMIT_BYTES = 256 * 1024
"""A scenario file at most this big (it is uploaded to S3, but one this large is a mistake)."""
CLEANUP_RETRY_SECONDS = 60
"""All cleanups run in one Cleanup invocation (2 minutes): their retry windows together
must leave time for the actions themselves."""
MAX_STEPS = 300
"""Each finished Map iteration keeps its output (~600 bytes, the iteration state) until
the Map ends; 300 of them stay well inside the 256 KiB payload limit."""

# History events, counted from the state machine's definition (infra/workflow.py):
#   Task (lambda:invoke): TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded,
#                         TaskStateExited                                         = 5
#   Choice:  ChoiceStateEntered, ChoiceStateExited                                = 2
#   Wait:    WaitStateEntered, WaitStateExited                                    = 2
#   Succeed / Fail:  ...StateEntered, ...StateExited                              = 2
#   Map:     MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited  = 4
#            and per iteration MapIterationStarted, MapIterationSucceeded         = 2
EVENTS_FIXED = 1 + 5 + 4 + 5 + 5 + 2 + 2 + 1
"""ExecutionStarted, Prepare, the Map, Assert, Cleanup, Verdict (Choice), Passed or
Failed, ExecutionSucceeded or ExecutionFailed."""
EVENTS_PER_STEP = 2 + 5 + 2 + 2
"""The iteration's two events and its last attempt: Action, CheckOutcome, StepPassed
(or StepFailed)."""
EVENTS_PER_RETRY = 5 + 2 + 2
"""Every attempt before the last one: Action, CheckOutcome, Backoff (Wait)."""


@dataclass(frozen=True)
class HistoryEstimate:
    """The most history events a scenario can produce, and where they come from."""

    events: int
    retries: int  # Wait states entered, all steps together
    per_step: list[int]  # the most retries of each step on its own
    capped_by_timeout: bool  # `retries` is bounded by timeout_seconds, not by the steps

    @property
    def budget(self) -> int:
        return HISTORY_LIMIT_EVENTS - HISTORY_RESERVE_EVENTS


def max_retries(step: Step, run_seconds: float) -> int:
    """The most Wait states one step can go through.

    A ``wait``-like step (``wait``, ``listener.absent``) waits once. A polled
    step retries while its window (``retry.timeout_seconds``, cut to the run's) is open, each wait
    ``ceil(interval * backoff^k)`` seconds but at least 1 and at most what is
    left: the bound assumes the action itself takes no time.
    """
    if _waits(step):
        return 1
    if step.retry is None:
        return 0
    window = min(step.retry.timeout_seconds, run_seconds)
    elapsed, retries, interval = 0.0, 0, step.retry.interval_seconds
    while elapsed < window:
        wait = max(1, min(math.ceil(interval), math.ceil(window - elapsed)))
        if step.retry.backoff == 1 or retries > 10_000:
            # the waits no longer grow (or barely): count the rest at this one's length
            return retries + math.ceil((window - elapsed) / max(1, math.ceil(interval)))
        elapsed += wait
        retries += 1
        interval = min(interval * step.retry.backoff, window + 1)
    return retries


def _waits(step: Step) -> bool:
    """A ``wait``-like step (``wait``, the absence checks): one Wait state, its window."""
    from itest.lambdas.actions import get_action

    return get_action(step.action).waits


def estimate_history(scenario: Scenario) -> HistoryEstimate:
    """An upper bound of the history events of one execution of ``scenario``.

    Every retry waits at least a second and the run ends at its
    ``timeout_seconds``, so all steps together retry at most that many times
    (a ``wait`` step's wait counts its own seconds).
    """
    per_step = [max_retries(step, scenario.timeout_seconds) for step in scenario.steps]
    total = sum(per_step)
    by_time = scenario.timeout_seconds + sum(1 for s in scenario.steps if _waits(s))
    retries = min(total, by_time)
    events = EVENTS_FIXED + EVENTS_PER_STEP * len(scenario.steps) + EVENTS_PER_RETRY * retries
    return HistoryEstimate(events, retries, per_step, capped_by_timeout=retries < total)
