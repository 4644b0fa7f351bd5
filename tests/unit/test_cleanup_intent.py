"""Cleanup with intent (expect, retry, http's status) and strict captures."""

from __future__ import annotations

from typing import Any

import pytest
from itest.lambdas import cleanup_intent
from itest.lambdas.errors import ActionError
from itest.lambdas.scenario.loading import load_scenario
from itest.lambdas.scenario.models import CleanupAction, Step
from itest.lambdas.states import capture


def spec(**fields: Any) -> CleanupAction:
    return CleanupAction.model_validate({"action": "http", "with": {"url": "http://x"}, **fields})


@pytest.fixture
def no_sleep(monkeypatch):
    """A clock that moves only when the cleanup sleeps."""
    now = [0.0]
    waits: list[float] = []
    monkeypatch.setattr(cleanup_intent, "clock", lambda: now[0])

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(cleanup_intent, "sleep", sleep)
    return waits


def answers(*results: Any):
    """A call that answers each result in turn (raising the exceptions)."""
    left = list(results)

    def call() -> Any:
        result = left.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    return call


def test_an_http_cleanup_without_expect_fails_on_a_status_of_400_or_more():
    with pytest.raises(cleanup_intent.CleanupFailed, match=r"^status 403 \(an http cleanup "
                                                           "without expect fails on a status"):
        cleanup_intent.run_with_intent(spec(), {}, answers({"status": 403}))
    cleanup_intent.run_with_intent(spec(), {}, answers({"status": 204}))


def test_expect_says_what_success_is():
    gone = spec(expect=[{"path": "status", "one_of": [204, 404]}])
    cleanup_intent.run_with_intent(gone, {}, answers({"status": 404}))
    with pytest.raises(cleanup_intent.CleanupFailed, match="status: expected one of"):
        cleanup_intent.run_with_intent(gone, {}, answers({"status": 200}))


def test_retry_polls_until_the_intent_holds(no_sleep):
    late = spec(expect=[{"path": "status", "equals": 204}],
                retry={"timeout_seconds": 10, "interval_seconds": 1, "backoff": 2})
    cleanup_intent.run_with_intent(
        late, {}, answers({"status": 404}, ActionError("refused"), {"status": 204})
    )
    assert no_sleep == [1, 2]


def test_retry_gives_up_with_the_last_reason_and_the_attempts(no_sleep):
    late = spec(retry={"timeout_seconds": 3, "interval_seconds": 1})
    with pytest.raises(cleanup_intent.CleanupFailed, match=r"^status 409 .* after 4 attempts$"):
        cleanup_intent.run_with_intent(late, {}, answers(*[{"status": 409}] * 4))
    assert no_sleep == [1, 1, 1]


def test_without_retry_an_action_error_is_the_error():
    with pytest.raises(ActionError, match="refused"):
        cleanup_intent.run_with_intent(spec(), {}, answers(ActionError("refused")))


def test_a_cleanup_needing_a_name_never_captured_is_skipped_with_the_reason():
    delete = spec(**{"with": {"method": "DELETE", "url": "http://x/loans/{{ vars.loan_id }}"}})
    captured_by = {"loan_id": "create loan"}
    assert cleanup_intent.skip_reason(delete, {"vars": {}}, captured_by) == (
        "vars.loan_id was never captured (step 'create loan' failed before its capture): "
        "nothing to clean up"
    )
    assert cleanup_intent.skip_reason(delete, {"vars": {"loan_id": "l1"}}, captured_by) is None
    assert cleanup_intent.skip_reason(delete, {"vars": {}}, {}) is None  # not a capture: fails


def step(capture: dict[str, Any]) -> Step:
    return Step.model_validate({"name": "s", "action": "http", "with": {"url": "http://x"},
                                "capture": capture})


def test_a_capture_selecting_nothing_fails_the_step():
    captured, error = capture(step({"loan_id": "json.loanid", "kind": "json.kind"}),
                              {"json": {"loanId": "l1", "kind": "loan"}})
    assert error == ("capture 'loan_id': json.loanid selected nothing "
                     "(`{path: ..., optional: true}` allows that)")
    assert captured == {"kind": "loan"}  # kept for the step's cleanup


def test_an_optional_capture_may_select_nothing():
    captured, error = capture(step({"note": {"path": "json.note", "optional": True}}),
                              {"json": {}})
    assert (captured, error) == ({"note": None}, None)


def test_a_capture_of_false_or_zero_selected_something():
    captured, error = capture(step({"ok": "json.ok", "n": "json.n"}),
                              {"json": {"ok": False, "n": 0}})
    assert (captured, error) == ({"ok": False, "n": 0}, None)


def test_the_cleanups_retry_windows_are_bounded_by_the_one_invocation():
    text = """\
name: slow-cleanups
steps:
  - name: s
    action: http
    with: {url: "http://x"}
    cleanup:
      action: http
      with: {method: DELETE, url: "http://x"}
      retry: {timeout_seconds: 40}
cleanup:
  - action: http
    with: {method: DELETE, url: "http://y"}
    expect: [{path: status, equals: 204}]
    retry: {timeout_seconds: 30}
    allow_failure: true
"""
    with pytest.raises(Exception, match=r"steps\['s'\]\.cleanup\.retry: the cleanups' retry "
                                        r"windows add up to 70 s; at most 60 s"):
        load_scenario(text, source="x.yaml")
    loaded = load_scenario(text.replace("40", "20"), source="x.yaml")
    assert loaded.cleanup[0].allow_failure is True
