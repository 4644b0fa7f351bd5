"""The status words of the results table and of the Action state's outcome, defined once.

Plain ``str`` enums: a value read from the table or a payload compares equal to its
member, and a member is written (JSON, DynamoDB, a Choice state) as its text.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """A run record's status: running until Cleanup writes the verdict."""

    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


FINAL_STATUSES = frozenset({RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR})
"""The verdicts: a run with one of these is over (its cleanup ran)."""


class StepStatus(StrEnum):
    """A step record's status (also the assert and cleanup records', and a cleanup
    action's): running while an attempt is claimed, pending between attempts,
    skipped by its ``skip_if`` or never reached."""

    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    PENDING = "pending"
    SKIPPED = "skipped"


class Outcome(StrEnum):
    """What the Action state returns; the state machine's Choice branches on it."""

    PASSED = "passed"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"
