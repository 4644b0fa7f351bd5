"""The execution history: where a running execution is, and its events as log lines.

Read newest first and only down to what was already seen, so following a
long execution costs one page per poll. (The local AWS ignores
`reverseOrder` and paging; the code below works either way.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from itest.cli.aws import call_throttled

PAGE = 1000


@dataclass(frozen=True)
class Position:
    """The state a running execution is in, and which step and attempt."""

    state: str
    step_index: int | None = None
    step_name: str | None = None
    attempt: int | None = None
    wait_seconds: int | None = None

    def describe(self) -> str:
        text = self.state
        if self.step_name is not None and self.step_index is not None:
            text += f", step {self.step_index + 1} '{self.step_name}'"
        if self.state == "Action" and self.attempt is not None:
            text += f", attempt {self.attempt + 1}"
        elif self.state == "Backoff" and self.wait_seconds:
            text += f", waiting {self.wait_seconds}s before attempt {(self.attempt or 0) + 1}"
        return text


def new_events(sfn: Any, arn: str, *, after: int = 0) -> list[dict[str, Any]]:
    """The events with an id above `after`, oldest first."""
    found: dict[int, dict[str, Any]] = {}
    request: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": PAGE}
    while True:
        page = call_throttled(
            lambda r=request: sfn.get_execution_history(**r), what="GetExecutionHistory"
        )
        events = page.get("events", [])
        found.update((e["id"], e) for e in events if e["id"] > after)
        token = page.get("nextToken")
        newest_first = len(events) < 2 or events[0]["id"] > events[-1]["id"]
        if not token or (newest_first and any(e["id"] <= after + 1 for e in events)):
            break
        request = {**request, "nextToken": token}
    return [found[i] for i in sorted(found)]


def position(sfn: Any, arn: str) -> Position | None:
    """Where a running execution is now, from its newest events."""
    page = call_throttled(
        lambda: sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=100),
        what="GetExecutionHistory",
    )
    for event in sorted(page.get("events", []), key=lambda e: e["id"], reverse=True):
        entered = event.get("stateEnteredEventDetails")
        if entered:
            return _position(entered)
    return None


def _position(entered: dict[str, Any]) -> Position:
    data = _json(entered.get("input"))
    if not isinstance(data, dict) or "index" not in data:
        return Position(entered["name"])
    return Position(
        entered["name"],
        step_index=data.get("index"),
        step_name=data.get("name"),
        attempt=data.get("attempt"),
        wait_seconds=data.get("wait_seconds"),
    )


class EventReader:
    """Turns history events into (step, level, message) log entries, keeping step context."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.step: int | None = None

    def read(self, event: dict[str, Any]) -> tuple[str | None, str, str] | None:
        kind = event["type"]
        if kind == "TaskStateExited" and event["stateExitedEventDetails"]["name"] == "Prepare":
            prepared = _json(event["stateExitedEventDetails"].get("output"))
            if isinstance(prepared, dict):
                self.steps = [s.get("name", "") for s in prepared.get("steps", [])]
            return None
        if kind == "MapIterationStarted":
            self.step = event["mapIterationStartedEventDetails"].get("index")
            return self._name(), "INFO", f"step {self._number()} started"
        if kind in ("MapStateExited", "MapStateFailed"):
            self.step = None
            return None
        message = self._message(event)
        if message is None:
            return None
        level = "ERROR" if _failed(kind) else "INFO"
        return self._name(), level, message

    def _message(self, event: dict[str, Any]) -> str | None:
        kind = event["type"]
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {}) or {}
        if kind == "ExecutionStarted":
            return "execution started"
        if kind == "ExecutionSucceeded":
            return "execution succeeded"
        if kind.startswith("Execution") and _failed(kind):
            return f"execution {kind[len('Execution'):].lower()}: {_error(details)}"
        if kind == "TaskStateEntered":
            state = details.get("name")
            if state == "Action":
                data = _json(details.get("input"))
                attempt = data.get("attempt", 0) + 1 if isinstance(data, dict) else "?"
                return f"Action: attempt {attempt}"
            return f"{state} started"
        if kind == "WaitStateEntered":
            data = _json(details.get("input"))
            seconds = data.get("wait_seconds") if isinstance(data, dict) else None
            return f"{details.get('name')}: waiting {seconds}s before the next attempt"
        if kind == "FailStateEntered" and details.get("name") == "StepFailed":
            data = _json(details.get("input"))
            reason = data.get("reason") if isinstance(data, dict) else None
            return f"step failed: {reason}"
        if _failed(kind) and (kind.startswith("Task") or kind.startswith("LambdaFunction")):
            return f"task failed: {_error(details)}"
        if kind == "MapIterationFailed":
            return f"step {self._number()} failed"
        return None

    def _name(self) -> str | None:
        if self.step is None:
            return None
        return self.steps[self.step] if self.step < len(self.steps) else f"#{self.step + 1}"

    def _number(self) -> str:
        return str(self.step + 1) if self.step is not None else "?"


def _failed(kind: str) -> bool:
    return kind.endswith(("Failed", "TimedOut", "Aborted"))


def _error(details: dict[str, Any]) -> str:
    """`Error: cause`; a Lambda error's JSON cause is reduced to its type and message."""
    error = details.get("error") or "error"
    cause = details.get("cause") or ""
    parsed = _json(cause)
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        cause = parsed["errorMessage"]
    return f"{error}: {cause}" if cause else error


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None
