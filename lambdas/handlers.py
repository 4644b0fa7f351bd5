"""Lambda entry points (``itest.lambdas.handlers.prepare`` etc.): adapt the signature, delegate.

Environment: ``RESULTS_TABLE`` (required), ``SCENARIO_BUCKET`` (default bucket
of scenario references), ``LOG_LEVEL`` (optional), ``MAX_TIMEOUT_SECONDS``
(Prepare: a scenario's ``timeout_seconds`` is cut to it), ``RESULTS_TTL_DAYS``
(run records expire), ``METRICS_NAMESPACE`` (Cleanup: per-scenario metrics),
``CLEANUP_ACTION_SECONDS`` (Cleanup: one cleanup action's time budget),
``LISTENER_PREFIX`` (names of the run's listener queues and rules),
and boto3's usual variables (``AWS_REGION``, ``AWS_ENDPOINT_URL`` for the local stack).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from itest.lambdas import deadlines, states
from itest.lambdas.log import (
    SCENARIO_DIMENSION,
    SCENARIO_DURATION,
    SCENARIO_FAILED,
    bind,
    emit_metrics,
)
from itest.lambdas.masking import forget, mask
from itest.lambdas.scenario_store import scenario_name
from itest.lambdas.statuses import RunStatus
from itest.lambdas.timestamps import epoch

Handler = TypeVar("Handler", bound=Callable[..., Any])


def _masked_errors(fn: Handler) -> Handler:
    """An error leaves the handler with its message masked: Lambda puts ``str(exc)``
    in the task's failure, hence in the execution history and the Catch's cause.
    The class (the error type ``Retry`` and ``Catch`` match on) stays."""

    @functools.wraps(fn)
    def handle(event: Any, context: Any) -> Any:
        try:
            return fn(event, context)
        except Exception as exc:
            text = str(exc)
            if mask(text) == text:
                raise
            exc.args = tuple(mask(a) for a in exc.args)
            if mask(str(exc)) == str(exc):
                raise
            # a message not built from args: the same error name, a masked message
            masked = type(type(exc).__name__, (Exception,), {})(mask(text))
            raise masked from None

    return handle  # type: ignore[return-value]


@_masked_errors
def prepare(event: dict[str, Any], context: Any) -> states.PreparedRun:
    """Prepare state: validate the scenario, render vars, start the run record."""
    _bind(event, event.get("input"), context)
    return states.prepare(event)


@_masked_errors
def action(event: dict[str, Any], context: Any) -> states.IterationState:
    """Action state: one attempt of one step; outcome passed | retry | failed."""
    _bind(event, event, context, step=event.get("name"), step_index=event.get("index"))
    return states.action(event)


@_masked_errors
def assert_(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Assert state: final assertions over the run context."""
    _bind(event, event, context)
    return states.assert_(event)


@_masked_errors
def cleanup(event: dict[str, Any], context: Any) -> states.Verdict:
    """Cleanup state (and the rule on the execution's end): every cleanup attempted
    once, then the run's verdict (and its metrics, once)."""
    state = event.get("state") if isinstance(event.get("state"), dict) else {}
    _bind(event, state, context)
    verdict, settled_now = states.finish(event)
    if settled_now:
        _run_metrics(verdict, event.get("started_at"))
    return verdict


def _bind(event: Any, holder: Any, context: Any, **fields: Any) -> None:
    """A new invocation: no secrets known yet, when it ends, and the fields every log
    line carries."""
    forget()
    deadlines.enter(context, now=states.clock())
    event = event if isinstance(event, dict) else {}
    bind(
        run_id=event.get("run_id"),
        execution_arn=event.get("execution_arn"),
        scenario=_scenario_name(holder),
        request_id=getattr(context, "aws_request_id", None),
        **fields,
    )


def _scenario_name(holder: Any) -> str | None:
    ref = holder.get("scenario") if isinstance(holder, dict) else None
    key = ref.get("key") if isinstance(ref, dict) else None
    return scenario_name(key) if isinstance(key, str) else None


def _run_metrics(verdict: states.Verdict, started_at: Any) -> None:
    """Duration and failure of the run, per scenario (dashboard: duration by scenario)."""
    namespace = os.environ.get("METRICS_NAMESPACE")
    if not namespace or not verdict.get("scenario"):
        return
    metrics: dict[str, tuple[float, str]] = {
        SCENARIO_FAILED: (0 if verdict["status"] == RunStatus.PASSED else 1, "Count")
    }
    if isinstance(started_at, str):
        try:
            started = epoch(started_at)
            metrics[SCENARIO_DURATION] = (round((time.time() - started) * 1000), "Milliseconds")
        except ValueError:
            pass
    emit_metrics(namespace, {SCENARIO_DIMENSION: str(verdict["scenario"])}, metrics)
