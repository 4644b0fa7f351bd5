"""What each state of the state machine does (docs/engine.md is the contract).

A test outcome never raises: a failed action or expectation is a failed step,
recorded with its reason. Only a bug, a platform fault or an unusable setup
(missing secret, unreadable scenario) raises, and the Catch leads to Cleanup.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from itest.lambdas import cleanup_intent, cleanups, deadlines, listeners, secrets
from itest.lambdas.actions.registry import RunScope, get_action, run_action
from itest.lambdas.conditions import skip_reason
from itest.lambdas.errors import (
    ActionError,
    ItestError,
    SecretError,
    StateError,
    TemplateError,
    TransientError,
)
from itest.lambdas.expressions import describe_error, render, render_vars, search
from itest.lambdas.log import log_event
from itest.lambdas.masking import clip
from itest.lambdas.matchers import Mismatch, evaluate, holds, show
from itest.lambdas.results import store
from itest.lambdas.results.records import (
    CleanupEntry,
    RunContext,
    RunRecord,
    StepRecord,
    never_ran,
    step_record,
)
from itest.lambdas.scenario.models import CleanupAction, Scenario, Step
from itest.lambdas.scenario_store import (
    ScenarioRef,
    has_nothing_for,
    load,
    pin,
    scenario_ref,
)
from itest.lambdas.statuses import Outcome, RunStatus, StepStatus
from itest.lambdas.template_context import StartContext, StepContext
from itest.lambdas.timestamps import iso
from jmespath.exceptions import JMESPathError

clock = time.time  # the one clock; tests replace it to drive retry windows

REASON_LIMIT = 1000


class StepRef(TypedDict):
    index: int
    name: str


class PreparedRun(TypedDict):
    run_id: str
    scenario: ScenarioRef
    steps: list[StepRef]
    deadline: float


class IterationState(TypedDict, total=False):
    """The Map iteration's state; Action returns it with the last four updated."""

    run_id: str
    scenario: ScenarioRef
    deadline: float
    index: int
    name: str
    attempt: int
    outcome: Outcome
    wait_seconds: int
    reason: str | None  # the Fail state's cause when failed
    started_at: float  # epoch seconds the first attempt's action started
    spent_ms: float  # the step's own time so far: its attempts' actions and waits
    engine_ms: float  # the handler's reads before each action, summed


class Verdict(TypedDict):
    run_id: str
    scenario: str | None
    status: RunStatus  # a final one
    reason: str | None


def prepare(event: dict[str, Any]) -> PreparedRun:
    """Load and validate the scenario, render vars, start the run record.

    Raises:
        StateError, ScenarioError, TemplateError: the run cannot start.
    """
    run_id = _field(event, "run_id", str)
    payload = event.get("input") or {}
    scenario, ref = pin(scenario_ref(payload.get("scenario")))
    overrides = payload.get("vars") or {}
    if not isinstance(overrides, dict):
        raise StateError(f'"vars" must be a mapping of overrides, got {overrides!r}')
    now = clock()
    vars = render_vars(scenario.vars, overrides, run_id=run_id, now=iso(now))
    store.write_run(
        run_id,
        scenario=scenario.name,
        steps=scenario.step_names,
        vars=vars,
        execution_arn=event.get("execution_arn"),
        started_at=iso(now),
        scenario_ref=ref,
    )
    # after the run record: whatever fails from here on, Cleanup removes the listeners
    start = StartContext(run_id=run_id, vars=vars, now=iso(now))
    for name, spec in _listener_specs(scenario, start):
        listeners.create(run_id, name, spec)
    log_event("run.prepared", run_id=run_id, scenario=scenario.name, steps=len(scenario.steps))
    return {
        "run_id": run_id,
        "scenario": ref,
        "steps": [{"index": i, "name": name} for i, name in enumerate(scenario.step_names)],
        "deadline": now + _bounded_timeout(scenario.timeout_seconds),
    }


@dataclass
class Attempt:
    """What one run of a step's action gave."""

    result: Any = None
    mismatches: list[Mismatch] = field(default_factory=list)
    captures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retryable: bool = True
    stopped: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches


def action(event: dict[str, Any]) -> IterationState:
    """Run one attempt of one step and decide: passed, retry (after a wait) or failed.

    The attempt is recorded as started before its action runs; an attempt that was
    started already (the same event delivered again) is not run twice. A step after
    one that did not pass is refused.

    Raises:
        StateError: the iteration state does not match the scenario.
        SecretError: a declared secret cannot be read.
        TransientError: the results table or bucket could not be reached.
    """
    begun = clock()
    state: IterationState = dict(event)  # type: ignore[assignment]
    run_id = _field(state, "run_id", str)
    index = _field(state, "index", int)
    attempt = int(state.get("attempt") or 0) + 1
    scenario = load(scenario_ref(state.get("scenario")))
    step = _step_at(scenario, index, state.get("name"))
    spec = get_action(step.action)
    earlier = _read_earlier(run_id, scenario, index, everything=spec.expect == "none")
    now = clock()
    if (refusal := _refusal(scenario, index, earlier)) is not None:
        log_event("step.refused", run_id=run_id, index=index, step=step.name, reason=refusal)
        return _outcome(state, attempt, Outcome.FAILED, 1, refusal)
    secret = secrets.resolve(scenario.secrets)
    carried: IterationState = state if attempt > 1 else {}  # from the previous attempts
    first = float(carried.get("started_at") or now)
    key = attempt_id(run_id, index, attempt)
    context = run_context(run_id, secret, now, earlier, attempt_id=key)
    if attempt == 1 and step.skip_if and (skipped := skip_step(state, step, context)):
        return skipped
    claimed = store.claim_attempt(
        run_id, index=index, name=step.name, action=step.action, attempt=attempt,
        started_at=iso(first),
    )  # fmt: skip
    if claimed is not None:
        return _redelivered(run_id, state, step, attempt, claimed)
    scope = RunScope(
        run_id=run_id,
        run_started=earlier["started_at"],
        listeners={name: listener.kind for name, listener in scenario.listeners.items()},
        mask=lambda value: secrets.mask(value, secret.values()),
    )
    acting = clock()  # after the claim: its write is the engine's, not the step's
    tried = attempt_step(step, context, scope, deadlines.budget(now, state.get("deadline")))
    ended = clock()
    _bound_captures(tried, earlier["captured_bytes"])
    spent_ms = float(carried.get("spent_ms") or 0) + (ended - acting) * 1000
    engine_ms = float(carried.get("engine_ms") or 0) + (acting - begun) * 1000
    if spec.waits:
        outcome, wait = decide_wait(tried, attempt=attempt, now=now, deadline=state.get("deadline"))
    else:
        outcome, wait = decide(
            step, tried, attempt=attempt, first=first, now=now, deadline=state.get("deadline")
        )
    record = step_record(
        index, step.name, _STEP_STATUS.get(outcome, StepStatus.FAILED),
        action=step.action, attempts=1 if spec.waits else attempt,
        started_at=iso(first), ended_at=iso(ended),
        duration_ms=round(spent_ms), engine_ms=round(engine_ms),
        captures=tried.captures, result=tried.result, mismatches=tried.mismatches,
        error=tried.error,
    )  # fmt: skip
    record = secrets.mask(record, secret.values())
    _record_outcome(run_id, record, attempt)
    if outcome == Outcome.PASSED and record["captures"]:
        store.remember_captures(run_id, index, record["captures"])
    if outcome == Outcome.RETRY and spec.waits:
        reason: str | None = f"step {step.name!r} waits {wait} s (a Wait state)"
    else:
        reason = None if outcome == Outcome.PASSED else step_reason(record, attempt=attempt)
    log_event(
        "step",
        run_id=run_id,
        index=index,
        step=step.name,
        attempt=attempt,
        outcome=outcome,
        reason=reason,
    )
    waited_ms = wait * 1000 if outcome == Outcome.RETRY else 0
    carry: IterationState = {
        "started_at": first, "spent_ms": spent_ms + waited_ms, "engine_ms": engine_ms
    }  # fmt: skip
    return _outcome({**state, **carry}, attempt, outcome, wait, reason)


def _read_earlier(
    run_id: str, scenario: Scenario, index: int, *, everything: bool
) -> RunContext:
    """What step ``index`` sees of the run, in the same few reads whatever the index:
    the run record (vars, start, the captures of earlier steps that capture) and the
    records of the steps its templates name and of the step before it (a step after
    one that did not pass is refused). ``everything``: every earlier record."""
    named = None if everything else scenario.steps_read_by(index)
    if named is not None and index > 0:
        named = sorted({*named, index - 1})
    return store.read_context(run_id, below=index, steps=named)


def _record_outcome(run_id: str, record: StepRecord, attempt: int) -> None:
    """Write an attempt's outcome, waiting out a throttled table while the Lambda has
    time: once the action ran, a retried invocation would refuse to run it again.

    Raises:
        TransientError: the table stayed unavailable.
    """
    for wait in (1, 2, 4):
        try:
            return store.write_step(run_id, record, attempt_started=attempt)
        except TransientError:
            left = deadlines.lambda_left(time.time())
            if left is not None and left < wait:
                raise
            time.sleep(wait)
    return store.write_step(run_id, record, attempt_started=attempt)


def attempt_id(run_id: str, index: int, attempt: int) -> str:
    """``{{ attempt_id }}``: the same for a redelivered attempt, new for the next one,
    so a system under test can use it as an idempotency key."""
    return f"{run_id}:{index}:{attempt}"


_STEP_STATUS = {Outcome.PASSED: StepStatus.PASSED, Outcome.RETRY: StepStatus.PENDING}
"""The step record's status after an attempt with this outcome (else failed)."""


def _outcome(
    state: IterationState, attempt: int, outcome: Outcome, wait: int, reason: str | None
) -> IterationState:
    return {**state, "attempt": attempt, "outcome": outcome, "wait_seconds": wait, "reason": reason}


def _refusal(scenario: Scenario, index: int, earlier: RunContext) -> str | None:
    """Why step ``index`` must not run: the run was settled already (its cleanup ran:
    a redriven or late iteration would leave data nobody cleans up), or the step
    before it did not pass (an engine that hands out a later Map item after a failure)."""
    if (status := earlier.get("run_status", RunStatus.RUNNING)) != RunStatus.RUNNING:
        return (
            f"step {scenario.steps[index].name!r} not run: the run has ended ({status}) and "
            "was cleaned up; start a new execution to run it again"
        )
    if index == 0:
        return None
    before = scenario.steps[index - 1].name
    status = (earlier["steps"].get(before) or {}).get("status", "not run")
    # skipped: by its skip_if (a step not run has none)
    if status in (StepStatus.PASSED, StepStatus.SKIPPED):
        return None
    return _cut(
        f"step {scenario.steps[index].name!r} not run: it follows step {before!r}, "
        f"which {'has not run' if status == 'not run' else status}"
    )


def _redelivered(
    run_id: str, state: IterationState, step: Step, attempt: int, record: StepRecord
) -> IterationState:
    """The outcome of an attempt that was already started: the one recorded if it
    finished, else a failed step (its action may have had effects; running it again
    could repeat them)."""
    log_event("step.redelivered", run_id=run_id, step=step.name, attempt=attempt)
    finished = record["status"] in (StepStatus.PASSED, StepStatus.FAILED, StepStatus.PENDING) and (
        record["attempts"] >= attempt or get_action(step.action).waits
    )
    if finished and record["status"] == StepStatus.PASSED:
        if record["captures"]:  # the first delivery may have ended before it kept them
            store.remember_captures(run_id, record["index"], record["captures"])
        return _outcome(state, attempt, Outcome.PASSED, 1, None)
    if finished and record["status"] == StepStatus.PENDING:
        return _outcome(state, attempt, Outcome.RETRY, 1, step_reason(record, attempt=attempt))
    if not finished:
        record = {
            **record,
            "status": StepStatus.FAILED,
            "attempts": attempt,
            "ended_at": iso(clock()),
            "error": (
                f"attempt {attempt} was delivered again after it had started (the first "
                "delivery crashed or timed out mid-action); not run twice"
            ),
        }
        store.write_step(run_id, record, attempt_started=attempt)
    return _outcome(state, attempt, Outcome.FAILED, 1, step_reason(record, attempt=attempt))


def skip_step(
    state: IterationState, step: Step, context: StepContext
) -> IterationState | None:
    """Record the step ``skipped`` with the reason when its ``skip_if`` holds (outcome
    ``skipped``: the state machine goes on, and the step's cleanup is never owed), or
    ``failed`` when ``skip_if`` cannot be evaluated. None when the step runs."""
    try:
        reason, error = skip_reason(step.skip_if, context), None
    except TemplateError as exc:
        reason, error = None, f"skip_if: {exc}"
    if reason is None and error is None:
        return None
    now = iso(clock())
    status = StepStatus.FAILED if error else StepStatus.SKIPPED
    record = step_record(
        state["index"], step.name, status, action=step.action, attempts=0 if reason else 1,
        started_at=now, ended_at=now, duration_ms=0, error=error, reason=reason,
    )  # fmt: skip
    record = secrets.mask(record, context["secret"].values())
    store.write_step(state["run_id"], record)
    why = record["reason"] or step_reason(record)
    log_event("step", run_id=state["run_id"], index=state["index"], step=step.name,
              attempt=1, outcome=status, reason=why)  # fmt: skip
    outcome = Outcome.FAILED if error else Outcome.SKIPPED
    return {**state, "attempt": 1, "outcome": outcome, "wait_seconds": 1, "reason": why}


def run_context(
    run_id: str,
    secret: dict[str, str],
    now: float,
    earlier: RunContext,
    *,
    attempt_id: str | None = None,
) -> StepContext:
    """What a step's templates see (``attempt_id`` is null outside a step's attempt)."""
    return {
        "run_id": run_id,
        "attempt_id": attempt_id,
        "vars": earlier["vars"],
        "secret": secret,
        "steps": earlier["steps"],
        "now": iso(now),
    }


def attempt_step(
    step: Step,
    context: StepContext,
    scope: RunScope | None = None,
    limit: deadlines.Budget | None = None,
) -> Attempt:
    """Render ``with``, run the action (cut off at ``limit``), check ``expect`` (then
    ``stop_if``), capture."""
    tried = Attempt()
    mode = get_action(step.action).expect
    limit = limit or deadlines.Budget(float("inf"), "none")
    try:
        params = render(step.with_, context)
        result = deadlines.run_within(limit, lambda: run_action(step.action, params, scope))
        if mode == "any":
            _first_match(step, result, context, tried)
        elif mode == "none":
            _no_match(step, result, context, tried)
        else:
            tried.result = result
            tried.mismatches = evaluate(step.expect, result, context)
        if tried.mismatches and not tried.stopped:
            stop = next((e for e in step.stop_if if holds(e, tried.result, context)), None)
            if stop is not None:
                tried.stopped = True
                actual = show(search(stop.path, tried.result))
                tried.error = (
                    f"stop_if holds: {stop.path} is {actual} ({_describe(stop.matchers())})"
                )
        if tried.passed:
            tried.captures, tried.error = capture(step, tried.result)
            size = len(json.dumps(tried.captures, default=str).encode())
            if size > store.CAPTURE_LIMIT:
                tried.captures, tried.retryable = {}, False
                tried.error = (
                    f"the captures of this step are {size / 1024:.0f} KiB; at most "
                    f"{store.CAPTURE_LIMIT // 1024} KiB per step are kept (in the results "
                    "table): capture a smaller part of the result"
                )
    except TemplateError as exc:
        tried.error, tried.retryable = str(exc), False
    except ActionError as exc:
        tried.error, tried.retryable = str(exc), exc.retryable
    except JMESPathError as exc:
        tried.error = f"capture failed: {describe_error(exc)}"
    except deadlines.OutOfTime as exc:
        tried.error = str(exc)
    return tried


def _first_match(
    step: Step, result: dict[str, Any], context: StepContext, tried: Attempt
) -> None:
    """``expect`` over each candidate (oldest first): the first meeting all of it is the
    result. Else the closest one's mismatches, or a stop when one meets ``stop_if``."""
    candidates = result.pop("candidates")
    if not candidates:
        tried.result, tried.error = result, "no message captured yet"
        return
    closest: tuple[Any, list[Mismatch]] | None = None
    for candidate in candidates:
        mismatches = evaluate(step.expect, candidate, context)
        if not mismatches:
            tried.result = candidate
            return
        if closest is None or len(mismatches) <= len(closest[1]):
            closest = (candidate, mismatches)
    assert closest is not None
    tried.result = {**result, "closest": closest[0]}
    note = f" (the closest of {len(candidates)} captured messages)"
    tried.mismatches = [{**m, "message": m["message"] + note} for m in closest[1]]
    for candidate in candidates:
        stop = next((e for e in step.stop_if if holds(e, candidate, context)), None)
        if stop is not None:
            tried.stopped, tried.result = True, candidate
            actual = show(search(stop.path, candidate))
            tried.error = f"stop_if holds: {stop.path} is {actual} ({_describe(stop.matchers())})"
            return


def _no_match(step: Step, result: dict[str, Any], context: StepContext, tried: Attempt) -> None:
    """``expect`` describes what must not be seen: a candidate meeting all of it (any
    candidate when there is no ``expect``) fails the step, naming it, unless it is the
    result of an earlier step (received on purpose: "no *second* receipt")."""
    received = [step["result"] for step in context["steps"].values()]
    candidates = [c for c in result.pop("candidates") if c not in received]
    tried.result = result
    offending = next((c for c in candidates if not evaluate(step.expect, c, context)), None)
    if offending is not None:
        tried.result = {**result, "offending": offending}
        tried.error = f"found what must not arrive: {show(offending, 500)}"
        tried.retryable = False


def capture(step: Step, result: Any) -> tuple[dict[str, Any], str | None]:
    """The step's captures, and the error when one selected nothing without being
    ``optional`` (a typo must not store null and let later checks pass on it). The
    captures that did select something are kept: the step's cleanup may need them."""
    captured, empty = {}, []
    for name, spec in step.capture.items():
        value = search(spec.path, result)
        if value is None and not spec.optional:
            empty.append(f"capture {name!r}: {spec.path} selected nothing")
        else:
            captured[name] = value
    if not empty:
        return captured, None
    return captured, "; ".join(empty) + " (`{path: ..., optional: true}` allows that)"


def _bound_captures(tried: Attempt, captured_bytes: int) -> None:
    """All steps' captures together stay under ``CAPTURES_LIMIT`` (the run record
    keeps them): a step that would pass it fails, not retried."""
    if not tried.captures or not tried.passed:
        return
    size = len(json.dumps(tried.captures, default=str).encode())
    if captured_bytes + size > store.CAPTURES_LIMIT:
        tried.captures, tried.retryable = {}, False
        tried.error = (
            f"the run's captures would reach {(captured_bytes + size) / 1024:.0f} KiB; at most "
            f"{store.CAPTURES_LIMIT // 1024} KiB for all steps are kept (on the run record): "
            "capture smaller parts of the results"
        )


def decide(
    step: Step, tried: Attempt, *, attempt: int, first: float, now: float, deadline: float | None
) -> tuple[Outcome, int]:
    """``(outcome, wait_seconds)``: retry while ``retry`` allows and time remains.

    The wait is ``interval * backoff^(attempt-1)`` rounded up to whole seconds
    (>= 1), cut to what is left of the retry window and of the run.
    """
    if tried.passed:
        return Outcome.PASSED, 1
    retry = step.retry
    if retry is None or tried.stopped or not tried.retryable:
        return Outcome.FAILED, 1
    remaining = first + retry.timeout_seconds - now
    if deadline is not None:
        remaining = min(remaining, float(deadline) - now)
    if remaining <= 0:
        return Outcome.FAILED, 1
    wait = math.ceil(retry.interval_seconds * retry.backoff ** (attempt - 1))
    return Outcome.RETRY, max(1, min(wait, math.ceil(remaining)))


def decide_wait(
    tried: Attempt, *, attempt: int, now: float, deadline: float | None
) -> tuple[Outcome, int]:
    """A ``wait`` step is a Wait state: its first attempt asks the state machine to
    wait ``seconds`` (outcome ``retry``), the second one passes. A wait that would
    outlast the run fails at once rather than be cut short silently."""
    if not tried.passed or attempt > 1:
        return (Outcome.PASSED, 1) if tried.passed else (Outcome.FAILED, 1)
    seconds = int(tried.result["seconds"])
    if deadline is not None and now + seconds > float(deadline):
        left = max(0, math.floor(float(deadline) - now))
        tried.error = f"a wait of {seconds} s would outlast the run ({left} s left of its timeout)"
        return Outcome.FAILED, 1
    return Outcome.RETRY, max(1, seconds)


def step_reason(record: StepRecord, *, attempt: int = 1) -> str:
    """``step 'x' failed: <path>: expected .., got ..`` (the first mismatch or the error)."""
    if record["error"]:
        detail = record["error"]
    elif record["mismatches"]:
        detail = record["mismatches"][0]["message"]
        if len(record["mismatches"]) > 1:
            detail += f" (and {len(record['mismatches']) - 1} more)"
    else:
        detail = f"status {record['status']}"
    verb = "is still failing" if record["status"] == StepStatus.PENDING else "failed"
    tries = f" after {attempt} attempts" if attempt > 1 else ""
    return _cut(f"step {record['name']!r} {verb}{tries}: {detail}")


def assert_(event: dict[str, Any]) -> dict[str, Any]:
    """Evaluate ``assertions`` over ``{run_id, vars, steps}``; write the assert record
    (a scenario without assertions reads nothing, itself included).

    Raises:
        SecretError: a declared secret cannot be read.
    """
    run_id = _field(event, "run_id", str)
    ref = scenario_ref(event.get("scenario"))
    # a scenario without assertions (Prepare said so) is not read
    scenario = None if has_nothing_for(ref, "assertions") else load(ref)
    secret: dict[str, str] = {}
    mismatches: list[Mismatch] = []
    error = None
    if scenario is not None and scenario.assertions:
        secret = secrets.resolve(scenario.secrets)
        context = run_context(run_id, secret, clock(), store.read_context(run_id))
        data = {"run_id": run_id, "vars": context["vars"], "steps": context["steps"]}
        try:
            mismatches = evaluate(scenario.assertions, data, context)
        except TemplateError as exc:
            error = str(exc)
    status = StepStatus.FAILED if mismatches or error else StepStatus.PASSED
    store.write_assert(
        run_id,
        status=status,
        mismatches=secrets.mask(mismatches, secret.values()),
        error=secrets.mask(error, secret.values()),
    )
    log_event("assert", run_id=run_id, status=status, mismatches=len(mismatches))
    return {"status": status}


def cleanup(event: dict[str, Any]) -> Verdict:
    """:func:`finish`'s verdict."""
    return finish(event)[0]


def finish(event: dict[str, Any]) -> tuple[Verdict, bool]:
    """Run every cleanup (best effort, at most once per run), then settle and record
    the run's status. Also the target of the rule on the execution's status changes
    (an EventBridge event): a stopped or timed-out execution is cleaned up too.

    Never raises for a failed cleanup, nor for a scenario it cannot load: the
    verdict must still be written. Returns the verdict and whether this invocation
    settled it (False: an earlier one did).

    Raises:
        CleanupUnfinished: cleanups are left and this invocation has no time for
            them (the next invocation carries on).
    """
    if (ended := execution_end(event)) is not None:
        event = ended
    run_id = _field(event, "run_id", str)
    state = event.get("state") if isinstance(event.get("state"), dict) else {}
    run = store.read_run(run_id)
    if run is not None and run["status"] != RunStatus.RUNNING:  # settled by whoever came first
        return _settled_before(run)
    scenario, problem = None, None
    try:
        ref = scenario_ref(state.get("scenario") or (run or {}).get("scenario_ref"))
        # nothing to clean up (Prepare said so): the run record says all the verdict needs
        if run is None or not has_nothing_for(ref, "cleanup"):
            scenario = load(ref)
    except Exception as exc:  # the verdict must still be written
        problem = _error_text(exc)
    entries: list[CleanupEntry] = []
    secret: dict[str, str] = {}
    if problem is None and run is not None:  # no run record: nothing ran
        todo: cleanups.Todo = []
        if scenario is not None:
            secret = _secrets_for_cleanup(scenario)
            context = run_context(run_id, secret, clock(), store.context_of(run))
            todo = cleanup_todo(scenario, run, context, secret)
        done = cleanups.run_once(run_id, todo)
        if done is None:  # another invocation cleaned up and settled the run
            finished = store.read_run(run_id)
            return _verdict_of(finished or run), False
        entries = done
        failed = any(_fails_run(e) for e in entries)
        status = StepStatus.FAILED if failed else StepStatus.PASSED
        store.write_cleanup(run_id, status=status, actions=entries)
    verdict, reason = settle(run, state.get("error"), problem)
    if verdict == RunStatus.PASSED and any(_fails_run(e) for e in entries):
        verdict = RunStatus.FAILED  # a red cleanup is a red run: the test data may be left behind
    reason = _with_cleanup_note(reason, entries)
    reason = secrets.mask(reason, secret.values())
    name = scenario.name if scenario else (run or {}).get("scenario")
    settled = store.finish_run(
        run_id,
        scenario=name,
        status=verdict,
        reason=reason,
        ended_at=iso(clock()),
        steps=scenario.step_names if scenario else None,
    )
    if not settled and (finished := store.read_run(run_id)) is not None:
        return _settled_before(finished)  # by another invocation, just now: its verdict stands
    log_event("run.finished", run_id=run_id, scenario=name, status=verdict, reason=reason)
    return {"run_id": run_id, "scenario": name, "status": verdict, "reason": reason}, True


ENDS = {
    "ABORTED": ("States.Aborted", "the execution was stopped (StopExecution)"),
    "TIMED_OUT": ("States.Timeout", "the execution timed out (the state machine's timeout)"),
}


def execution_end(event: dict[str, Any]) -> dict[str, Any] | None:
    """A Step Functions status-change event (EventBridge) as a Cleanup payload; None
    for anything else. The run is the execution's name; what it ran and how it ended
    come from the run record and the event."""
    if event.get("source") != "aws.states" or not isinstance(event.get("detail"), dict):
        return None
    detail = event["detail"]
    status = str(detail.get("status"))
    error, cause = ENDS.get(status, (detail.get("error") or status, detail.get("cause")))
    return {
        "run_id": detail.get("name"),
        "execution_arn": detail.get("executionArn"),
        "state": {"error": {"Error": error, "Cause": cause or ""}},
    }


def _settled_before(run: RunRecord) -> tuple[Verdict, bool]:
    log_event("run.already_finished", run_id=run["run_id"], status=run["status"])
    return _verdict_of(run), False


def _verdict_of(run: RunRecord) -> Verdict:
    return {
        "run_id": run["run_id"],
        "scenario": run["scenario"],
        "status": RunStatus(run["status"]),
        "reason": run["reason"],
    }


def _secrets_for_cleanup(scenario: Scenario) -> dict[str, str]:
    """Secrets if readable; else none, and cleanups using one fail on their own."""
    try:
        return secrets.resolve(scenario.secrets)
    except SecretError as exc:
        log_event("cleanup.secrets_unavailable", error=str(exc))
        return {}


def _fails_run(entry: CleanupEntry) -> bool:
    return entry["status"] == StepStatus.FAILED and not entry.get("allow_failure")


def _with_cleanup_note(reason: str | None, entries: list[CleanupEntry]) -> str | None:
    """A failed cleanup never hides the first failure: it is noted after it (and is
    the whole reason of a run whose test passed)."""
    failed = [e for e in entries if e["status"] == StepStatus.FAILED]
    if not failed:
        return reason
    note = (
        f"cleanup: {len(failed)} of {len(entries)} failed, "
        f"first {failed[0]['name']!r}: {failed[0]['error']}"
    )
    return _cut(f"{reason}; {note}" if reason else note)


def cleanup_todo(
    scenario: Scenario, run: RunRecord, context: StepContext, secret: dict[str, str]
) -> cleanups.Todo:
    """Every cleanup that applies: the steps' that ran (newest first), the scenario's,
    then the run's listeners (a spec that cannot render is kept as written, so its queue,
    named from the run, still goes)."""
    ran = {r["index"] for r in run["steps"] if r["status"] != StepStatus.SKIPPED}
    specs: list[tuple[str, CleanupAction]] = [
        (step.name, step.cleanup)
        for index, step in reversed(list(enumerate(scenario.steps)))
        if step.cleanup is not None and index in ran
    ]
    specs += [(f"cleanup[{i}]", spec) for i, spec in enumerate(scenario.cleanup)]
    captured_by = {name: step.name for step in scenario.steps for name in step.capture}

    def bounded(
        name: str, action: str, call: Callable[[], Any], spec: CleanupAction | None = None
    ) -> cleanups.Runner:
        def runner(limit: deadlines.Budget) -> CleanupEntry:
            skipped = spec and cleanup_intent.skip_reason(spec, context, captured_by)
            if skipped:  # its step failed before the capture it needs: nothing to clean up
                log_event("cleanup.skipped", name=name, action=action, reason=skipped)
                entry: CleanupEntry = {
                    "name": name, "action": action, "status": StepStatus.SKIPPED, "error": skipped
                }
            else:
                entry = run_cleanup(name, action, call, limit)
            if spec is not None and spec.allow_failure:
                entry["allow_failure"] = True
            return secrets.mask(entry, secret.values())

        return runner

    def act(spec: CleanupAction) -> Callable[[], Any]:
        """The action held to its intent: ``expect`` (http: a status < 400), ``retry``."""
        return lambda: cleanup_intent.run_with_intent(
            spec, context, lambda: run_action(spec.action, render(spec.with_, context))
        )

    def remove(name: str, spec: dict[str, Any]) -> Callable[[], Any]:
        return lambda: listeners.remove(context["run_id"], name, spec)

    todo = [
        (name, spec.action, bounded(name, spec.action, act(spec), spec)) for name, spec in specs
    ]
    for name, spec in _listener_specs(scenario, context, strict=False):
        entry, action = f"listeners.{name}", "listener.remove"
        todo.append((entry, action, bounded(entry, action, remove(name, spec))))
    return todo


def run_cleanup(
    name: str, action: str, call: Callable[[], Any], limit: deadlines.Budget
) -> CleanupEntry:
    """One cleanup, cut off at ``limit``; any failure is recorded, never raised."""
    try:
        deadlines.run_within(limit, call)
    except Exception as exc:  # best effort: the next cleanup must run
        log_event("cleanup.failed", name=name, action=action, error=_error_text(exc))
        entry: CleanupEntry = {"name": name, "action": action, "status": StepStatus.FAILED,
                               "error": _error_text(exc)}  # fmt: skip
        return entry
    return {"name": name, "action": action, "status": StepStatus.PASSED, "error": None}


def _listener_specs(
    scenario: Scenario, context: StartContext | StepContext, *, strict: bool = True
) -> list[tuple[str, dict[str, Any]]]:
    """Each listener with its templates rendered. ``strict=False`` (cleanup): a spec that
    cannot render is kept as written, so its queue (named from the run) still goes.

    Raises:
        TemplateError: ``strict`` and a template cannot render.
    """
    specs = []
    for name, listener in scenario.listeners.items():
        spec = listener.model_dump(mode="json", exclude_none=True)
        try:
            spec = render(spec, context)
        except TemplateError:
            if strict:
                raise
        specs.append((name, spec))
    return specs


def settle(
    run: RunRecord | None, failure: Any, problem: str | None
) -> tuple[RunStatus, str | None]:
    """The run's status and reason: ``failed`` for a test failure (a failed step or
    assertion), ``error`` for anything that kept the test from running (``problem``:
    the scenario could not be read), else ``passed``."""
    steps = run["steps"] if run else []
    failed = next((r for r in steps if r["status"] == StepStatus.FAILED), None)
    if failed is not None:
        return RunStatus.FAILED, step_reason(failed, attempt=failed["attempts"])
    if failure:
        return RunStatus.ERROR, describe_failure(failure)
    if problem is not None or run is None:
        return RunStatus.ERROR, problem or "the run record is missing (Prepare did not finish)"
    unfinished = next(
        (
            r
            for r in steps
            if r["status"] not in (StepStatus.PASSED, StepStatus.SKIPPED) or never_ran(r)
        ),
        None,
    )
    if unfinished is not None:
        name, status = unfinished["name"], unfinished["status"]
        return RunStatus.ERROR, f"step {name!r} did not finish ({status})"
    assertions = run["assertions"]
    if assertions is None:
        return RunStatus.ERROR, "assertions did not run"
    if assertions["error"]:
        return RunStatus.FAILED, f"assertions failed: {assertions['error']}"
    if assertions["mismatches"]:
        first = assertions["mismatches"][0]["message"]
        more = len(assertions["mismatches"]) - 1
        also = f" (and {more} more)" if more else ""
        return RunStatus.FAILED, f"assertion failed: {first}{also}"
    return RunStatus.PASSED, None


def describe_failure(failure: Any) -> str:
    """A Catch's ``{"Error", "Cause"}`` in one line; a Lambda error's Cause is JSON
    whose ``errorMessage`` is the useful part."""
    if not isinstance(failure, dict):
        return _cut(f"error: {failure}")
    error, cause = failure.get("Error", "Error"), failure.get("Cause") or ""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = parsed["errorMessage"]
    return _cut(f"{error}: {cause}" if cause else str(error))


def _describe(matchers: dict[str, Any]) -> str:
    return ", ".join(f"{name} {show(value)}" for name, value in matchers.items())


def _step_at(scenario: Scenario, index: int, name: Any) -> Step:
    if not 0 <= index < len(scenario.steps) or (
        name is not None and scenario.steps[index].name != name
    ):
        raise StateError(f"scenario {scenario.name!r} has no step {index} named {name!r}")
    return scenario.steps[index]


def _field(payload: Any, name: str, kind: type) -> Any:
    value = payload.get(name) if isinstance(payload, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise StateError(f"expected {name!r} ({kind.__name__}) in the payload, got {value!r}")
    return value


def _bounded_timeout(seconds: float) -> float:
    """A scenario's ``timeout_seconds``, cut to the stack's ``MAX_TIMEOUT_SECONDS``."""
    limit = float(os.environ.get("MAX_TIMEOUT_SECONDS") or 0)
    return min(seconds, limit) if limit > 0 else seconds


def _error_text(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ItestError) else f"{type(exc).__name__}: {exc}"


def _cut(text: str) -> str:
    return clip(text, REASON_LIMIT)
