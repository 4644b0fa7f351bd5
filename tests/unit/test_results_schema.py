"""The results table's one codec and the status words (no AWS: items are built and read
back as DynamoDB would store them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from itest.lambdas.results import records, store
from itest.lambdas.statuses import FINAL_STATUSES, Outcome, RunStatus, StepStatus
from itest.lambdas.timestamps import epoch, iso


def stored(record: records.StepRecord) -> dict[str, Any]:
    """The step record as written and read back: attributes, DynamoDB types, decoded."""
    attributes = store._step_attributes(record, result_json=json.dumps(record["result"]))
    item = {name: store._encode(v) for name, v in attributes.items() if v is not None}
    return store._decode_item(item)


def test_a_step_record_round_trips_through_its_item() -> None:
    record = records.step_record(
        3, "create order", StepStatus.PENDING, action="http", attempts=2,
        started_at="2026-11-21T23:01:01.500Z", ended_at="2026-11-21T23:01:02.000Z",
        duration_ms=500, engine_ms=12, captures={"id": 7, "price": 1.5, "none": None},
        result={"status": 503, "body": {}}, error=None,
        mismatches=[{"path": "status", "matcher": "equals", "expected": 201, "actual": 503,
                     "message": "status: expected 201, got 503"}],
    )  # fmt: skip

    assert store._step(stored(record)) == record


def test_a_skipped_step_keeps_its_reason_and_empty_fields() -> None:
    record = records.step_record(0, "only in prod", StepStatus.SKIPPED, reason="env is dev")

    back = store._step(stored(record))

    assert back == record
    assert not records.never_ran(back)
    assert records.never_ran(records.step_record(1, "after a failure", StepStatus.SKIPPED))


def test_a_step_record_refuses_a_field_it_does_not_have() -> None:
    with pytest.raises(TypeError, match="no stauts"):
        records.step_record(0, "x", StepStatus.PASSED, stauts="passed")


def test_step_keys_sort_by_index_and_parse_back() -> None:
    keys = [store.step_sk(i) for i in (10, 2, 300)]
    assert sorted(keys) == [store.step_sk(i) for i in (2, 10, 300)]
    assert [store.step_index(k) for k in keys] == [10, 2, 300]


def test_statuses_are_their_words() -> None:
    assert {"passed", "failed", "error"} == FINAL_STATUSES
    assert RunStatus.RUNNING not in FINAL_STATUSES
    assert json.dumps([StepStatus.PENDING, Outcome.RETRY]) == '["pending", "retry"]'
    assert f"{RunStatus.ERROR}" == "error"
    assert store._encode(StepStatus.SKIPPED) == {"S": "skipped"}


def test_iso_timestamps_round_trip() -> None:
    text = iso(1795302061.5)
    assert text == "2026-11-21T23:01:01.500Z"
    assert epoch(text) == 1795302061.5
    assert iso(datetime.fromtimestamp(1795302061.5, UTC)) == text


def test_a_scenario_key_gives_back_its_scenario_name() -> None:
    from itest.lambdas.scenario_store import scenario_key, scenario_name

    key = scenario_key("orders-happy-path", "release")
    assert key == "scenarios/orders-happy-path/release.json"
    assert scenario_name(key) == "orders-happy-path"
    assert scenario_name("uploads/orders.json") is None


def test_a_run_id_gives_back_its_scenario_name() -> None:
    from itest.cli.run_ids import new_run_id, scenario_of

    assert scenario_of(new_run_id("orders-happy-path")) == "orders-happy-path"
    assert scenario_of("started-in-the-console") == "started-in-the-console"


def test_a_report_status_shares_the_run_statuses_words() -> None:
    from itest.cli.reports import EXIT_CODES, ReportStatus

    assert {s for s in ReportStatus if s in set(RunStatus)} == set(RunStatus)
    assert EXIT_CODES["passed"] == EXIT_CODES[ReportStatus.RUNNING] == 0
