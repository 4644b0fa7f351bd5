"""Lambda entry points (``lambdas.handlers.prepare`` etc.): adapt the signature, delegate.

Environment: ``RESULTS_TABLE`` (required), ``SCENARIO_BUCKET`` (default bucket
of scenario references), ``LOG_LEVEL`` (optional), and boto3's usual variables
(``AWS_REGION``, ``AWS_ENDPOINT_URL`` for the local stack).
"""

from __future__ import annotations

from typing import Any

from lambdas import run


def prepare(event: dict[str, Any], context: Any) -> run.PreparedRun:
    """Prepare state: validate the scenario, render vars, start the run record."""
    return run.prepare(event)


def action(event: dict[str, Any], context: Any) -> run.IterationState:
    """Action state: one attempt of one step; outcome passed | retry | failed."""
    return run.action(event)


def assert_(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Assert state: final assertions over the run context."""
    return run.assert_(event)


def cleanup(event: dict[str, Any], context: Any) -> run.Verdict:
    """Cleanup state: every cleanup attempted, then the run's verdict."""
    return run.cleanup(event)
