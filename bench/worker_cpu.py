"""The Lambda handlers' own CPU per scenario step, apart from the local AWS's.

    python bench/worker_cpu.py [--runs 20] [--steps 10] [--profile 30] [--http]

Runs the orchestrator's handlers (Prepare, Action per step, Assert, Cleanup) in
this process, as warm Lambda workers do (one per handler: each keeps its own
scenarios), against the local AWS (`itest.cli.local.server`, what `itest local
up` runs) in a process of its own, so that its CPU is not counted, and a loopback
HTTP service in a third. The handlers' AWS calls go over a pipe to the local AWS
as a worker's do (cli/local/pipe_client.py), the engine's own calls lean as in a
worker (cli/local/lean_calls.py); `--botocore`: those through botocore; `--http`:
every call over HTTP. The scenario is the one bench/peers.py bursts: N steps
that each POST and check the status and a JSON field; each run has its own (as
in the burst, every worker reads and checks each scenario once). Prints the CPU
milliseconds (user + system of this process) per invocation of each handler and
per step, over `--runs` runs after one warm-up run; `--profile K` also prints
the K functions with the most CPU, inclusive and own (yappi, CPU clock, over the
measured runs; needs `pip install yappi`).

CPU time, not wall: on a shared machine the load changes the wall clock far more
than the CPU a call costs. Everything targets 127.0.0.1 and is bounded.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE, BUCKET = "itest-results", "itest-scenarios"
ECHO = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        data = json.dumps({"n": body.get("n"), "ok": True}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
"""


class Context:
    """A Lambda context with 15 minutes left (the Action function's timeout)."""

    aws_request_id = "bench"

    def __init__(self) -> None:
        self.end_ms = int(time.time() * 1000) + 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.end_ms - int(time.time() * 1000)


LOCAL_AWS = """
import json, sys, threading
from itest.cli.local import pipe_server
from itest.cli.local.server import local_aws
answers = []  # the local AWS's answerer of its workers' pipes
class Kept(pipe_server.PipeAnswers):
    def __init__(self, server):
        super().__init__(server)
        answers.append(self)
pipe_server.PipeAnswers = Kept
with local_aws() as aws:
    if len(sys.argv) > 1:  # this process's ends of the bench's pipe: requests, answers
        streams = (open(int(sys.argv[1]), "rb"), open(int(sys.argv[2]), "wb"))
        threading.Thread(target=pipe_server.serve, args=(*streams, answers[0]), daemon=True).start()
    print(json.dumps(aws.env()), flush=True)
    sys.stdin.read()
"""


@contextmanager
def process(*argv: str, pass_fds: tuple[int, ...] = ()) -> Iterator[str]:
    """A child process, stopped on exit; the first line it prints."""
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, pass_fds=pass_fds
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip()
    finally:
        child.terminate()
        child.wait(10)


def scenario(steps: int) -> dict[str, Any]:
    """bench/peers.py's scenario."""
    sys.path.insert(0, str(ROOT / "bench"))
    from peers import itest_scenario

    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    return json.loads(itest_scenario(folder, steps, f"worker-cpu-{os.getpid()}").read_text())


def setup(aws: dict[str, str]) -> None:
    """The environment a worker of the local AWS gives a handler, and the table and
    bucket it uses."""
    os.environ.update(aws, RESULTS_TABLE=TABLE, SCENARIO_BUCKET=BUCKET)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    from itest.lambdas.aws import client

    from tests.aws.tables import create_pk_sk_table

    create_pk_sk_table(client("dynamodb"), TABLE)
    client("s3").create_bucket(Bucket=BUCKET)
    client("s3").put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    # the bootstrap's log handler, writing where nobody reads
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(message)s"))
    logging.getLogger().addHandler(handler)


caches: dict[str, dict[Any, Any]] = {}


def run_once(key: str, api: str, number: int, cpu: dict[str, list[float]]) -> dict[str, Any]:
    """One run through the four handlers as the state machine calls them; adds each
    invocation's CPU seconds to ``cpu`` by handler. Returns the verdict."""
    from itest.lambdas import handlers, scenario_store

    def timed(name: str, call: Callable[[], Any]) -> Any:
        # each handler in a worker of its own: what one worker read, the others did not
        scenario_store._cache = caches.setdefault(name, {})
        before = time.process_time()
        result = call()
        cpu.setdefault(name, []).append(time.process_time() - before)
        return result

    run_id = f"worker-cpu-{number:04d}"
    arn = f"arn:aws:states:us-east-1:123456789012:execution:itest:{run_id}"
    event = {"input": {"scenario": {"bucket": BUCKET, "key": key}, "vars": {"api_url": api}},
             "run_id": run_id, "execution_arn": arn}  # fmt: skip
    prepared = timed("prepare", lambda: handlers.prepare(event, Context()))
    for step in prepared["steps"]:
        state = {"run_id": run_id, "execution_arn": arn, "scenario": prepared["scenario"],
                 "deadline": prepared["deadline"], "index": step["index"], "name": step["name"],
                 "attempt": 0}  # fmt: skip
        state = timed("action", lambda s=state: handlers.action(s, Context()))
        if state["outcome"] != "passed":
            raise RuntimeError(f"step {step['name']!r}: {state['reason']}")
    scenario = {"run_id": run_id, "execution_arn": arn, "scenario": prepared["scenario"]}
    timed("assert", lambda: handlers.assert_(scenario, Context()))
    ended = {"run_id": run_id, "execution_arn": arn, "started_at": "2026-11-30T00:00:00Z",
             "state": {"scenario": prepared["scenario"]}}  # fmt: skip
    return timed("cleanup", lambda: handlers.cleanup(ended, Context()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--profile", type=int, default=0, metavar="K")
    parser.add_argument("--http", action="store_true", help="AWS calls over HTTP, not a pipe")
    parser.add_argument(
        "--botocore", action="store_true", help="the engine's calls through botocore, not lean"
    )
    args = parser.parse_args()
    answers_read, answers_write = os.pipe()
    requests_read, requests_write = os.pipe()
    server_fds = () if args.http else (requests_read, answers_write)
    server_args = [str(fd) for fd in server_fds]
    with process(sys.executable, "-c", LOCAL_AWS, *server_args, pass_fds=server_fds) as aws, \
            process(sys.executable, "-c", ECHO) as api:  # fmt: skip
        os.close(requests_read)
        os.close(answers_write)
        env = json.loads(aws)
        if not args.http:  # as cli/local/lambda_bootstrap.py does, before botocore loads
            from itest.cli.local.pipe_client import install

            pipe = install(env["AWS_ENDPOINT_URL"], answers_read, requests_write)
        setup(env)
        if not args.http and not args.botocore:  # as the bootstrap does once boto3 is warm
            import boto3
            from itest.cli.local import lean_calls
            from itest.lambdas.aws import client

            lean_calls.install(pipe, boto3.DEFAULT_SESSION)
            client.cache_clear()
        from itest.lambdas.aws import client

        body = json.dumps(scenario(args.steps)).encode()
        keys = [f"scenarios/worker-cpu-{n}/bench.json" for n in range(args.runs + 1)]
        for key in keys:
            client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
        run_once(keys[0], api, 0, {})  # warm-up: imports, clients
        cpu: dict[str, list[float]] = {}
        if args.profile:
            import yappi

            yappi.set_clock_type("cpu")
            yappi.start()
        for number in range(1, args.runs + 1):
            verdict = run_once(keys[number], api, number, cpu)
            if verdict["status"] != "passed":
                raise RuntimeError(f"run {number}: {verdict}")
    print(f"handlers' CPU over {args.runs} runs of {args.steps} steps, AWS calls over "
          f"{'HTTP' if args.http else 'a pipe'}{'' if args.http or args.botocore else ', lean'} "
          f"(load average {os.getloadavg()[0]:.1f}), ms per invocation:")  # fmt: skip
    for name, times in cpu.items():
        print(f"  {name:8} median {statistics.median(times) * 1000:6.2f}, "
              f"mean {statistics.mean(times) * 1000:6.2f}")  # fmt: skip
    total = sum(sum(times) for times in cpu.values()) * 1000 / (args.runs * args.steps)
    print(f"  per step, all four handlers: {total:.2f} ms")
    if args.profile:
        yappi.stop()
        steps = args.runs * args.steps
        for sort in ("ttot", "tsub"):
            print(f"\nthe {args.profile} functions with the most CPU ({sort}), ms per step:")
            for stat in yappi.get_func_stats().sort(sort)[: args.profile]:
                where = f"{Path(stat.module).name}:{stat.lineno} {stat.name}"
                print(f"  {getattr(stat, sort) * 1000 / steps:7.3f}  {stat.ncall / steps:7.1f} "
                      f"calls  {where}")  # fmt: skip


if __name__ == "__main__":
    main()
