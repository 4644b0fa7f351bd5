"""Invocations queued for a function's busy child (cli/local/worker_pool.py): served
oldest first, and a child coming back is handed to the oldest with its event already
written to it by the thread that brought it back; a child that dies is replaced for
the queue; closing the pool wakes the queue."""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local import worker_pool
from itest.cli.local.worker_pool import FunctionSpec, WorkerPool

from tests.aws.function_spec import handler_spec

# The pool's half second (worker_pool.GROW_AFTER_SECONDS) as the growth tests see it: a
# busy child that long gets a sibling, so a loaded machine stalling a 20 ms invocation for
# half a second grew the pool where the rule under test did not; the queues run longer.
GROW_AFTER_SECONDS = 2.0

if TYPE_CHECKING:
    from collections.abc import Iterator

HANDLER = """
import os
import time


def handler(event, context):
    began = time.time()
    if event.get("gate"):
        open(event["gate"] + ".arrived", "w").close()
    while event.get("gate") and not os.path.exists(event["gate"]):
        time.sleep(0.005)
    time.sleep(event.get("sleep", 0))
    if event.get("exit"):
        os._exit(1)
    return {"n": event.get("n"), "pid": os.getpid(), "began": began}
"""


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool({}, max_workers=1, idle_seconds=60)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def spec(tmp_path: Path) -> FunctionSpec:
    return handler_spec(tmp_path, "queued", HANDLER)


def _answer(pool: WorkerPool, spec: FunctionSpec, event: dict[str, Any]) -> dict[str, Any]:
    import json

    result = pool.invoke(spec, event)
    assert not result.errored, result.payload
    return json.loads(result.payload)


def _queue_up(
    pool: WorkerPool, spec: FunctionSpec, events: list[dict[str, Any]], call: Any = _answer
) -> list[Any]:
    """`call(pool, spec, event)` for each of `events` in a thread of its own, each once the
    one before it is in place: the first in the one child's handler, which it keeps busy
    until all the others wait in order, each after the one before it in the queue (a gate
    file it waits for, not a sleep: a slow machine cannot end it early)."""
    gate = Path(tempfile.mkdtemp()) / "open"
    events = [{**events[0], "gate": str(gate)}, *events[1:]]
    key = pool._interned(spec)

    def queued(event: dict[str, Any]) -> bool:
        with pool._lock:
            return any(ticket.event is event for ticket in pool._queued.get(key, ()))

    executor = ThreadPoolExecutor(len(events))
    futures = []
    for n, event in enumerate(events):
        futures.append(executor.submit(call, pool, spec, event))
        deadline = time.monotonic() + 60
        while not (queued(event) if n else Path(f"{gate}.arrived").exists()):
            assert time.monotonic() < deadline, f"invocation {n} did not get in place"
            time.sleep(0.005)
    gate.touch()
    executor.shutdown(wait=False)
    return futures


def test_queued_invocations_are_served_oldest_first(pool: WorkerPool, spec: FunctionSpec) -> None:
    _answer(pool, spec, {})  # warm
    events = [{"n": 0}, *({"n": n} for n in range(1, 6))]

    answers = [f.result(timeout=60) for f in _queue_up(pool, spec, events)]

    assert len({a["pid"] for a in answers}) == 1  # one child: they all queued for it
    assert [a["n"] for a in sorted(answers, key=lambda a: a["began"])] == list(range(6))


def test_a_child_coming_back_is_given_the_oldest_queued_event_at_once(
    pool: WorkerPool, spec: FunctionSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread whose invocation ended writes the next queued one's event to the child:
    the queued invocation's own thread only waits for the answer."""
    _answer(pool, spec, {})  # warm
    writers: dict[int, int] = {}  # event n -> thread that wrote it to the child
    send = WorkerPool._send

    def spied(self: WorkerPool, worker: Any, ticket: Any) -> None:
        writers[ticket.event["n"]] = threading.get_ident()
        send(self, worker, ticket)

    monkeypatch.setattr(WorkerPool, "_send", spied)
    invokers: dict[int, int] = {}  # event n -> thread that invoked it

    def traced(pool: WorkerPool, spec: FunctionSpec, event: dict[str, Any]) -> dict[str, Any]:
        invokers[event["n"]] = threading.get_ident()
        return _answer(pool, spec, event)

    events = [{"n": 0}, {"n": 1}, {"n": 2}]
    for future in _queue_up(pool, spec, events, traced):
        future.result(timeout=60)

    assert writers[0] == invokers[0]  # an idle child: the invocation writes its own event
    assert writers[1] == invokers[0]  # queued: written by the one before it, as it ended
    assert writers[2] == invokers[1]


def test_a_child_that_dies_is_replaced_for_the_queued_invocations(
    pool: WorkerPool, spec: FunctionSpec
) -> None:
    first = _answer(pool, spec, {"n": -1})

    crashed, *served = _queue_up(pool, spec, [{"n": 0, "exit": True}, {"n": 1}, {"n": 2}])

    with pytest.raises(AssertionError, match=r"Runtime\.ExitError"):
        crashed.result(timeout=60)
    answers = [f.result(timeout=60) for f in served]
    assert [a["n"] for a in answers] == [1, 2]
    assert {a["pid"] for a in answers} != {first["pid"]}  # a new child served them


def test_closing_the_pool_wakes_the_queued_invocations(
    pool: WorkerPool, spec: FunctionSpec
) -> None:
    _answer(pool, spec, {})
    busy, queued = _queue_up(pool, spec, [{"n": 0, "sleep": 60}, {"n": 1}])

    pool.close()

    with pytest.raises(RuntimeError, match="closed"):
        queued.result(timeout=10)
    with pytest.raises(AssertionError):  # its child was killed
        busy.result(timeout=10)


def test_an_invocation_queued_for_a_starting_child_gets_it_once_ready(
    pool: WorkerPool, spec: FunctionSpec
) -> None:
    """`prewarm` hands its cold child to an invocation that queued meanwhile; the event is
    written once the child's handler has loaded, not before."""
    warming = threading.Thread(target=pool.prewarm, args=(spec,))
    warming.start()
    deadline = time.monotonic() + 60
    while not pool._starting.get(pool._interned(spec)):
        assert time.monotonic() < deadline
        time.sleep(0.001)

    answer = _answer(pool, spec, {"n": 1})
    warming.join()

    assert answer["n"] == 1
    assert len(pool._workers) == 1  # the prewarmed child served it


def test_a_queue_that_lasts_grows_the_pool_to_one_child_per_core(
    spec: FunctionSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short invocations that keep more than one per core queued for GROW_AFTER_SECONDS
    (50 runs at once) get a child more, up to one per core, not one each."""
    monkeypatch.setattr(worker_pool.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(worker_pool._OwnLoad, "share", lambda self: 0.0)
    monkeypatch.setattr(worker_pool, "GROW_AFTER_SECONDS", GROW_AFTER_SECONDS)
    pool = WorkerPool({}, max_workers=8, idle_seconds=60)
    try:
        _answer(pool, spec, {})  # warm
        with ThreadPoolExecutor(12) as executor:  # ~5 s of work for one child
            answers = list(executor.map(lambda n: _answer(pool, spec, {"sleep": 0.02}),
                                        range(250)))  # fmt: skip
    finally:
        pool.close()

    assert len({a["pid"] for a in answers}) == 2


def test_a_short_queue_does_not_grow_the_pool(
    pool: WorkerPool, spec: FunctionSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No more than one invocation per core waiting, however long: they wait for the warm
    child (three callers, each invoking again as soon as answered, for more than twice
    GROW_AFTER_SECONDS)."""
    monkeypatch.setattr(worker_pool.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(worker_pool._OwnLoad, "share", lambda self: 0.0)
    monkeypatch.setattr(worker_pool, "GROW_AFTER_SECONDS", GROW_AFTER_SECONDS)
    pool.max_workers = 8
    _answer(pool, spec, {})

    def caller(_: int) -> set[int]:
        return {_answer(pool, spec, {"sleep": 0.05})["pid"] for _ in range(30)}

    with ThreadPoolExecutor(3) as executor:
        pids = set().union(*executor.map(caller, range(3)))

    assert len(pids) == 1
