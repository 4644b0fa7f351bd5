"""Where a scenario step's CPU goes on the kept-up local AWS: a profile of its server.

    python bench/profile.py [--steps 100] [--top 25] [--cache DIR]

Starts the background local AWS's process (`itest.cli.local.daemon`) under yappi
(a profiler that sees every thread: moto's server answers each connection in a
thread of its own, and its Step Functions interpreter runs in others), runs one
warm-up scenario, then an N-step one through `itest run --local` (each step POSTs
to a loopback service and checks the answer), and prints:

- the CPU time per step of the server process, its Lambda workers and the CLI,
  read from /proc (the profiler slows the server: compare shares, not these
  totals, with bench/peers.py's);
- the server's CPU split by what it was doing (one AWS request kind, the
  interpreter, the Lambda runner...), and the functions with the most CPU.

Needs `pip install yappi`. Everything targets 127.0.0.1 and is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from peers import ROOT, itest_scenario, service, tree_cpu_seconds  # noqa: E402

# what the server was doing: inclusive CPU of these functions (file part, function name)
ACTIVITIES = [
    ("HTTP requests, all (a thread per connection)", "socketserver.py", "process_request_thread"),
    ("  of which moto answering (parse, act, serialize)", "moto/core/responses.py", "dispatch"),
    ("    DynamoDB", "moto/dynamodb/responses.py", "call_action"),
    ("    Lambda Invoke (the worker's run included)", "moto/awslambda/responses.py", "invoke"),
    ("    Step Functions API", "moto/stepfunctions/responses.py", "call_action"),
    ("Step Functions interpreter (executions)", "execution_worker.py", "_execution_logic"),
    ("  of which its AWS calls, client side", "botocore/client.py", "_make_api_call"),
    ("Lambda worker pool: reading workers' output", "cli/local/worker_pool.py", "read_forever"),
]


def profiled_daemon() -> None:
    """Run the daemon module under yappi; SIGUSR1 clears the profile, SIGUSR2 writes
    it (JSON, to the file named by ITEST_PROFILE_OUT)."""
    import runpy
    import threading

    import yappi

    out = Path(os.environ["ITEST_PROFILE_OUT"])
    yappi.set_clock_type("cpu")
    yappi.set_context_name_callback(lambda: threading.current_thread().name)
    signal.signal(signal.SIGUSR1, lambda *_: yappi.clear_stats())
    signal.signal(signal.SIGUSR2, lambda *_: _write_profile(yappi, out))
    yappi.start()
    sys.argv = [sys.argv[0], *sys.argv[3:]]  # after `--daemon itest.cli.local.daemon`
    runpy.run_module("itest.cli.local.daemon", run_name="__main__")


def _write_profile(yappi: object, out: Path) -> None:
    """Each function's own and inclusive CPU seconds and its calls."""
    stats = yappi.get_func_stats()  # type: ignore[attr-defined]
    threads: dict[str, float] = {}
    for t in yappi.get_thread_stats():  # type: ignore[attr-defined]
        # "Thread-12 (process_request_thread)": what the thread runs
        kind = t.name.partition("(")[2].rstrip(")") or t.name.rstrip("-0123456789")
        threads[kind] = threads.get(kind, 0.0) + t.ttot
    rows = []
    for s in stats:
        rows.append({"name": f"{s.module}:{s.lineno} {s.name}", "own": s.tsub, "all": s.ttot,
                     "calls": s.ncall})  # fmt: skip
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"functions": rows, "threads": threads}))
    tmp.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cache", type=Path, help="ITEST_CACHE_DIR (keeps the synthesized "
                        "template between runs; default: a temp dir)")  # fmt: skip
    parser.add_argument("--save", type=Path, help="also write the whole profile (JSON) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, service() as url:
        folder = Path(tmp)
        cache = args.cache or folder / "cache"
        out = folder / "profile.json"
        env = {**os.environ, "ITEST_CACHE_DIR": str(cache), "NO_COLOR": "1",
               "ITEST_PROFILE_OUT": str(out),
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
        os.environ["ITEST_CACHE_DIR"] = str(cache)
        from itest.cli.local.background import running, state_dir

        log = state_dir() / "server.log"
        daemon = subprocess.Popen(
            [sys.executable, __file__, "--daemon", "itest.cli.local.daemon", "--log", str(log)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while (state := running()) is None or state.pid != daemon.pid:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the local AWS did not start: see {log}")
                time.sleep(0.5)
            warm, big = itest_scenario(folder, 10), itest_scenario(folder, args.steps)
            run = [sys.executable, "-m", "itest.cli.main", "run", "--local", "--var",
                   f"api_url={url}"]  # fmt: skip
            subprocess.run([*run, str(warm)], env=env, check=True, capture_output=True)
            daemon.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            server_before = tree_cpu_seconds(daemon.pid)
            subprocess.run([*run, str(big)], env=env, check=True, capture_output=True,
                           timeout=1800)  # fmt: skip
            server = tree_cpu_seconds(daemon.pid) - server_before
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            daemon.send_signal(signal.SIGUSR2)
            while not out.exists():
                time.sleep(0.2)
            if args.save:
                args.save.write_text(out.read_text())
            report(json.loads(out.read_text()), args, server, cli)
        finally:
            daemon.terminate()
            daemon.wait(30)


def _function(row: dict) -> str:
    """`module:line Class.method` -> `method`."""
    return row["name"].split(" ", 1)[1].rsplit(".", 1)[-1]


def report(profile: dict, args: argparse.Namespace, server: float, cli: float) -> None:
    n = args.steps

    def per_step(seconds: float) -> str:
        return f"{seconds * 1000 / n:.1f} ms"

    print(f"{n}-step scenario on the kept-up local AWS, profiled (yappi, CPU clock)\n")
    print(f"- CPU of the local AWS (server + Lambda workers), per step: {per_step(server)}")
    print(f"- CPU of the `itest run` command, per step: {per_step(cli)}\n")
    rows, threads = profile["functions"], profile["threads"]
    total = sum(threads.values())
    print("| server CPU by thread (what it runs) | share | per step |\n|---|---|---|")
    for kind, seconds in sorted(threads.items(), key=lambda kv: -kv[1])[:8]:
        print(f"| {kind} | {seconds / total:.0%} | {per_step(seconds)} |")
    print()
    print("| server CPU by activity (inclusive) | share | per step |\n|---|---|---|")
    for label, where, function in ACTIVITIES:
        seconds = sum(r["all"] for r in rows if where in r["name"] and _function(r) == function)
        print(f"| {label} | {seconds / total:.0%} | {per_step(seconds)} |")
    print(f"\n| top {args.top} functions by own CPU | share | calls per step |\n|---|---|---|")
    for r in sorted(rows, key=lambda r: -r["own"])[: args.top]:
        print(f"| {r['name']} | {r['own'] / total:.1%} | {r['calls'] / n:.0f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--daemon"]:
        profiled_daemon()
    else:
        main()
