"""The local AWS's Step Functions interpreter: its CPU per scenario step, by kind of thread.

    python bench/interpreter_cpu.py [--runs 50] [--steps 10] [--rounds 3]

Starts a local AWS in this process, deploys a state machine of the orchestrator's
shape (infra/workflow.py: Prepare, a Map of one Action, CheckOutcome and
StepPassed per step, Cleanup, Verdict: the one tests/aws/test_local_sfn_interpreter.py
runs with and without the interpreter's patches) over a handler that does
nothing but answer, starts `runs` executions of `steps` steps at once and waits
for them to end. Prints, per step, the CPU of the server process's threads by what they
run (moto's interpreter threads: `_execution_logic` per execution, with its
program's states when the program has no `TimeoutSeconds` (cli/local/fast_paths.py),
`eval` per Map, whose iterations' states run in it, with the server's side of each
Lambda invocation, and per timed program, `_exec_and_notify` for any other Task
state; the threads still running at the end: the worker pool's readers, the
HTTP threads of this script's own StartExecution/DescribeExecution calls), read
with each thread's CPU clock as it ends, and each state's own CPU (its thread's
clock around it): no profiler, so no profiler's distortion. The handler's own
CPU is in its worker process, not counted. The best of `rounds` rounds is
printed (the machine is shared: the least disturbed round is the closest to the
code's own cost).

In-process, bounded, loopback only. Name the load average with the numbers.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class ThreadCpu:
    """CPU seconds of the threads that ended, by what they ran (`Thread-12 (eval)`: eval)."""

    def __init__(self) -> None:
        self.seconds: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._run = threading.Thread.run

    def __enter__(self) -> ThreadCpu:
        run, seconds, lock = self._run, self.seconds, self._lock

        def counted(thread: threading.Thread) -> None:
            try:
                run(thread)
            finally:
                if threading.current_thread() is thread:  # not run in another's thread
                    kind = re.sub(r"^.*\((.*)\)$", r"\1", thread.name)
                    with lock:
                        seconds[kind] += time.thread_time()

        threading.Thread.run = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        threading.Thread.run = self._run  # type: ignore[method-assign]


class StateCpu:
    """CPU seconds each state's own evaluation took in its thread (its inner states', e.g. a
    Map's iterations, not included) and how many times it ran, by state name. A Lambda
    task's invocation is its own (cli/local/fast_paths.py runs it in the state's thread);
    another Task's runs in a thread of its own (`_exec_and_notify`), counted there."""

    def __init__(self) -> None:
        self.seconds: collections.Counter[str] = collections.Counter()
        self.entered: collections.Counter[str] = collections.Counter()
        self._local = threading.local()
        self._lock = threading.Lock()

    def __enter__(self) -> StateCpu:
        from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

        self._owner = CommonStateField
        self._body = body = CommonStateField.__dict__["_eval_body"]
        local, lock, seconds, entered = self._local, self._lock, self.seconds, self.entered

        def timed(state: Any, env: Any) -> None:
            inner = getattr(local, "inner", None)
            local.inner = [0.0]
            start = time.thread_time()
            try:
                body(state, env)
            finally:
                spent = time.thread_time() - start
                own = spent - local.inner[0]
                local.inner = inner
                if inner is not None:
                    inner[0] += spent
                with lock:
                    seconds[state.name] += own
                    entered[state.name] += 1

        CommonStateField._eval_body = timed
        return self

    def __exit__(self, *_: object) -> None:
        self._owner._eval_body = self._body


def burst(aws: Any, machine: str, runs: int, steps: int, tag: str) -> None:
    sfn = aws.client("stepfunctions")
    given = json.dumps({"steps": [f"step {i}" for i in range(steps)], "flaky": ""})
    arns = [sfn.start_execution(stateMachineArn=machine, name=f"{tag}-{i}", input=given)[
                "executionArn"] for i in range(runs)]  # fmt: skip
    deadline = time.monotonic() + 60 + runs * steps * 0.1
    for arn in arns:
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise SystemExit(f"{arn} did not end")
            time.sleep(0.2)
        if described["status"] != "SUCCEEDED":
            raise SystemExit(f"{arn}: {described}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("ITEST_CACHE_DIR", f"/tmp/interpreter-bench-{os.getpid()}")
    sys.path.insert(0, str(ROOT))
    from itest.cli.local.server import local_aws

    from tests.aws.lambda_zip import zip_files
    from tests.aws.test_local_sfn_interpreter import HANDLER, orchestrator_shape

    n = args.runs * args.steps
    with local_aws() as aws:
        role = aws.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        function = aws.client("lambda").create_function(
            FunctionName="bench", Runtime="python3.12", Role=role["Role"]["Arn"],
            Handler="index.handler",
            Timeout=60,  # a queue of 50 invocations on one warm worker waits its turn
            Code={"ZipFile": aws.register_code(zip_files({"index.py": HANDLER}))},
        )["FunctionArn"]  # fmt: skip
        machine = aws.client("stepfunctions").create_state_machine(
            name="bench", definition=orchestrator_shape(function), roleArn=role["Role"]["Arn"]
        )["stateMachineArn"]
        burst(aws, machine, 2, 2, "warm-up")
        best: tuple[float, dict[str, float]] | None = None
        for round_ in range(args.rounds):
            gc.collect()
            with ThreadCpu() as threads, StateCpu() as states:
                cpu = time.process_time()
                started = time.monotonic()
                burst(aws, machine, args.runs, args.steps, f"round-{round_}")
                cpu = time.process_time() - cpu
                wall = time.monotonic() - started
            time.sleep(0.5)  # the last threads end
            print(f"round {round_ + 1}: process {cpu * 1000 / n:.2f} ms a step, wall {wall:.1f} s")
            if best is None or cpu < best[0]:
                best = (cpu, dict(threads.seconds), dict(states.seconds), dict(states.entered))
    assert best is not None
    cpu, seconds, by_state, entered = best
    print(f"\n{args.runs} runs of {args.steps} steps at once; load average "
          f"{os.getloadavg()[0]:.1f}; best round: the server process "
          f"{cpu * 1000 / n:.2f} ms a step\n")  # fmt: skip
    print("| threads (what they run) | ms a step |\n|---|---|")
    for kind, spent in sorted(seconds.items(), key=lambda kv: -kv[1]):
        if spent * 1000 / n >= 0.005:
            print(f"| {kind} | {spent * 1000 / n:.2f} |")
    print(
        "\n| state (its own evaluation, in its thread) | times a step | ms a step | "
        "us each |\n|---|---|---|---|"
    )
    for name, spent in sorted(by_state.items(), key=lambda kv: -kv[1]):
        print(
            f"| {name} | {entered[name] / n:.2f} | {spent * 1000 / n:.3f} | "
            f"{spent * 1e6 / entered[name]:.0f} |"
        )
    rest = cpu - sum(seconds.values())
    print(
        f"| threads still running (HTTP keep-alive, the pool's readers), the main thread "
        f"| {rest * 1000 / n:.2f} |"
    )


if __name__ == "__main__":
    main()
