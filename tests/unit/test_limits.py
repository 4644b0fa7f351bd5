"""How many history events a scenario can need, bounded from its definition."""

from __future__ import annotations

from typing import Any

import pytest
from itest.lambdas.errors import ScenarioError
from itest.lambdas.scenario import limits
from itest.lambdas.scenario.loading import load_scenario
from itest.lambdas.scenario.models import Scenario


def scenario(*steps: dict[str, Any], timeout: int = 600) -> Scenario:
    return Scenario.model_validate({"name": "s", "timeout_seconds": timeout, "steps": list(steps)})


def poll(**retry: float) -> dict[str, Any]:
    return {
        "name": f"poll-{retry}",
        "action": "dynamodb.get_item",
        "with": {"table": "t", "key": {"pk": "a"}},
        "expect": [{"path": "item", "exists": True}],
        "retry": retry,
    }


WAIT = {"name": "pause", "action": "wait", "with": {"seconds": 5}}
ONCE = {"name": "once", "action": "http", "with": {"url": "http://x"}}


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        ({"timeout_seconds": 10, "interval_seconds": 2}, 5),  # waits 2,2,2,2,2
        ({"timeout_seconds": 10, "interval_seconds": 3}, 4),  # 3,3,3, then the 1 s left
        ({"timeout_seconds": 60, "interval_seconds": 2, "backoff": 1.5}, 7),  # 2,3,5,7,11,17,15
        ({"timeout_seconds": 10, "interval_seconds": 0.2}, 10),  # at least 1 s each
        ({"timeout_seconds": 86400, "interval_seconds": 1}, 600),  # cut to the run's 600 s
    ],
)
def test_most_retries_of_one_step(retry: dict[str, float], expected: int) -> None:
    step = scenario(poll(**retry)).steps[0]
    assert limits.max_retries(step, 600) == expected


def test_a_wait_waits_once_and_a_plain_step_never() -> None:
    plain = scenario(WAIT, ONCE)
    assert [limits.max_retries(s, 600) for s in plain.steps] == [1, 0]


def test_events_add_up_from_the_definition() -> None:
    estimate = limits.estimate_history(scenario(ONCE, WAIT, poll(timeout_seconds=10)))

    assert estimate.per_step == [0, 1, 5]
    assert estimate.events == 25 + 3 * 11 + 6 * 9
    assert not estimate.capped_by_timeout


def test_all_steps_together_retry_at_most_once_a_second_of_the_run() -> None:
    steps = [poll(timeout_seconds=100, interval_seconds=1) | {"name": f"p{i}"} for i in range(5)]

    estimate = limits.estimate_history(scenario(*steps, timeout=100))

    assert estimate.per_step == [100] * 5
    assert estimate.retries == 100 and estimate.capped_by_timeout


def test_a_long_polling_scenario_is_rejected_with_the_numbers() -> None:
    text = (
        "name: s\ntimeout_seconds: 7200\nsteps:\n"
        "  - name: wait for it\n    action: dynamodb.get_item\n"
        "    with: {table: t, key: {pk: a}}\n    expect: [{path: item, exists: true}]\n"
        "    retry: {timeout_seconds: 7200, interval_seconds: 1}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(text, source="s.yaml")

    (problem,) = caught.value.problems
    assert problem["location"] == "steps['wait for it'].retry"
    assert problem["message"].startswith(
        "this scenario could need 64,836 Step Functions history events (1 step, 7,200 waits"
    )
    assert "an execution stops at 25,000 (24,500 usable)" in problem["message"]


def test_the_same_poll_with_backoff_fits() -> None:
    text = (
        "name: s\ntimeout_seconds: 7200\nsteps:\n"
        "  - name: wait for it\n    action: dynamodb.get_item\n"
        "    with: {table: t, key: {pk: a}}\n    expect: [{path: item, exists: true}]\n"
        "    retry: {timeout_seconds: 7200, interval_seconds: 1, backoff: 1.2}\n"
    )
    assert load_scenario(text, source="s.yaml").steps[0].retry is not None
