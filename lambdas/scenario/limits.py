"""The engine's limits, and the checks that a scenario fits them before it runs.

Step Functions stops an execution at 25,000 history events and a state's
input or output at 256 KiB. A scenario's steps and retries decide how many
events it can produce, so validation bounds that number from the definition
(docs/engine.md) and rejects a scenario that could cross the limit, with the
numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from itest.lambdas.actions.registry import find_action, get_action
from itest.lambdas.scenario.models import Scenario, Step
from itest.lambdas.validation import Loc

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
    """A step the registry says waits (``wait``, the absence checks): one Wait state."""
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


def bounds_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """The run's own bounds, checked on the raw data so that they are reported with
    the model's problems (values of the wrong type are the model's to report)."""
    problems: list[tuple[Loc, str]] = []
    timeout = _number(data.get("timeout_seconds", Scenario.model_fields["timeout_seconds"].default))
    raw_steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    if len(raw_steps) > MAX_STEPS:
        problems.append(
            (
                ("steps",),
                f"{len(raw_steps)} steps; a scenario may have at most {MAX_STEPS} "
                "(the state machine keeps every finished step's state in one 256 KiB payload)",
            )
        )
    for i, step in enumerate(raw_steps):
        if not isinstance(step, dict):
            continue
        retry = step.get("retry") if isinstance(step.get("retry"), dict) else {}
        window = _number(retry.get("timeout_seconds"))
        if timeout is not None and window is not None and window > timeout:
            problems.append(
                (
                    ("steps", i, "retry", "timeout_seconds"),
                    f"{window:g} s is longer than the scenario's "
                    f"timeout_seconds ({timeout:g}): the run would end first; shorten the retry "
                    "or raise the scenario's timeout_seconds",
                )
            )
        params = step.get("with") if isinstance(step.get("with"), dict) else {}
        action = find_action(step.get("action"))
        seconds = _number(params.get("seconds")) if action is not None and action.waits else None
        if timeout is not None and seconds is not None and seconds > timeout:
            problems.append(
                (
                    ("steps", i, "with", "seconds"),
                    f"a {step['action']} window of {seconds:g} s is longer than the "
                    f"scenario's timeout_seconds ({timeout:g})",
                )
            )
    cleanups: list[Loc] = [("steps", i, "cleanup") for i in range(len(raw_steps))]
    raw_cleanups = data.get("cleanup") if isinstance(data.get("cleanup"), list) else []
    problems += _cleanup_retry_problems(
        data, [*cleanups, *(("cleanup", i) for i in range(len(raw_cleanups)))]
    )
    return problems


def _cleanup_retry_problems(data: dict[str, Any], locs: list[Loc]) -> list[tuple[Loc, str]]:
    """All cleanups run in one Cleanup invocation: their retry windows must fit in it."""
    windows: list[tuple[Loc, float]] = []
    for loc in locs:
        spec: Any = data
        for part in loc:
            if isinstance(spec, dict):
                spec = spec.get(part)
            elif isinstance(spec, list) and isinstance(part, int) and part < len(spec):
                spec = spec[part]
            else:
                spec = None
        retry = spec.get("retry") if isinstance(spec, dict) else None
        window = _number(retry.get("timeout_seconds")) if isinstance(retry, dict) else None
        if window is not None:
            windows.append(((*loc, "retry"), window))
    total = sum(window for _, window in windows)
    if total <= CLEANUP_RETRY_SECONDS:
        return []
    return [(windows[0][0], (
        f"the cleanups' retry windows add up to {total:g} s; at most "
        f"{CLEANUP_RETRY_SECONDS} s (every cleanup runs within one Lambda "
        "invocation): shorten retry.timeout_seconds"
    ))]


def _number(value: Any) -> float | None:
    """A plain number from the raw data (None for anything else, e.g. a template)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def history_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """The most history events the valid scenario could produce, against the limit."""
    problems: list[tuple[Loc, str]] = []
    timeout = scenario.timeout_seconds
    estimate = estimate_history(scenario)
    if estimate.events > estimate.budget:
        worst = max(range(len(scenario.steps)), key=lambda i: estimate.per_step[i])
        step, count = scenario.steps[worst], len(scenario.steps)
        bound = (
            f"{estimate.retries:,} waits at most within timeout_seconds {timeout}"
            if estimate.capped_by_timeout
            else f"{estimate.retries:,} waits at most"
        )
        message = (
            f"this scenario could need {estimate.events:,} Step Functions history events "
            f"({count} step{'s' if count > 1 else ''}, {bound}: "
            f"{EVENTS_PER_RETRY} events per retry, {EVENTS_PER_STEP} per step, "
            f"{EVENTS_FIXED} per run); an execution stops at "
            f"{HISTORY_LIMIT_EVENTS:,} ({estimate.budget:,} usable). "
            f"Step {step.name!r} alone may retry {estimate.per_step[worst]:,} times: raise "
            "retry.interval_seconds or backoff, shorten retry.timeout_seconds, or split the "
            "scenario"
        )
        loc: Loc = ("steps", worst, "retry") if step.retry is not None else ("steps",)
        problems.append((loc, message))
    return problems

