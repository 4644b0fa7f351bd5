"""The local AWS's DynamoDB CPU per scenario step, with and without itest's fast paths.

    python bench/dynamodb_server.py [--runs 50] [--steps 10]

Starts a local AWS in this process and makes the DynamoDB requests `runs` runs
of `steps` passing steps cost it in a burst like bench/peers.py's: the engine's
own store functions (lambdas/results/store.py) as Prepare, each Action attempt,
Assert and Cleanup call them, and the CLI's progress polls and final read.
Prints the CPU the server's threads spent answering them in moto's DynamoDB
(`DynamoHandler.call_action`, thread CPU clock), per step and per request by
operation: once through moto's own code, once with cli/local/dynamodb_fast.py.

In-process and sequential: no HTTP noise from other engineers' work in the
numbers, only the answers themselves (still, name the load average). The
garbage collector is off while the requests run: a collection's cost depends
on the whole process's heap and lands on whichever thread allocates at the time.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABLE = "bench-results"


def measure(fast: bool, runs: int, steps: int) -> dict:
    """CPU seconds and calls by DynamoDB operation for the burst's requests."""
    from itest.cli.local import dynamodb_fast
    from itest.cli.local.server import local_aws

    from tests.aws.tables import create_pk_sk_table

    spent: dict[str, float] = collections.defaultdict(float)
    calls: collections.Counter[str] = collections.Counter()
    with ExitStack() as stack:
        if not fast:
            install = dynamodb_fast.install
            dynamodb_fast.install = lambda: lambda: None
            stack.callback(setattr, dynamodb_fast, "install", install)
        aws = stack.enter_context(local_aws())
        saved = dict(os.environ)
        stack.callback(lambda: (os.environ.clear(), os.environ.update(saved)))
        os.environ.update(aws.env(), RESULTS_TABLE=TABLE)
        forget_clients()
        stack.callback(forget_clients)
        create_pk_sk_table(aws.client("dynamodb"), TABLE)

        from moto.dynamodb.responses import DynamoHandler

        call_action = DynamoHandler.call_action
        lock = threading.Lock()

        def timed(self: Any) -> Any:
            start = time.thread_time()
            try:
                return call_action(self)
            finally:
                with lock:
                    spent[self._get_action()] += time.thread_time() - start
                    calls[self._get_action()] += 1

        DynamoHandler.call_action = timed
        stack.callback(setattr, DynamoHandler, "call_action", call_action)
        dynamodb = aws.client("dynamodb")
        gc.collect()
        gc.disable()
        stack.callback(gc.enable)
        burst(dynamodb, runs, steps)
    return {"spent": dict(spent), "calls": dict(calls)}


def forget_clients() -> None:
    """The engine's clients and boto3's default session, which keeps the credentials."""
    import boto3
    from itest.lambdas.aws import client

    client.cache_clear()
    boto3.DEFAULT_SESSION = None


def burst(cli_client: Any, runs: int, steps: int) -> None:
    """The requests of `runs` runs, taking turns step by step as a burst interleaves them."""
    from itest.lambdas.results import store
    from itest.lambdas.results.records import StepStatus, step_record

    names = [f"post {i}" for i in range(steps)]
    ids = [f"bench-{r:03d}-20261130T084400-8c2950" for r in range(runs)]
    started = "2026-11-30T08:44:00.759Z"
    for run_id in ids:  # Prepare
        store.write_run(run_id, scenario="bench", steps=names, vars={"api_url": "http://x"},
                        execution_arn=f"arn:aws:states:us-east-1:1:execution:m:{run_id}",
                        started_at=started,
                        scenario_ref={"bucket": "b", "key": "scenarios/bench/x.json"})  # fmt: skip
    for index, name in enumerate(names):  # Action, attempt 1 of each step
        for run_id in ids:
            store.read_context(run_id, below=index, steps=[index - 1] if index else [])
            store.claim_attempt(run_id, index=index, name=name, action="http", attempt=1,
                                started_at=started)  # fmt: skip
            result = {"status": 201, "headers": {"content-type": "application/json"},
                      "json": {"n": index, "ok": True}, "elapsed_ms": 2}  # fmt: skip
            record = step_record(index, name, StepStatus.PASSED, action="http", attempts=1,
                                 started_at=started, ended_at=started, duration_ms=2,
                                 engine_ms=3, result=result)  # fmt: skip
            store.write_step(run_id, record, attempt_started=1)
            if index % 2:  # the CLI's poll of a local AWS, at about half the steps
                store.read_newest(run_id, table=TABLE, dynamodb=cli_client)
    for run_id in ids:  # Assert, Cleanup
        store.write_assert(run_id, status=StepStatus.PASSED, mismatches=[])
        run = store.read_run(run_id)
        store.write_cleanup(run_id, status=StepStatus.PASSED, actions=[])
        store.finish_run(run_id, scenario="bench", status="passed", reason=None,
                         ended_at=started, steps=names)  # fmt: skip
        assert run is not None
    runs = store.read_runs(dict.fromkeys(ids, steps), table=TABLE, dynamodb=cli_client)
    assert all(runs.values())  # the CLI's last read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("ITEST_CACHE_DIR", str(Path("/tmp") / f"dynamodb-bench-{os.getpid()}"))
    sys.path.insert(0, str(ROOT))
    moto = measure(False, args.runs, args.steps)
    fast = measure(True, args.runs, args.steps)
    n = args.runs * args.steps
    print(f"{args.runs} runs of {args.steps} steps; load average {os.getloadavg()[0]:.1f}\n")
    print("| operation | calls per step | moto, ms per call | fast, ms per call |")
    print("|---|---|---|---|")
    for op, count in sorted(moto["calls"].items(), key=lambda kv: -moto["spent"][kv[0]]):
        print(f"| {op} | {count / n:.2f} | {moto['spent'][op] * 1000 / count:.3f} | "
              f"{fast['spent'][op] * 1000 / fast['calls'][op]:.3f} |")  # fmt: skip
    total = {name: sum(m["spent"].values()) * 1000 / n for name, m in (("moto", moto),
                                                                       ("fast", fast))}  # fmt: skip
    print(
        f"\nmoto's DynamoDB CPU per step: {total['moto']:.2f} ms with moto's own code, "
        f"{total['fast']:.2f} ms with the fast paths"
    )


if __name__ == "__main__":
    main()
