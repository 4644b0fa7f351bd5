"""Where a scenario step's CPU goes on the kept-up local AWS: a profile of its server.

    python bench/profile.py [--steps 100] [--burst N] [--top 25] [--cache DIR]

Starts the background local AWS's process (`itest.cli.local.daemon`) under yappi
(a profiler that sees every thread: moto's server answers each connection in a
thread of its own, and its Step Functions interpreter runs in others), runs one
warm-up scenario, then an N-step one through `itest run --local` (each step POSTs
to a loopback service and checks the answer) or, with `--burst N`, N such
scenarios at `--parallel N`, and prints:

- the CPU time per step of the server process, its Lambda workers and the CLI,
  read from /proc (the profiler slows the server: compare shares, not these
  totals, with bench/peers.py's);
- how busy the server process and the machine were while it ran (the server is
  one Python process: past one core it cannot go, whatever the machine has);
- the AWS requests the server answered per step, by caller (the Lambda workers,
  or the CLI's polling) and operation;
- the server's CPU split by what it was doing (one AWS request kind, the
  interpreter, the Lambda runner...), and the functions with the most CPU.

Needs `pip install yappi`. Everything targets 127.0.0.1 and is bounded.
"""

from __future__ import annotations

import argparse
import importlib.util
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

from peers import (  # noqa: E402
    Busy,
    itest_scenario,
    service,
    tree_cpu_seconds,
    wrapped_daemon,
)

# what the server was doing: inclusive CPU of these functions (file part, the function's
# name or its end), counted as each call returns: a function still running when the
# profile is written (a keep-alive connection's thread) is not, so requests are counted
# one by one (handle_one_request), and the interpreter by its threads (INTERPRETER)
ACTIVITIES = [
    ("HTTP requests, each (parse, answer, write)", "http/server.py", "handle_one_request"),
    ("Lambda workers' requests over their pipes, each", "cli/local/pipe_server.py",
     "PipeAnswers.__call__"),
    ("  of which moto answering (parse, act, serialize)", "moto/core/responses.py", "dispatch"),
    ("    DynamoDB", "moto/dynamodb/responses.py", "DynamoHandler.call_action"),
    ("    Step Functions API", "moto/core/responses.py", "StepFunctionResponse.call_action"),
    ("    S3", "moto/s3/responses.py", "S3Response.key_response"),
    ("Lambda invocations, the server's side (runner, pool, logs)", "cli/local/direct_invoke.py",
     "DirectLambda.invoke"),
    ("  of which the worker pool's", "cli/local/worker_pool.py", "WorkerPool.invoke"),
    ("Lambda worker pool: reading workers' output", "cli/local/worker_pool.py", "read_forever"),
]  # fmt: skip
INTERPRETER = ("eval", "_exec_and_notify", "_execution_logic")  # its threads' kinds


def profiled_daemon() -> None:
    """Run the daemon module under yappi; SIGUSR1 clears the profile, SIGUSR2 writes
    it (JSON, to the file named by ITEST_PROFILE_OUT)."""
    import runpy
    import threading

    import yappi

    out = Path(os.environ["ITEST_PROFILE_OUT"])
    requests = _count_requests()
    yappi.set_clock_type("cpu")
    yappi.set_context_name_callback(lambda: threading.current_thread().name)

    def clear(*_: object) -> None:
        yappi.clear_stats()
        requests.clear()

    signal.signal(signal.SIGUSR1, clear)
    signal.signal(signal.SIGUSR2, lambda *_: _write_profile(yappi, requests, out))
    yappi.start()
    sys.argv = [sys.argv[0], *sys.argv[3:]]  # after `--daemon itest.cli.local.daemon`
    runpy.run_module("itest.cli.local.daemon", run_name="__main__")


def _count_requests() -> dict[str, int]:
    """Count the requests the front door lets in, by caller and operation: a Lambda
    worker's SDK says so in its User-Agent (`exec-env/AWS_Lambda_...`); the rest are
    the CLI's (moto's interpreter invokes Lambda in-process, cli/local/direct_invoke.py)."""
    import collections

    from itest.cli.local.front_door import FrontDoor

    counts: collections.Counter[str] = collections.Counter()
    let_in = FrontDoor.__call__

    def counted(self: FrontDoor, environ: dict, start_response: object) -> object:
        caller = "Lambda" if "exec-env/AWS_Lambda" in environ.get("HTTP_USER_AGENT", "") else "CLI"
        target = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        operation = target or f"{environ.get('REQUEST_METHOD')} (S3, or a REST API)"
        counts[f"{caller} {operation}"] += 1  # a Counter's += is atomic enough for a tally
        return let_in(self, environ, start_response)

    FrontDoor.__call__ = counted  # type: ignore[method-assign]
    return counts


def _write_profile(yappi: object, requests: dict[str, int], out: Path) -> None:
    """Each function's own and inclusive CPU seconds and its calls; the requests."""
    stats = yappi.get_func_stats()  # type: ignore[attr-defined]
    threads: dict[str, float] = {}
    own_by_kind: dict[str, dict[str, float]] = {}  # per kind of thread: function -> own CPU
    for t in yappi.get_thread_stats():  # type: ignore[attr-defined]
        # the main thread (id 0) only waits for signals (0.00 s CPU in /proc), yet yappi gave
        # it a quarter of the CPU, and get_func_stats(ctx_id=0) is every thread's functions
        if t.id == 0:
            continue
        # "Thread-12 (process_request_thread)": what the thread runs
        kind = t.name.partition("(")[2].rstrip(")") or t.name.rstrip("-0123456789")
        threads[kind] = threads.get(kind, 0.0) + t.ttot
        functions = own_by_kind.setdefault(kind, {})
        for s in yappi.get_func_stats(ctx_id=t.id):  # type: ignore[attr-defined]
            name = f"{s.module}:{s.lineno} {s.name}"
            functions[name] = functions.get(name, 0.0) + s.tsub
    top_by_kind = {kind: sorted(functions.items(), key=lambda kv: -kv[1])[:5]
                   for kind, functions in own_by_kind.items()}  # fmt: skip
    rows = []
    for s in stats:
        rows.append({"name": f"{s.module}:{s.lineno} {s.name}", "own": s.tsub, "all": s.ttot,
                     "calls": s.ncall})  # fmt: skip
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"functions": rows, "threads": threads, "top_by_thread": top_by_kind,
                               "requests": dict(requests)}))  # fmt: skip
    tmp.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per scenario")
    parser.add_argument("--burst", type=int, default=1,
                        help="run this many scenarios at once (`--parallel N`)")  # fmt: skip
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cache", type=Path, help="ITEST_CACHE_DIR (keeps the synthesized "
                        "template between runs; default: a temp dir)")  # fmt: skip
    parser.add_argument("--save", type=Path, help="also write the whole profile (JSON) here")
    args = parser.parse_args()
    if importlib.util.find_spec("yappi") is None:  # the daemon would die with nothing said
        raise SystemExit("bench/profile.py needs yappi: pip install yappi")
    with tempfile.TemporaryDirectory() as tmp, service() as url:
        folder = Path(tmp)
        cache = args.cache or folder / "cache"
        out = folder / "profile.json"
        env = {**os.environ, "ITEST_CACHE_DIR": str(cache), "NO_COLOR": "1",
               "ITEST_PROFILE_OUT": str(out),
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
        os.environ["ITEST_CACHE_DIR"] = str(cache)
        with wrapped_daemon(__file__, env) as daemon:
            warm = itest_scenario(folder, 10)
            measured = [str(itest_scenario(folder, args.steps, f"profiled-{i:02d}"))
                        for i in range(args.burst)]  # fmt: skip
            run = [sys.executable, "-m", "itest.cli.main", "run", "--local", "--var",
                   f"api_url={url}"]  # fmt: skip
            subprocess.run([*run, str(warm)], env=env, check=True, capture_output=True)
            daemon.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            server_before = tree_cpu_seconds(daemon.pid)
            with Busy(daemon.pid) as busy:
                subprocess.run([*run, *measured, "--parallel", str(args.burst)], env=env,
                               check=True, capture_output=True, timeout=1800)  # fmt: skip
            server = tree_cpu_seconds(daemon.pid) - server_before
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            daemon.send_signal(signal.SIGUSR2)
            while not out.exists():
                time.sleep(0.2)
            if args.save:
                args.save.write_text(out.read_text())
            report(json.loads(out.read_text()), args, server, cli, busy)


def _is(row: dict, where: str, function: str) -> bool:
    """Whether the row (`module:line Class.method`) is `function` (`method` or
    `Class.method`) of a module whose path has `where`."""
    module, _, name = row["name"].partition(" ")
    return where in module and (name == function or name.endswith("." + function))


def report(profile: dict, args: argparse.Namespace, server: float, cli: float,
           busy: Busy) -> None:  # fmt: skip
    n = args.steps * args.burst

    def per_step(seconds: float) -> str:
        return f"{seconds * 1000 / n:.1f} ms"

    what = f"{args.burst} {args.steps}-step scenarios at `--parallel {args.burst}`"
    if args.burst == 1:
        what = f"{args.steps}-step scenario"
    print(f"{what} on the kept-up local AWS, profiled (yappi, CPU clock)\n")
    print(f"- CPU of the local AWS (server + Lambda workers), per step: {per_step(server)}")
    print(f"  of which the server process alone: {per_step(busy.server)}")
    print(f"- CPU of the `itest run` command, per step: {per_step(cli)}")
    print(f"- wall {busy.wall:.1f} s; the server process used {busy.server / busy.wall:.2f} "
          f"of a core (one is its most: a Python process), the machine "
          f"{busy.machine_share:.0%} of its {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f}; server threads at most {busy.threads}\n")  # fmt: skip
    rows, threads = profile["functions"], profile["threads"]
    print("| AWS requests answered, by caller | per step | in all |\n|---|---|---|")
    for name, count in sorted(profile["requests"].items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {count / n:.2f} | {count} |")
    print()
    total = sum(threads.values())
    print("| server CPU by thread (what it runs: its top functions by own CPU) | share | "
          "per step |\n|---|---|---|")  # fmt: skip
    for kind, seconds in sorted(threads.items(), key=lambda kv: -kv[1])[:8]:
        top = profile.get("top_by_thread", {}).get(kind, [])[:3]
        what = "; ".join(f"{name.rsplit('/', 1)[-1]} {own / seconds:.0%}" for name, own in top
                         if seconds)  # fmt: skip
        print(f"| {kind}: {what} | {seconds / total:.0%} | {per_step(seconds)} |")
    print()
    print("| server CPU by activity (inclusive) | share | per step |\n|---|---|---|")
    for label, where, function in ACTIVITIES:
        seconds = sum(r["all"] for r in rows if _is(r, where, function))
        print(f"| {label} | {seconds / total:.0%} | {per_step(seconds)} |")
    seconds = sum(threads.get(kind, 0.0) for kind in INTERPRETER)
    print(f"| Step Functions interpreter (its threads: {', '.join(INTERPRETER)}) "
          f"| {seconds / total:.0%} | {per_step(seconds)} |")  # fmt: skip
    print(f"\n| top {args.top} functions by own CPU | share | calls per step |\n|---|---|---|")
    for r in sorted(rows, key=lambda r: -r["own"])[: args.top]:
        print(f"| {r['name']} | {r['own'] / total:.1%} | {r['calls'] / n:.0f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--daemon"]:
        profiled_daemon()
    else:
        main()
