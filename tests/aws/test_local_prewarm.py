"""A deploy prewarms every function at once; their cold starts take turns, one per core
but one, so the first functions a run calls are warm sooner (cli/local/worker_pool.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from itest.cli.local.worker_pool import FunctionSpec, WorkerPool

# a handler whose import is slow, and says when it began and ended
HANDLER = """
import time
from pathlib import Path

began = time.time()
time.sleep(0.5)
Path("{name}.times").write_text(f"{{began}} {{time.time()}}")


def handler(event, context):
    return {{}}
"""


def spec(folder: Path, name: str) -> FunctionSpec:
    code = folder / name
    code.mkdir()
    (code / "slow.py").write_text(HANDLER.format(name=folder / name))
    return FunctionSpec(
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}", name=name, version="$LATEST",
        handler="slow.handler", code_dir=code, layer_dirs=(), environment=(), timeout=30.0,
        memory=128, log_group=f"/aws/lambda/{name}",
    )  # fmt: skip


def test_prewarms_take_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # one turn at a time
    pool = WorkerPool({})
    try:
        specs = [spec(tmp_path, name) for name in ("first", "second")]
        threads = [threading.Thread(target=pool.prewarm, args=(s,)) for s in specs]
        for thread in threads:
            thread.start()
            thread.join(0.1)  # the first asks first
        for thread in threads:
            thread.join(30)
        (first_began, first_ended), (second_began, _) = (
            map(float, (tmp_path / f"{name}.times").read_text().split())
            for name in ("first", "second")
        )
        assert first_began < first_ended <= second_began
        # ...and each is warm: its first invocation finds the handler loaded
        assert pool.invoke(specs[1], {}).payload == "{}"
    finally:
        pool.close()


def test_an_invocation_does_not_wait_for_a_prewarms_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    pool = WorkerPool({})
    try:
        first, second = spec(tmp_path, "first"), spec(tmp_path, "second")
        prewarming = threading.Thread(target=pool.prewarm, args=(first,))
        prewarming.start()
        queued = threading.Thread(target=pool.prewarm, args=(second,))
        queued.start()
        assert pool.invoke(second, {}).payload == "{}"  # its own child, not after its turn
        prewarming.join(30)
        queued.join(30)
        assert sum(w.spec == second for w in pool._workers) == 1  # the prewarm found it
    finally:
        pool.close()
