"""run_within: a call cut off at its budget, in a thread that a warm worker reuses."""

from __future__ import annotations

import threading

import pytest
from itest.lambdas import deadlines
from itest.lambdas.deadlines import Budget, OutOfTime, action_budget, run_within

BUDGET = Budget(5, "scenario deadline")


def test_the_call_s_value_error_and_budget_come_back() -> None:
    assert run_within(BUDGET, action_budget) == BUDGET  # the action sees its budget
    assert action_budget() is None  # the caller's context is untouched

    with pytest.raises(KeyError, match="missing"):
        run_within(BUDGET, lambda: {}["missing"])


def test_calls_in_time_share_one_thread() -> None:
    threads = {run_within(BUDGET, threading.get_ident) for _ in range(5)}

    assert len(threads) == 1
    assert threading.get_ident() not in threads


def test_a_call_cut_off_leaves_its_thread_to_it_and_the_next_call_gets_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deadlines, "GRACE_SECONDS", 0.0)
    release, entered = threading.Event(), threading.Event()
    hung: list[int] = []

    def hang() -> None:
        hung.append(threading.get_ident())
        entered.set()
        release.wait(60)

    with pytest.raises(OutOfTime, match=r"timed out after 0 s \(scenario deadline\)"):
        run_within(Budget(0.05, "scenario deadline"), hang)
    try:
        assert entered.wait(30)  # a slow machine may cut it off before its thread ran it
        assert run_within(BUDGET, threading.get_ident) != hung[0]  # not queued behind it
    finally:
        release.set()
    assert run_within(BUDGET, lambda: "still fine") == "still fine"


def test_no_time_left_runs_nothing() -> None:
    ran: list[int] = []

    with pytest.raises(OutOfTime):
        run_within(Budget(0, "Lambda time left"), lambda: ran.append(1))

    assert ran == []


def test_callers_at_once_each_get_their_own_lane_and_value() -> None:
    start = threading.Barrier(8)
    values: dict[int, list[tuple[int, int]]] = {}

    def caller(n: int) -> None:
        start.wait(60)
        values[n] = [run_within(BUDGET, lambda k=k: (n, k)) for k in range(50)]

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert values == {n: [(n, k) for k in range(50)] for n in range(8)}
