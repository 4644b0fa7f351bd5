"""What a cleanup action must achieve, and when it cannot run at all.

A cleanup that "ran" is not a cleanup that worked: a DELETE answered 403
leaves the data behind. A cleanup action may say what success is (`expect`),
poll for things the service creates late (`retry`), and an `http` cleanup
without `expect` fails on a status >= 400. A cleanup that needs a name its
step never captured (the step failed first) is skipped, with that reason:
there is nothing it could delete.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from itest.lambdas.actions.registry import get_action
from itest.lambdas.errors import ActionError
from itest.lambdas.expressions import var_names
from itest.lambdas.matchers import evaluate

if TYPE_CHECKING:
    from itest.lambdas.scenario.models import CleanupAction

sleep = time.sleep  # tests replace it
clock = time.monotonic


class CleanupFailed(ActionError):
    """The cleanup's action answered, but not what its expectations (or its
    default for http) call success."""


def skip_reason(
    spec: CleanupAction, context: Mapping[str, Any], captured_by: Mapping[str, str]
) -> str | None:
    """Why the cleanup cannot run: a `vars.X` it needs was never set, because the
    step that captures it failed before its capture. None when it can run."""
    missing = [
        name for name in sorted(var_names(spec.with_))
        if name not in context["vars"] and name in captured_by
    ]
    if not missing:
        return None
    name = missing[0]
    return (
        f"vars.{name} was never captured (step {captured_by[name]!r} failed before its "
        "capture): nothing to clean up"
    )


def run_with_intent(
    spec: CleanupAction, context: Mapping[str, Any], call: Callable[[], Any]
) -> None:
    """Call the action until it meets its intent or `retry` gives up.

    Raises:
        CleanupFailed: the expectations never held (every mismatch said).
        ActionError: the action itself failed on the last attempt.
    """
    retry = spec.retry
    first = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            problem = _shortfall(spec, call(), context)
        except ActionError as exc:
            if retry is None or not exc.retryable:
                raise
            problem = str(exc)
        if problem is None:
            return
        if retry is None or (left := retry.timeout_seconds - (clock() - first)) <= 0:
            tries = f" after {attempt} attempts" if attempt > 1 else ""
            raise CleanupFailed(f"{problem}{tries}")
        wait = math.ceil(retry.interval_seconds * retry.backoff ** (attempt - 1))
        sleep(max(1, min(wait, math.ceil(left))))


def _shortfall(spec: CleanupAction, result: Any, context: Mapping[str, Any]) -> str | None:
    """What keeps `result` from being a success (None when it is one)."""
    if spec.expect:
        mismatches = evaluate(spec.expect, result, context)
        return "; ".join(m["message"] for m in mismatches) or None
    success = get_action(spec.action).success
    return success(result) if success is not None else None
