"""Drives the four handlers in the order the state machine runs them (docs/engine.md).

Prepare ─▶ per step: Action (─▶ Wait ─▶ Action)* ─▶ Assert ─▶ Cleanup, with the
Catch paths: a failed step or a raising handler sends the state to Cleanup with
``error`` set, as ``ResultPath: $.error`` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itest.lambdas import handlers
from itest.lambdas.aws import client
from itest.lambdas.scenario.loading import load_scenario
from itest.lambdas.scenario_store import scenario_key

EVENTS = Path(__file__).parents[2] / "events"
RUN_ID = "orders-flow-20261121T232100-ab12cd"


def event(name: str, /, **changes: Any) -> dict[str, Any]:
    """A recorded sample event from tests/events, with some keys replaced."""
    return {**json.loads((EVENTS / f"{name}.json").read_text()), **changes}


def upload(scenario: dict[str, Any], bucket: str) -> dict[str, str]:
    """Validate and upload as the CLI does; returns the scenario reference."""
    text = load_scenario(json.dumps(scenario), source="test.json").to_json()
    key = scenario_key(scenario["name"], hashlib.sha256(text.encode()).hexdigest())
    client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode())
    return {"bucket": bucket, "key": key}


class Clock:
    """Stands in for ``itest.lambdas.states.clock``; a Wait state advances it."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Execution:
    verdict: dict[str, Any]
    prepared: dict[str, Any] | None = None
    iterations: list[dict[str, Any]] = field(default_factory=list)  # every Action output
    cleanup_state: dict[str, Any] | None = None

    @property
    def waits(self) -> list[int]:
        return [i["wait_seconds"] for i in self.iterations if i["outcome"] == "retry"]


def lambda_error(exc: Exception) -> dict[str, str]:
    """What a Catch puts in ``$.error`` when a Lambda handler raises."""
    cause = {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []}
    return {"Error": type(exc).__name__, "Cause": json.dumps(cause)}


def execute(
    ref: dict[str, str],
    vars: dict[str, Any],
    clock: Clock,
    *,
    after_action: Callable[[dict[str, Any]], None] | None = None,
) -> Execution:
    prepare_input = {"scenario": ref, "vars": vars}
    try:
        prepared = handlers.prepare(event("prepare", input=prepare_input, run_id=RUN_ID), None)
    except Exception as exc:
        state = {**prepare_input, "error": lambda_error(exc)}
        return Execution(verdict=_cleanup(state), cleanup_state=state)
    execution = Execution(verdict={}, prepared=dict(prepared))
    state: dict[str, Any] = dict(prepared)
    try:
        for item in prepared["steps"]:
            iteration: dict[str, Any] = {
                "run_id": RUN_ID,
                "scenario": prepared["scenario"],
                "deadline": prepared["deadline"],
                "index": item["index"],
                "name": item["name"],
                "attempt": 0,
            }
            while True:
                iteration = handlers.action(iteration, None)
                execution.iterations.append(iteration)
                if after_action:
                    after_action(iteration)
                if iteration["outcome"] != "retry":
                    break
                clock.now += iteration["wait_seconds"]  # the Wait state
            if iteration["outcome"] == "failed":  # StepFailed: the Map fails, Catch
                state["error"] = {"Error": "StepFailed", "Cause": iteration["reason"]}
                break
        else:
            handlers.assert_({"run_id": RUN_ID, "scenario": prepared["scenario"]}, None)
    except Exception as exc:
        state["error"] = lambda_error(exc)
    execution.cleanup_state = state
    execution.verdict = _cleanup(state)
    return execution


def _cleanup(state: dict[str, Any]) -> dict[str, Any]:
    verdict = handlers.cleanup({"run_id": RUN_ID, "state": state}, None)
    json.dumps(verdict)  # a Lambda result must be JSON
    return dict(verdict)
