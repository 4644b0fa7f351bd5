"""What a ``{{ ... }}`` template may name: the one definition that validation checks
templates against (lambdas/scenario/checks.py) and the engine builds
(lambdas/states.py, lambdas/expressions.render_vars), so the two cannot drift."""

from __future__ import annotations

from typing import Any, TypedDict


class StartContext(TypedDict):
    """What ``vars`` and ``listeners`` see, at Prepare (no step has run yet)."""

    run_id: str
    vars: dict[str, Any]
    now: str  # ISO-8601 Z


class StepContext(TypedDict):
    """What a step's ``with``/``expect``/``stop_if``, cleanups and ``assertions`` see."""

    run_id: str
    attempt_id: str | None  # null outside a step's attempt
    vars: dict[str, Any]
    secret: dict[str, str]  # the declared secrets only
    steps: dict[str, dict[str, Any]]  # earlier steps: status, captures, result, error
    now: str  # ISO-8601 Z


START_NAMES: tuple[str, ...] = tuple(StartContext.__annotations__)
STEP_NAMES: tuple[str, ...] = tuple(StepContext.__annotations__)
