"""Where a step's time goes in the 50-run burst: a timeline of the server and its workers.

    python bench/timeline.py [--burst 50] [--steps 10] [--cache DIR] [--lanes N]
                             [--switch MS] [--bursts K [--nice N]] [--brief] [--save FILE]

Starts the background local AWS's process (`itest.cli.local.daemon`) with timestamps
(CLOCK_MONOTONIC, the same clock in every process) recorded at each point a Lambda
invocation passes: asked for a worker, got one, request written to the child, answer
read by the child's reader thread, seen by the invoking thread, worker handed back;
and, inside each Lambda worker (a wrapper around cli/local/lambda_bootstrap.py), its
handler's start and end and every AWS call it sends (start, answer read). The server's
HTTP handler threads record when they start reading a request. Then one warm-up run
and a burst of N scenarios at `--parallel N`, and prints:

- per function, how busy its workers ("lanes") were: the share of the burst each
  spent inside its handler, and the gaps between one invocation's end and the next
  one's start on the same worker, split into the server's hops (reader thread woke,
  invoking thread woke, the next queued invocation's event written, the child read
  it);
- per AWS call of the busiest function's workers: its latency as the worker saw it,
  split into the wait before a server thread began reading it (the thread woke and
  took the GIL) and the rest (the server's handling, the worker reading the answer);
- the load average, the machine's and the server's CPU.

`--lanes N` keeps N warm workers per function from the start (`ITEST_LAMBDA_WORKERS`
N and no growth delay: the warm-up's 4 runs at once start them). `--bursts K` runs K
bursts on the same local AWS, every other one with the server's GIL switch interval at
`--switch MS` (`sys.setswitchinterval`, else 5 ms) and its Lambda workers' autogroup
at niceness `--nice N` (else 0; each worker is a session of its own, so with the
kernel's autogroups a worker's plain `nice` only ranks it against itself), then the
median wall of each kind.
Bounded: everything targets 127.0.0.1.

What it showed (2 cores, 50 x 10 steps, workers' calls over their pipe):
the one Action worker is in its handler ~85% of the burst, 5.5-8.5 ms an invocation
(its CPU 2.6-3.6 ms, waiting for a core 0.5-1, its 3-4 AWS calls 3-4.5); with two
Action workers each invocation's calls take 1.5-2 times as long (4.5-5.5 ms at load
1.5-2, 8.5-10 ms at load 4-6): the server process, one GIL, is what every lane waits
on (its threads are preempted ~5 times a step). Two gained 7-15% on a quiet machine
(3.7-4.0 s against 4.1-5.2 s, machine 67-73% busy against 60%), nothing at load 4-6.
Of the server's ~270 threads in the burst, 250 are moto's interpreter, 5 per
execution, all parked (joins, events, the pool's queue): the GIL is contended by a
handful (pipe and reader threads, the running task, the CLI's connections).
With the engine's lean calls (cli/local/lean_calls.py), at load 6-8, `--lanes 1`
against `--lanes 2`, 4 pairs: the one Action worker in its handler 6.5-10 ms an
invocation (CPU 2.0-2.3), 57-67% of the burst; the burst 4.7-8.2 s (median 7.0)
against 4.5-6.3 s (median 5.9) with two, whose CPU per step was 6.1-7.4 ms against
5.9-6.6; at load 15-20 no order (3 pairs, 12.6-37 s either way).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
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

WORKER_WRAPPER = """
import importlib.util, json, os, sys, time
spec = importlib.util.spec_from_file_location("lambda_bootstrap", {bootstrap!r})
boot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(boot)
out = {out!r} + ".worker." + str(os.getpid())
name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
events = []
clock = time.monotonic
load = boot._load_handler

def _queued():
    with open("/proc/self/schedstat") as f:
        return int(f.read().split()[1]) / 1e9

def _load(spec):
    handler = load(spec)
    def timed(event, context):
        if not timed_calls:  # botocore loaded by now (the worker's pipe hooks its import)
            _time_calls()
        start, cpu, queued = clock(), time.process_time(), _queued()
        try:
            return handler(event, context)
        finally:
            events.append(("handler", name, context.aws_request_id, start, clock(),
                           time.process_time() - cpu, _queued() - queued))
            with open(out, "a") as f:
                f.write("".join(json.dumps(e) + "\\n" for e in events))
            events.clear()
    return timed

timed_calls = []
def _time_calls():
    import botocore.endpoint
    get = botocore.endpoint.Endpoint._do_get_response
    def _get(self, request, *rest):
        start = clock()
        try:
            return get(self, request, *rest)
        finally:
            target = request.headers.get("X-Amz-Target", b"")
            target = target.decode() if isinstance(target, bytes) else target
            op = target.rpartition(".")[2] or request.method
            events.append(("call", name, op, start, clock()))
    botocore.endpoint.Endpoint._do_get_response = _get
    timed_calls.append(True)

local_module = boot._local_module
def _local_module(module_name):  # the engine's lean calls (cli/local/lean_calls.py) timed too
    module = local_module(module_name)
    if module_name == "lean_calls":
        send = module.LeanClient._send
        def _send(self, head, body):
            start = clock()
            try:
                return send(self, head, body)
            finally:
                target = dict(head["headers"]).get("X-Amz-Target", "")
                events.append(("call", name, target.rpartition(".")[2] or head["method"],
                               start, clock()))
        module.LeanClient._send = _send
    return module

boot._load_handler = _load
boot._local_module = _local_module
boot.main()
"""


def traced_daemon() -> None:
    """Run the daemon module with the timeline's hooks; SIGUSR1 clears, SIGUSR2 writes."""
    import runpy
    import threading

    from itest.cli.local import keep_alive, worker_pool

    out = Path(os.environ["ITEST_TIMELINE_OUT"])
    default_switch = sys.getswitchinterval()
    if switch := os.environ.get("ITEST_TIMELINE_SWITCH"):  # SIGHUP: this; SIGWINCH: default
        signal.signal(signal.SIGHUP, lambda *_: sys.setswitchinterval(float(switch) / 1000))
        signal.signal(signal.SIGWINCH, lambda *_: sys.setswitchinterval(default_switch))
    if os.environ.get("ITEST_TIMELINE_LANES"):
        worker_pool.GROW_AFTER_SECONDS = 0.0
        worker_pool.BUSY_SHARE = 1e9
    wrapper = out.with_name("worker_wrapper.py")
    wrapper.write_text(WORKER_WRAPPER.format(bootstrap=str(worker_pool.BOOTSTRAP), out=str(out)))
    worker_pool.BOOTSTRAP = wrapper
    events: list[tuple] = []
    clock = time.monotonic
    record = events.append

    pool = worker_pool.WorkerPool
    checkout, invoke, checkin = pool._checkout, pool._invoke, pool._checkin
    sent: dict[str, float] = {}  # request id -> when its event was written to the child

    def _checkout(self, spec, *rest):  # type: ignore[no-untyped-def]
        start = clock()
        worker = checkout(self, spec, *rest)
        record(("checkout", spec.name, id(worker), start, clock()))
        return worker

    def _invoke(self, worker, *rest):  # type: ignore[no-untyped-def]
        request_id = getattr(rest[0], "request_id", None) or rest[-1]  # a ticket, or (event, id)
        start = clock()
        outcome = invoke(self, worker, *rest)
        record(("invoke", worker.spec.name, id(worker), request_id, start, clock(),
                getattr(worker.messages, "last", 0.0), sent.pop(request_id, start)))  # fmt: skip
        return outcome

    def _checkin(self, worker):  # type: ignore[no-untyped-def]
        record(("checkin", worker.spec.name, id(worker), clock()))
        return checkin(self, worker)

    if send := getattr(pool, "_send", None):  # who writes the event, and when

        def _send(self, worker, ticket):  # type: ignore[no-untyped-def]
            sent[ticket.request_id] = clock()
            return send(self, worker, ticket)

        pool._send = _send
    pool._checkout, pool._invoke, pool._checkin = _checkout, _invoke, _checkin

    class TimedQueue(worker_pool.queue.Queue):
        last = 0.0

        def put(self, item, *a, **kw):  # type: ignore[no-untyped-def]
            if item[0] == "message":
                self.last = clock()
            return super().put(item, *a, **kw)

    init = worker_pool._Worker.__init__

    def _init(self, *a, **kw):  # type: ignore[no-untyped-def]
        init(self, *a, **kw)
        self.messages = TimedQueue()

    worker_pool._Worker.__init__ = _init

    handler = keep_alive.KeepAliveHandler
    parse, run = handler.parse_request, handler.run_wsgi

    def parse_request(self):  # type: ignore[no-untyped-def]
        self._t0 = clock()
        return parse(self)

    def run_wsgi(self):  # type: ignore[no-untyped-def]
        try:
            return run(self)
        finally:
            agent = self.headers.get("User-Agent", "")
            caller = "Lambda" if "exec-env/AWS_Lambda" in agent else "CLI"
            op = self.headers.get("X-Amz-Target", "").rpartition(".")[2] or self.command
            record(("http", caller, op, self._t0, clock(), threading.get_ident()))

    handler.parse_request, handler.run_wsgi = parse_request, run_wsgi

    def clear(*_: object) -> None:
        events.clear()

    def write(*_: object) -> None:
        tmp = out.with_suffix(".tmp")
        tmp.write_text("\n".join(json.dumps(e) for e in list(events)))
        tmp.replace(out)

    signal.signal(signal.SIGUSR1, clear)
    signal.signal(signal.SIGUSR2, write)
    sys.argv = [sys.argv[0], *sys.argv[3:]]  # after `--daemon itest.cli.local.daemon`
    runpy.run_module("itest.cli.local.daemon", run_name="__main__")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--cache", type=Path, help="ITEST_CACHE_DIR (default: a temp dir)")
    parser.add_argument("--switch", type=float, help="the server's GIL switch interval, ms")
    parser.add_argument("--lanes", type=int, help="warm workers per function from the start")
    parser.add_argument("--bursts", type=int, default=1, help="bursts, one after another")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="every other burst, the Lambda "
        "workers' autogroup niceness (each worker is a session of its own)",
    )
    parser.add_argument("--brief", action="store_true", help="one line per burst")
    parser.add_argument("--save", type=Path, help="also write the raw events (JSON lines) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, service() as url:
        folder = Path(tmp)
        cache = args.cache or folder / "cache"
        out = folder / "timeline.jsonl"
        env = {**os.environ, "ITEST_CACHE_DIR": str(cache), "NO_COLOR": "1",
               "ITEST_TIMELINE_OUT": str(out),
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
        if args.switch:
            env["ITEST_TIMELINE_SWITCH"] = str(args.switch)
        if args.lanes:
            env["ITEST_TIMELINE_LANES"] = "1"
            env["ITEST_LAMBDA_WORKERS"] = str(args.lanes)
        os.environ["ITEST_CACHE_DIR"] = str(cache)
        with wrapped_daemon(__file__, env) as daemon:
            run = [sys.executable, "-m", "itest.cli.main", "run", "--local", "--var",
                   f"api_url={url}"]  # fmt: skip
            warm = [str(itest_scenario(folder, args.steps, f"warm-{i}")) for i in range(4)]
            done = subprocess.run([*run, *warm, "--parallel", "4"], env=env,
                                  capture_output=True, text=True)  # fmt: skip
            if done.returncode:
                raise SystemExit(f"the warm-up failed:\n{done.stdout}{done.stderr}")
            measured = [str(itest_scenario(folder, args.steps, f"burst-{i:02d}"))
                        for i in range(args.burst)]  # fmt: skip
            walls: dict[str, list[float]] = defaultdict(list)
            for n in range(args.bursts):
                nice = args.nice if n % 2 else 0  # A/B: every other burst's workers niced
                if args.switch:  # and the server's GIL switch interval
                    daemon.send_signal(signal.SIGHUP if n % 2 else signal.SIGWINCH)
                kind = f"nice {nice}" + (
                    f", switch {args.switch if n % 2 else 5:g} ms" if args.switch else ""
                )
                for worker in _children(daemon.pid):
                    with contextlib.suppress(OSError):
                        Path(f"/proc/{worker}/autogroup").write_text(str(nice))
                for worker_file in folder.glob("timeline.jsonl.worker.*"):
                    worker_file.unlink()
                out.unlink(missing_ok=True)
                daemon.send_signal(signal.SIGUSR1)
                time.sleep(0.3)
                wall, summary = one_burst(daemon.pid, [*run, *measured, "--parallel",
                                          str(args.burst)], env, folder, out, args)  # fmt: skip
                walls[kind].append(wall)
                print(f"burst {n + 1}, workers' autogroup {kind}: {summary}", flush=True)
            if args.bursts > 1:
                print(
                    "median wall:",
                    ", ".join(
                        f"{k}: {statistics.median(v):.2f} s ({len(v)})" for k, v in walls.items()
                    ),
                )


def one_burst(pid: int, command: list[str], env: dict[str, str], folder: Path, out: Path,
              args: argparse.Namespace) -> tuple[float, str]:  # fmt: skip
    """Run one burst; print its full report unless `--brief`; return its wall and a
    one-line summary."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    local_before = tree_cpu_seconds(pid)
    queued_before = run_queue_seconds(pid)
    switches_before = server_switches(pid)
    began = time.monotonic()
    with Busy(pid) as busy:
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    ended = time.monotonic()
    queued = {k: v - queued_before[k][0] for k, (v, _) in run_queue_seconds(pid).items()
              if k in queued_before}  # fmt: skip
    voluntary, involuntary = (b - a for a, b in zip(switches_before, server_switches(pid),
                                                  strict=True))  # fmt: skip
    local = tree_cpu_seconds(pid) - local_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    os.kill(pid, signal.SIGUSR2)
    while not out.exists():
        time.sleep(0.2)
    events = [json.loads(x) for x in out.read_text().splitlines() if x]
    for worker_file in folder.glob("timeline.jsonl.worker.*"):
        events += [json.loads(x) for x in worker_file.read_text().splitlines() if x]
    if args.save:
        args.save.write_text("\n".join(json.dumps(e) for e in events))
    if not args.brief:
        print(
            "waiting for a core during the burst (long-lived threads):",
            ", ".join(f"{k} {v:.2f} s" for k, v in sorted(queued.items())),
        )
        report(events, began, ended, busy, local, cli, args)
    steps = args.burst * args.steps
    action = [e for e in events if e[0] == "handler" and "Action" in e[1]]
    calls = sum(e[4] - e[3] for e in events if e[0] == "call" and "Action" in e[1])
    lanes = len({e[2] for e in events if e[0] == "invoke" and "Action" in e[1]})
    each = len(action) or 1
    return ended - began, (
        f"wall {ended - began:.2f} s, load {os.getloadavg()[0]:.1f}, machine "
        f"{busy.machine_share:.0%}, server {busy.server / (ended - began):.2f} core, CPU/step "
        f"{local * 1000 / steps:.1f} + CLI {cli * 1000 / steps:.1f} ms; server threads' "
        f"switches per step (long-lived): {voluntary / steps:.0f} blocked, "
        f"{involuntary / steps:.1f} preempted; {lanes} Action lanes: "
        f"handler {sum(e[4] - e[3] for e in action) * 1000 / each:.1f} ms (CPU "
        f"{sum(e[5] for e in action) * 1000 / each:.1f}, core wait "
        f"{sum(e[6] for e in action) * 1000 / each:.1f}, AWS calls {calls * 1000 / each:.1f})"
    )


def _children(pid: int) -> list[int]:
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in kids.split()]


def run_queue_seconds(pid: int) -> dict[str, tuple[float, float]]:
    """Per kind of thread of the server (its name) and per Lambda worker: seconds spent
    runnable but waiting for a core, from /proc/*/task/*/schedstat (summed by kind)."""
    found: dict[str, tuple[float, float]] = {}
    for process in [pid, *_children(pid)]:
        for task in Path(f"/proc/{process}/task").glob("*"):
            try:
                run, wait, _ = (Path(task) / "schedstat").read_text().split()
                comm = (Path(task) / "comm").read_text().strip()
            except OSError:
                continue
            key = f"worker {process}" if process != pid else f"server {comm.rstrip('0123456789')}"
            a, b = found.get(key, (0.0, 0.0))
            found[key] = (a + int(wait) / 1e9, b + int(run) / 1e9)
    return found


def server_switches(pid: int) -> tuple[int, int]:
    """Context switches of the server's live threads: voluntary (a thread blocked: on the
    GIL, a lock, a socket) and involuntary (preempted for another task)."""
    voluntary = involuntary = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
    return voluntary, involuntary


def ms(values: list[float]) -> str:
    """Median, 90th percentile and sum of durations in seconds, as milliseconds."""
    if not values:
        return "-"
    values = sorted(values)
    p90 = values[int(len(values) * 0.9)]
    return f"{statistics.median(values) * 1000:.1f} / {p90 * 1000:.1f} ms (sum {sum(values):.2f} s)"


def report(events: list, began: float, ended: float, busy: Busy, local: float, cli: float,
           args: argparse.Namespace) -> None:  # fmt: skip
    wall = ended - began
    steps = args.burst * args.steps
    print(f"{args.burst} x {args.steps}-step burst: wall {wall:.2f} s; load average "
          f"{os.getloadavg()[0]:.1f}; machine {busy.machine_share:.0%} of {os.cpu_count()} "
          f"cores; server {busy.server / wall:.2f} of a core, threads at most {busy.threads}; "
          f"CPU per step: local AWS {local * 1000 / steps:.1f} ms (server "
          f"{busy.server * 1000 / steps:.1f}), CLI {cli * 1000 / steps:.1f} ms")  # fmt: skip
    by_kind: dict[str, list] = defaultdict(list)
    for e in events:
        by_kind[e[0]].append(e)
    handlers = {e[2]: e for e in by_kind["handler"]}
    invokes = by_kind["invoke"]
    checkouts = by_kind["checkout"]
    print("\n| function: lanes (workers used) | invocations | in handler, share of wall "
          "| checkout wait | invoke (server side) |\n|---|---|---|---|---|")  # fmt: skip
    for name in sorted({e[1] for e in invokes}):
        mine = [e for e in invokes if e[1] == name]
        lanes = {e[2] for e in mine}
        inside = sum(handlers[e[3]][4] - handlers[e[3]][3] for e in mine if e[3] in handlers)
        waits = [e[4] - e[3] for e in checkouts if e[1] == name]
        print(f"| {name[-20:]}: {len(lanes)} | {len(mine)} | {inside / wall / len(lanes):.0%} "
              f"each | {ms(waits)} | {ms([e[5] - e[4] for e in mine])} |")  # fmt: skip
    # hops of the busiest function's lanes: handler end -> next handler start on that lane
    name = max({e[1] for e in invokes}, key=lambda n: sum(e[1] == n for e in invokes))
    lane_of: dict[int, list] = defaultdict(list)
    for e in invokes:
        if e[1] == name and e[3] in handlers:
            lane_of[e[2]].append(e)
    hops: dict[str, list[float]] = defaultdict(list)
    checkin_at = {e[2]: [] for e in by_kind["checkin"]}
    for e in by_kind["checkin"]:
        checkin_at[e[2]].append(e[3])
    for lane, items in lane_of.items():
        items.sort(key=lambda e: e[4])
        ins = sorted(checkin_at.get(lane, []))
        for a, b in itertools.pairwise(items):
            h_a, h_b = handlers[a[3]], handlers[b[3]]
            done, read, seen = h_a[4], a[6], a[5]
            back = next((t for t in ins if t >= seen), seen)
            hops["child's answer -> reader thread read it"].append(read - done)
            hops["reader -> invoking thread woke (invoke returned)"].append(seen - read)
            hops["invoke returned -> worker handed back (logs)"].append(back - seen)
            hops["handed back -> next invocation's event written"].append(b[7] - back)
            hops["event written -> child's handler began"].append(h_b[3] - b[7])
            hops["whole gap, handler end -> next handler start"].append(h_b[3] - done)
    print(f"\n| {name[-20:]}: between two invocations on one lane | median / p90 "
          f"(sum) |\n|---|---|")  # fmt: skip
    for hop, values in hops.items():
        print(f"| {hop} | {ms(values)} |")
    # the worker's AWS calls against the server's handling of them
    calls = [e for e in by_kind["call"] if e[1] == name]
    served = sorted((e for e in by_kind["http"] if e[1] == "Lambda"), key=lambda e: e[3])
    starts = [e[3] for e in served]
    import bisect

    parts: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        i = bisect.bisect_left(starts, c[3])
        match = next((s for s in served[i : i + 40] if s[2] == c[2] and s[3] <= c[4]), None)
        parts[f"{c[2]}: whole, as the worker saw it"].append(c[4] - c[3])
        if match is not None:
            parts[f"{c[2]}: sent -> a server thread began reading"].append(match[3] - c[3])
            # (its end is not: the server's thread takes the GIL back after sending, often
            # after the worker has read the answer)
            parts[f"{c[2]}: a server thread began reading -> worker read the answer"].append(
                c[4] - match[3]
            )
    print(f"\n| {name[-20:]}: its AWS calls | median / p90 (sum) |\n|---|---|")
    for part, values in sorted(parts.items()):
        print(f"| {part} | {ms(values)} |")
    mine = [h for h in handlers.values() if h[1] == name]
    inside = sum(h[4] - h[3] for h in mine)
    cpu, queued = sum(h[5] for h in mine), sum(h[6] for h in mine)
    in_calls = sum(c[4] - c[3] for c in calls)
    print(f"\n{name[-20:]}: {len(mine)} invocations, {inside * 1000 / len(mine):.1f} ms each "
          f"in the handler: CPU {cpu * 1000 / len(mine):.1f} ms, waiting for a core "
          f"{queued * 1000 / len(mine):.1f} ms; in AWS calls {in_calls * 1000 / len(mine):.1f} ms "
          f"(their CPU and core waits included)")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--daemon"]:
        traced_daemon()
    else:
        main()
