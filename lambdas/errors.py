"""Errors of the runtime, named for what happens next.

The class name is the Lambda error type, so the state machine's ``Retry`` and
``Catch`` can match on it, and the CLI can map it to an exit code.
"""

from __future__ import annotations

from typing import TypedDict


class ItestError(Exception):
    """Base of every error itest raises on purpose."""


class Problem(TypedDict):
    """One thing wrong with a scenario, precise enough to fix without guessing."""

    file: str
    location: str
    message: str


class ScenarioError(ItestError):
    """The scenario is invalid: it is rejected before anything runs.

    Carries every problem found, not only the first.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self._describe(problems))

    @staticmethod
    def _describe(problems: list[Problem]) -> str:
        lines = [f"{len(problems)} problem(s) in scenario:"]
        for p in problems:
            where = f"{p['file']}: {p['location']}" if p["location"] else p["file"]
            lines.append(f"  {where}: {p['message']}")
        return "\n".join(lines)


class UnknownActionError(ItestError):
    """An action name is not in the registry: the scenario must be fixed."""

    def __init__(self, name: str, known: list[str], *, why: str | None = None) -> None:
        self.name = name
        self.known = known
        self.why = why
        detail = f": {why}" if why else f"; known actions: {', '.join(known)}"
        super().__init__(f"unknown action {name!r}{detail}")


class TemplateError(ItestError):
    """A ``{{ expr }}`` cannot be rendered: the step fails at once (retrying cannot help)."""

    def __init__(self, message: str, *, expression: str | None = None) -> None:
        self.expression = expression
        super().__init__(message)


class ActionError(ItestError):
    """An action failed to run: the step fails with this reason.

    ``retryable`` is False when retrying cannot help (parameters invalid after
    rendering); otherwise a step with ``retry`` tries again while its window is open.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(message)


class SecretError(ItestError):
    """A declared secret cannot be resolved: the run ends in error (a setup fault)."""


class StateError(ItestError):
    """The state machine sent a payload the handlers cannot use (a bug or a mismatch
    between the deployed definition and the code): the run ends in error."""


class ConfigError(ItestError):
    """The deployment lacks configuration (an environment variable): the run ends in error."""


class TransientError(ItestError):
    """The orchestrator's own storage (S3, DynamoDB, SSM) throttled, failed with a 5xx
    or could not be reached: the state machine retries the state with backoff."""


class CleanupUnfinished(TransientError):
    """Cleanup ran out of Lambda time with cleanups left: the state machine invokes it
    again and it carries on where it stopped (each cleanup action runs at most once)."""
