"""Cleanup at most once per run, whoever triggers it, each action within its budget.

Cleanup is owed by every end of a run: the state machine's Cleanup state (pass,
fail, error), a retry of it after its Lambda died, and the EventBridge rule on
the execution's status changes (stopped, timed out, failed). All of them call
:func:`run_once`: the invocation that claims the run's cleanup record runs the
actions, recording each one before and after it runs; another one waits while
the holder's lease lasts, takes over when the holder died (an action it was
running is recorded failed, never run twice), or finds the cleanup finished.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable

from itest.lambdas import deadlines
from itest.lambdas.errors import CleanupUnfinished
from itest.lambdas.log import log_event
from itest.lambdas.results import store
from itest.lambdas.results.records import CleanupClaim, CleanupEntry
from itest.lambdas.statuses import StepStatus

clock = time.time
sleep = time.sleep

ACTION_SECONDS = 30.0
"""Default time budget of one cleanup action (``CLEANUP_ACTION_SECONDS``), cut to the
Lambda's time left: one hanging cleanup cannot keep the others from running."""
NO_LAMBDA_LEASE_SECONDS = 900.0
"""The lease of an invocation that knows no end of its own (tests, scripts)."""
POLL_SECONDS = 1.0

Runner = Callable[[deadlines.Budget], CleanupEntry]
"""Runs one cleanup within a budget; records, never raises, a failure."""
Todo = list[tuple[str, str, Runner]]
"""(name, action, its runner) of each cleanup that applies, in order."""


def action_seconds() -> float:
    return float(os.environ.get("CLEANUP_ACTION_SECONDS") or ACTION_SECONDS)


def run_once(run_id: str, todo: Todo) -> list[CleanupEntry] | None:
    """Run the cleanups of ``run_id`` unless another invocation did or does.

    Returns every action's entry (passed or failed) once this invocation finished
    them, or None when another invocation finished the cleanup.

    Raises:
        CleanupUnfinished: no Lambda time left for the next action, or another
            invocation still holds the cleanup when this one must end (retried).
    """
    if not todo:  # nothing that could run twice: no claim, no lease (two calls saved)
        return []
    owner = uuid.uuid4().hex
    while True:
        now = clock()
        claim = store.claim_cleanup(run_id, owner=owner, now=now, lease_until=_lease_end(now))
        if claim["claimed"]:
            try:
                return _run_claimed(run_id, owner, todo, claim)
            except Exception:
                _release(run_id, owner)  # the next invocation need not wait out the lease
                raise
        if claim["status"] != StepStatus.RUNNING:
            log_event("cleanup.already_done", run_id=run_id, status=claim["status"])
            return None
        left = deadlines.lambda_left(now)
        if left is not None and left < min(claim["lease_until"] - now, POLL_SECONDS) + 1:
            raise CleanupUnfinished(
                f"cleanup of {run_id} is held by another invocation until its lease ends"
            )
        log_event("cleanup.waiting", run_id=run_id, lease_left=round(claim["lease_until"] - now))
        sleep(min(POLL_SECONDS, max(claim["lease_until"] - now, 0) + 0.1))


def _run_claimed(
    run_id: str, owner: str, todo: Todo, claim: CleanupClaim
) -> list[CleanupEntry]:
    entries = list(claim["actions"])
    done = {e["name"] for e in entries}
    for name, action, run in todo:
        if name in done:
            continue  # finished by an earlier holder
        if name == claim["current"]:  # an earlier holder died while running it
            entries.append(
                {
                    "name": name,
                    "action": action,
                    "status": StepStatus.FAILED,
                    "error": "did not finish: the cleanup invocation running it ended "
                    "(crashed or out of time); not run twice",
                }
            )
            log_event("cleanup.abandoned", run_id=run_id, name=name)
            continue
        limit = deadlines.budget(clock(), None, cap=action_seconds())
        if limit.seconds < 1:  # let a fresh invocation carry on where this one stops
            store.cleanup_progress(run_id, owner=owner, actions=entries, current=None)
            raise CleanupUnfinished(
                f"cleanup of {run_id}: {len(todo) - len(entries)} action(s) left and no "
                "Lambda time for them; the next invocation carries on"
            )
        store.cleanup_progress(run_id, owner=owner, actions=entries, current=name)
        entries.append(run(limit))
    store.cleanup_progress(run_id, owner=owner, actions=entries, current=None)
    return entries


def _release(run_id: str, owner: str) -> None:
    """Give up the lease (best effort: if this fails too, the lease runs out)."""
    try:
        store.cleanup_lease(run_id, owner=owner, lease_until=0)
    except Exception as exc:
        log_event("cleanup.release_failed", run_id=run_id, error=str(exc))


def _lease_end(now: float) -> float:
    """Until when this invocation may hold the cleanup: the end of its Lambda."""
    left = deadlines.lambda_left(now)
    if left is None:
        return now + NO_LAMBDA_LEASE_SECONDS
    return now + left + deadlines.RESERVE_SECONDS
