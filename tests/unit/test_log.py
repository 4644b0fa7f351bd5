"""Structured log lines and per-scenario metrics (lambdas/log.py, lambdas/handlers.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from itest.lambdas import handlers, log


@pytest.fixture(autouse=True)
def unbound():
    yield
    log.bind()


def test_every_line_carries_the_bound_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="itest")
    handlers._bind(
        {"run_id": "r-1", "execution_arn": "arn:aws:states:eu-west-1:1:execution:m:r-1"},
        {"scenario": {"bucket": "b", "key": "scenarios/orders-happy-path/ab12.json"}},
        SimpleNamespace(aws_request_id="req-1"),
        step="create order",
    )
    log.log_event("step", outcome="passed")
    (line,) = [json.loads(r.getMessage()) for r in caplog.records]
    assert line == {
        "event": "step",
        "run_id": "r-1",
        "execution_arn": "arn:aws:states:eu-west-1:1:execution:m:r-1",
        "scenario": "orders-happy-path",
        "request_id": "req-1",
        "step": "create order",
        "outcome": "passed",
    }


def test_lambda_json_format_gets_the_fields_as_top_level_keys(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    caplog.set_level("INFO", logger="itest")
    log.bind(run_id="r-2")
    log.log_event("cleanup.failed", name="cleanup[0]", error="boom")
    (record,) = caplog.records
    assert record.getMessage() == "cleanup.failed"
    assert (record.run_id, record.error, record.name_) == ("r-2", "boom", "cleanup[0]")
    assert record.name == "itest"  # a field never overwrites the record's own attributes


def test_cleanup_writes_duration_and_failure_per_scenario_as_emf(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_NAMESPACE", "Itest/Test")
    log.bind(run_id="r-3")
    verdict = {"run_id": "r-3", "scenario": "orders", "status": "failed", "reason": "x"}
    handlers._run_metrics(verdict, "2026-11-21T23:00:00.000Z")
    line = json.loads(capsys.readouterr().out.strip())
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Itest/Test"
    assert directive["Dimensions"] == [["Scenario"]]
    assert {m["Name"] for m in directive["Metrics"]} == {"ScenarioDuration", "ScenarioFailed"}
    assert line["Scenario"] == "orders" and line["ScenarioFailed"] == 1
    assert line["ScenarioDuration"] > 0 and line["run_id"] == "r-3"


def test_no_metrics_without_a_namespace(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METRICS_NAMESPACE", raising=False)
    handlers._run_metrics({"scenario": "orders", "status": "passed"}, None)  # type: ignore[arg-type]
    assert capsys.readouterr().out == ""


def test_expires_at_follows_results_ttl_days(monkeypatch: pytest.MonkeyPatch) -> None:
    from itest.lambdas.results.store import expires_at

    monkeypatch.delenv("RESULTS_TTL_DAYS", raising=False)
    assert expires_at(1000.0) is None
    monkeypatch.setenv("RESULTS_TTL_DAYS", "2")
    assert expires_at(1000.0) == 1000 + 2 * 86400


def test_prepare_cuts_the_timeout_to_the_stack_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    from itest.lambdas.states import _bounded_timeout

    monkeypatch.setenv("MAX_TIMEOUT_SECONDS", "600")
    assert _bounded_timeout(3600) == 600
    assert _bounded_timeout(60) == 60
    monkeypatch.delenv("MAX_TIMEOUT_SECONDS")
    assert _bounded_timeout(3600) == 3600


def test_every_line_is_masked_with_the_invocations_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from itest.lambdas import masking

    caplog.set_level("INFO", logger="itest")
    handlers._bind({"run_id": "r-3"}, {}, None)  # a new invocation forgets earlier secrets
    masking.remember(["tok-12345678"])
    log.log_event(
        "cleanup.failed", error="GET https://x/?t=tok-12345678 failed", pin=object(), n=7
    )
    handlers._bind({"run_id": "r-4"}, {}, None)
    assert masking.active() == frozenset()
    (record,) = caplog.records
    assert "tok-12345678" not in record.getMessage()
    assert json.loads(record.getMessage())["error"] == "GET https://x/?t=*** failed"


def test_an_error_leaves_a_handler_masked() -> None:
    from itest.lambdas import masking
    from itest.lambdas.errors import StateError

    @handlers._masked_errors
    def failing(event: object, context: object) -> None:
        masking.remember(["tok-12345678"])
        raise StateError("payload had tok-12345678 in it")

    with pytest.raises(StateError, match=r"payload had \*\*\* in it"):
        failing({}, None)
