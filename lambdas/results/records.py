"""The shapes of a run's results as the handlers write them and the CLI reads them
(how they are stored: :mod:`itest.lambdas.results.store`)."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from itest.lambdas.matchers import Mismatch
from itest.lambdas.statuses import StepStatus


class StepRecord(TypedDict):
    """One step's latest attempt; ``status`` is passed | failed | pending, or skipped:
    by its ``skip_if`` (written, with the ``reason``), or (in ``store.read_run``, without
    a reason) a step that never ran after a failure."""

    index: int
    name: str
    action: str | None
    status: str
    attempts: int
    started_at: str | None
    ended_at: str | None
    duration_ms: int | None
    engine_ms: NotRequired[int | None]  # the Action handler's reads, not the step's time
    captures: dict[str, Any]
    result: Any
    mismatches: list[Mismatch]
    error: str | None
    result_ref: NotRequired[str | None]  # s3:// URI of the whole result when it was summarized
    reason: NotRequired[str | None]  # why a step was skipped by its skip_if


def step_record(index: int, name: str, status: str, **fields: Any) -> StepRecord:
    """A step record with every field (the one place listing them with their defaults),
    ``fields`` set.

    Raises:
        TypeError: a field a step record does not have.
    """
    record: dict[str, Any] = {
        "index": index, "name": name, "action": None, "status": status, "attempts": 0,
        "started_at": None, "ended_at": None, "duration_ms": None, "engine_ms": None,
        "captures": {}, "result": None, "mismatches": [], "error": None,
        "result_ref": None, "reason": None,
    }  # fmt: skip
    if unknown := fields.keys() - record.keys():
        raise TypeError(f"a step record has no {', '.join(sorted(unknown))}")
    record.update(fields)
    return record  # type: ignore[return-value]


class AssertRecord(TypedDict):
    status: str
    mismatches: list[Mismatch]
    error: str | None


class CleanupEntry(TypedDict):
    name: str
    action: str
    status: str  # passed | failed | skipped (a name it needs was never captured)
    error: str | None  # why it failed or was skipped
    allow_failure: NotRequired[bool]  # set when a failure does not fail the run


class CleanupRecord(TypedDict):
    status: str  # running (claimed, see store.claim_cleanup) | passed | failed
    actions: list[CleanupEntry]


class CleanupClaim(TypedDict):
    """The cleanup record as :func:`~itest.lambdas.results.store.claim_cleanup` found or left it."""

    claimed: bool  # True: this invocation holds it now
    status: str
    actions: list[CleanupEntry]  # finished already (by an earlier holder)
    current: str | None  # the action an earlier holder was running when it stopped
    lease_until: float


class RunRecord(TypedDict):
    """A whole run as the CLI shows it; ``steps`` has one entry per scenario step."""

    run_id: str
    scenario: str | None
    status: str
    reason: str | None
    started_at: str | None
    ended_at: str | None
    execution_arn: str | None
    vars: dict[str, Any]
    steps: list[StepRecord]
    assertions: AssertRecord | None
    cleanup: CleanupRecord | None
    scenario_ref: NotRequired[dict[str, str] | None]  # the object Prepare pinned


class RunContext(TypedDict):
    """What templates and assertions see of earlier steps, and how many bytes of
    captures the run record holds."""

    vars: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    started_at: float | None  # the run's start (epoch seconds), when recorded
    captured_bytes: int
    run_status: NotRequired[str]  # running until Cleanup settles the run


def never_ran(record: StepRecord) -> bool:
    """A step not reached (after a failure): skipped without a ``skip_if`` reason."""
    return record["status"] == StepStatus.SKIPPED and not record.get("reason")


class StepProgress(TypedDict):
    index: int
    name: str | None
    status: str | None
    attempts: int


class RunProgress(TypedDict):
    """How far a run is, from two small reads whatever its length."""

    status: str | None  # None until Prepare wrote the run record
    step: StepProgress | None  # the newest step record


class RunSummary(TypedDict):
    scenario: str | None
    status: str | None
    reason: str | None
