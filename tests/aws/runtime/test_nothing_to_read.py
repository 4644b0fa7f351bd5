"""Assert and Cleanup do not read a scenario that has nothing for them (Prepare says
so in the reference it pins), and read it, as before, when it has."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from itest.lambdas import handlers, scenario_store
from itest.lambdas.aws import client
from itest.lambdas.results import store

from .machine import RUN_ID, Clock, execute, upload

pytestmark = pytest.mark.usefixtures("results_table", "orders_table")

STEP = {"name": "store", "action": "dynamodb.put_item",
        "with": {"table": "orders", "item": {"pk": "o-1"}}}  # fmt: skip
UNDO = {"action": "dynamodb.delete_item", "with": {"table": "orders", "key": {"pk": "o-1"}}}
PLAIN: dict[str, Any] = {"name": "plain", "timeout_seconds": 60, "steps": [STEP]}


@pytest.fixture
def reads(bucket: str) -> Iterator[list[str]]:
    """The scenario objects read from now on (keys), each state in a worker of its own
    (nothing kept from an earlier read)."""
    seen: list[str] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        seen.append(params["Key"])

    client("s3").meta.events.register("provide-client-params.s3.GetObject", note)
    yield seen
    client("s3").meta.events.unregister("provide-client-params.s3.GetObject", note)


def after_last_action(prepared_steps: int, reads: list[str]) -> Any:
    """Once the last step ran: forget every scenario read, count the reads from there."""

    def hook(iteration: dict[str, Any]) -> None:
        if iteration["index"] == prepared_steps - 1 and iteration["outcome"] != "retry":
            scenario_store._cache.clear()
            reads.clear()

    return hook


def test_a_scenario_with_nothing_for_assert_and_cleanup_is_read_by_neither(
    bucket: str, clock: Clock, reads: list[str]
) -> None:
    ref = upload(PLAIN, bucket)

    run = execute(ref, {}, clock, after_action=after_last_action(1, reads))

    assert run.prepared and run.prepared["scenario"]["without"] == ["assertions", "cleanup"]
    assert run.verdict["status"] == "passed", run.verdict
    assert reads == []
    recorded = store.read_run(RUN_ID)
    assert recorded and recorded["assertions"] == {"status": "passed", "mismatches": [],
                                                   "error": None}  # fmt: skip
    assert recorded["cleanup"] == {"status": "passed", "actions": []}
    assert recorded["scenario"] == "plain" and recorded["scenario_ref"] == run.prepared["scenario"]


@pytest.mark.parametrize(
    ("changes", "without"),
    [
        ({"assertions": [{"path": "run_id", "exists": True}]}, ["cleanup"]),
        ({"cleanup": [UNDO]}, ["assertions"]),
        ({"steps": [{**STEP, "cleanup": UNDO}]}, ["assertions"]),
        ({"secrets": {"token": "ssm:/itest/token"}}, ["assertions"]),
    ],
)
def test_a_state_with_something_to_do_reads_the_scenario(
    bucket: str, clock: Clock, reads: list[str], changes: dict[str, Any], without: list[str]
) -> None:
    client("ssm").put_parameter(Name="/itest/token", Value="t0ken-value", Type="SecureString")
    ref = upload({**PLAIN, **changes}, bucket)

    run = execute(ref, {}, clock, after_action=after_last_action(1, reads))

    assert run.prepared and run.prepared["scenario"]["without"] == without
    assert run.verdict["status"] == "passed", run.verdict
    assert reads == [ref["key"]]  # by the one of Assert and Cleanup with something to do


def test_a_stopped_execution_s_cleanup_reads_the_scenario_only_when_needed(
    bucket: str, clock: Clock, reads: list[str]
) -> None:
    """The rule on the execution's end: the reference comes from the run record."""
    ref = upload(PLAIN, bucket)
    prepared = handlers.prepare({"input": {"scenario": ref}, "run_id": RUN_ID}, None)
    scenario_store._cache.clear()
    ended = {"source": "aws.states", "detail": {"name": RUN_ID, "status": "ABORTED"}}

    verdict = handlers.cleanup(ended, None)

    assert prepared["scenario"]["without"] == ["assertions", "cleanup"]
    assert reads == [ref["key"]]  # Prepare's own read
    assert verdict["status"] == "error" and "States.Aborted" in str(verdict["reason"])


def test_a_reference_not_pinned_carries_no_word_on_what_it_lacks() -> None:
    raw = {"bucket": "b", "key": "k", "without": ["assertions", "cleanup"]}

    assert scenario_store.scenario_ref(raw) == {"bucket": "b", "key": "k"}
    pinned = scenario_store.scenario_ref({**raw, "version": "v1", "without": ["cleanup", "x"]})
    assert pinned == {"bucket": "b", "key": "k", "version": "v1", "without": ["cleanup"]}
