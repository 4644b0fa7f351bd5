"""The CLI's reads of runs (moto's DynamoDB): progress in two reads, or one when the end
is learnt otherwise (a local AWS's listing), saying the same of the run; whole runs
read together by key, the same as read one by one."""

from __future__ import annotations

from typing import Any

import pytest
from itest.lambdas.aws import client
from itest.lambdas.results import store

from tests.aws.runtime.test_results import RUN, start_run, step

pytestmark = pytest.mark.usefixtures("results_table")


def reads(run_id: str = RUN) -> tuple[dict, dict]:
    found = {"table": "itest-results", "dynamodb": client("dynamodb")}
    return store.read_progress(run_id, **found), store.read_newest(run_id, **found)


def test_before_prepare_neither_read_finds_anything() -> None:
    assert reads() == ({"status": None, "step": None}, {"status": None, "step": None})


def test_before_the_first_step_one_read_gives_the_run_s_status() -> None:
    start_run()
    both, one = reads()
    assert one == both == {"status": "running", "step": None}


def test_one_read_gives_the_newest_step_as_two_do() -> None:
    start_run()
    store.write_step(RUN, step(0, "create"))
    store.write_step(RUN, step(1, "check", "pending", attempts=3))
    store.write_assert(RUN, status="passed", mismatches=[])  # sorts before the run record
    store.write_cleanup(RUN, status="passed", actions=[])
    both, one = reads()
    newest = {"index": 1, "name": "check", "status": "pending", "attempts": 3}
    assert both == {"status": "running", "step": newest}
    assert one == {"status": "running", "step": newest}


def test_one_read_of_a_run_with_steps_does_not_read_its_verdict() -> None:
    """Who reads once learns the end from the listing: the status stays running."""
    start_run()
    store.write_step(RUN, step(0, "create"))
    store.finish_run(RUN, scenario="orders", status="passed", reason=None,
                     ended_at="2026-11-21T23:21:02.000Z")  # fmt: skip
    both, one = reads()
    assert both["status"] == "passed"
    assert one == {"status": "running", "step": both["step"]}


def test_one_read_stays_inside_its_run() -> None:
    """Another run's records (a later run id sorts after) are never the newest step."""
    start_run()
    store.write_step(RUN + "x", step(4, "other"))
    assert reads()[1] == {"status": "running", "step": None}


def test_runs_read_together_by_key_are_the_runs_read_one_by_one() -> None:
    """The CLI reads the records of runs that ended together in one BatchGetItem per
    100 items: the same records as a Query each (steps never reached, assert, cleanup),
    and None for a run without a record."""
    runs = {f"{RUN}-{i}": 3 for i in range(18)}  # 18 runs of 6 keys, and 5: two calls
    for i, run_id in enumerate(runs):
        store.write_run(run_id, scenario="orders", steps=["create", "check", "never"],
                        vars={"i": i}, execution_arn=None,
                        started_at="2026-11-21T23:21:00.000Z")  # fmt: skip
        store.write_step(run_id, step(0, "create"))
        if i % 2:
            store.write_step(run_id, step(1, "check", "failed", error="boom"))
            store.write_assert(run_id, status="passed", mismatches=[])
        store.write_cleanup(run_id, status="passed", actions=[])
        store.finish_run(run_id, scenario="orders", status="failed" if i % 2 else "passed",
                         reason=None, ended_at="2026-11-21T23:21:02.000Z")  # fmt: skip
    found = {"table": "itest-results", "dynamodb": client("dynamodb")}
    calls = []

    class Counted:
        def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(len(kwargs["RequestItems"]["itest-results"]["Keys"]))
            return found["dynamodb"].batch_get_item(**kwargs)

    together = store.read_runs({**runs, "unknown-run": 2}, table="itest-results",
                               dynamodb=Counted())  # fmt: skip
    assert calls == [100, 13]
    assert together == {**{r: store.read_run(r, **found) for r in runs}, "unknown-run": None}
    assert together[f"{RUN}-1"]["steps"][1]["error"] == "boom"
    assert together[f"{RUN}-0"]["steps"][2]["status"] == "skipped"


def test_summaries_of_many_runs_are_read_100_keys_a_call() -> None:
    """The CLI's list of executions: scenario, status and reason of each run with a
    record, 100 run records a BatchGetItem; a run without one is left out."""
    runs = [f"{RUN}-{i:03d}" for i in range(130)]
    for i, run_id in enumerate(runs):
        store.write_run(run_id, scenario=f"s{i}", steps=["create"], vars={},
                        execution_arn=None, started_at="2026-11-21T23:21:00.000Z")  # fmt: skip
        if i % 2:
            store.finish_run(run_id, scenario=f"s{i}", status="failed", reason=f"why {i}",
                             ended_at="2026-11-21T23:21:02.000Z")  # fmt: skip
    dynamodb = client("dynamodb")
    calls = []

    class Counted:
        def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(len(kwargs["RequestItems"]["itest-results"]["Keys"]))
            return dynamodb.batch_get_item(**kwargs)

    found = store.read_summaries([*runs, "unknown-run"], table="itest-results",
                                 dynamodb=Counted())  # fmt: skip
    assert calls == [100, 31]
    assert found == {
        run_id: {"scenario": f"s{i}", "status": "failed" if i % 2 else "running",
                 "reason": f"why {i}" if i % 2 else None}
        for i, run_id in enumerate(runs)
    }  # fmt: skip
