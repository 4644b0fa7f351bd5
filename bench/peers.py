"""itest beside Tavern and Newman on the same N-step HTTP scenario, plus the local runtime.

    python bench/peers.py [--steps 10,100,300] [--runs 3] [--burst 50] [--idle 20]
    python bench/peers.py --only burst [--runs 3] [--burst 50]   # that part alone

One loopback HTTP service (127.0.0.1, in this process) answers every tool. Each of
the N steps POSTs `{"n": i}` and checks the status (201) and a JSON field
(`json.n == i`). The same scenario runs through:

- itest on a private local AWS (`itest run --local`, cached template: the whole
  command, start-up and deploy included);
- itest on a kept-up local AWS (`itest local up`, then `itest run --local`);
- Tavern (`tavern-ci`) and Newman (`newman run`), installed by this script into a
  scratch folder (`pip install tavern` into a venv, `npm install newman`);

printing each total, the cost per added step (10 → 100, 100 → 300) and its ratio
to Tavern's. Then, on the kept-up local AWS: `--burst` scenarios at `--parallel
<burst>` against one (wall; CPU per step of the server process, its Lambda workers
and the command, for one and in the burst; how much of a core the server process
used: it is one Python process, so its CPU in the burst is the burst's floor),
the resident memory of the local AWS (server and Lambda
workers) after the burst and after idling, and the Step Functions state
transitions per passing step and per retry attempt, read from real execution
histories, with the price they imply. Everything targets 127.0.0.1 and is
bounded (each command times out).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
COMMAND_TIMEOUT = 900  # seconds: no command of the benchmark runs longer
PRICE_PER_TRANSITION = 0.025 / 1000  # Step Functions Standard, USD (us-east-1)


class _Handler(BaseHTTPRequestHandler):
    """POST /items echoes `n` with 201; GET /flaky/<key>/<k> fails (503) k times, then 200."""

    protocol_version = "HTTP/1.1"
    calls: ClassVar[dict[str, int]] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self._answer(201, {"n": body.get("n"), "ok": True})

    def do_GET(self) -> None:
        _, _, key, fails = self.path.split("/")
        with self.lock:
            seen = self.calls[key] = self.calls.get(key, 0) + 1
        self._answer(200 if seen > int(fails) else 503, {"seen": seen})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


# -- the same scenario for each tool -----------------------------------------


@contextmanager
def wrapped_daemon(script: str, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """The background local AWS's process run through `script --daemon` (a benchmark
    that wraps the daemon module: under a profiler, with hooks), once it serves;
    stopped on the way out. `env` names the ITEST_CACHE_DIR, as this process's does."""
    from itest.cli.local.background import running, state_dir

    log = state_dir() / "server.log"
    daemon = subprocess.Popen(
        [sys.executable, script, "--daemon", "itest.cli.local.daemon", "--log", str(log)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while (state := running()) is None or state.pid != daemon.pid:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the local AWS did not start: see {log}")
            time.sleep(0.5)
        yield daemon
    finally:
        daemon.terminate()
        daemon.wait(30)


def itest_scenario(folder: Path, n: int, name: str = "") -> Path:
    steps = [
        {"name": f"post {i}", "action": "http",
         "with": {"method": "POST", "url": "{{ vars.api_url }}/items", "json": {"n": i}},
         "expect": [{"path": "status", "equals": 201}, {"path": "json.n", "equals": i}]}
        for i in range(n)
    ]  # fmt: skip
    path = folder / f"{name or f'bench-{n}'}.json"
    scenario = {"name": name or f"bench-{n}", "timeout_seconds": 3600, "steps": steps}
    path.write_text(json.dumps(scenario))
    return path


def retry_scenario(folder: Path, fails: int, key: str) -> Path:
    """One polling step whose service fails `fails` times first (interval 1 s)."""
    step = {"name": "poll", "action": "http",
            "with": {"url": f"{{{{ vars.api_url }}}}/flaky/{key}/{fails}"},
            "expect": [{"path": "status", "equals": 200}],
            "retry": {"interval_seconds": 1, "backoff": 1, "timeout_seconds": 60}}  # fmt: skip
    path = folder / f"retry-{fails}.json"
    path.write_text(json.dumps({"name": f"retry-{fails}", "timeout_seconds": 300,
                                "steps": [step]}))  # fmt: skip
    return path


def tavern_scenario(folder: Path, n: int, url: str) -> Path:
    stages = [
        {"name": f"post {i}",
         "request": {"url": f"{url}/items", "method": "POST", "json": {"n": i}},
         "response": {"status_code": 201, "json": {"n": i, "ok": True}}}
        for i in range(n)
    ]  # fmt: skip
    path = folder / f"test_bench_{n}.tavern.yaml"
    path.write_text(json.dumps({"test_name": f"bench {n}", "stages": stages}))  # JSON is YAML
    return path


def newman_collection(folder: Path, n: int, url: str) -> Path:
    items = [
        {"name": f"post {i}",
         "request": {"method": "POST", "url": f"{url}/items",
                     "header": [{"key": "Content-Type", "value": "application/json"}],
                     "body": {"mode": "raw", "raw": json.dumps({"n": i})}},
         "event": [{"listen": "test", "script": {"exec": [
             "pm.test('status', () => pm.response.to.have.status(201));",
             f"pm.test('n', () => pm.expect(pm.response.json().n).to.eql({i}));"]}}]}
        for i in range(n)
    ]  # fmt: skip
    collection = {"info": {"name": f"bench {n}", "schema":
                           "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
                  "item": items}  # fmt: skip
    path = folder / f"bench-{n}.postman.json"
    path.write_text(json.dumps(collection))
    return path


# -- the tools ----------------------------------------------------------------


def timed(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    """Wall seconds and stdout of a command that must succeed (exit 0)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")  # fmt: skip
    return elapsed, done.stdout


def itest(*args: str, env: dict[str, str]) -> tuple[float, str]:
    return timed([sys.executable, "-m", "itest.cli.main", *args], env)


def install_peers(scratch: Path) -> dict[str, list[str] | str]:
    """The command prefix of each peer, or why it could not be installed."""
    peers: dict[str, list[str] | str] = {}
    venv = scratch / "tavern-venv"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        if not venv.is_dir():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        # tavern 3.7 imports _pytest.python_api, which pytest 9 no longer has
        pip = [str(venv / "bin" / "pip"), "install", "-q", "tavern", "pytest<9"]
        subprocess.run(pip, check=True, capture_output=True, text=True, timeout=600)
        peers["Tavern"] = [str(venv / "bin" / "tavern-ci")]
    except (subprocess.SubprocessError, OSError) as error:
        peers["Tavern"] = f"pip install tavern failed: {_why(error)}"
    folder = scratch / "newman"
    folder.mkdir(exist_ok=True)
    try:
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "newman"],
                       cwd=folder, check=True, capture_output=True, text=True,
                       timeout=600)  # fmt: skip
        peers["Newman"] = [str(folder / "node_modules" / ".bin" / "newman"), "run"]
    except (subprocess.SubprocessError, OSError) as error:
        peers["Newman"] = f"npm install newman failed: {_why(error)}"
    return peers


def _why(error: BaseException) -> str:
    stderr = getattr(error, "stderr", None)
    return (stderr or str(error)).strip().splitlines()[-1] if (stderr or str(error)) else "?"


def peer_file(tool: str, folder: Path, n: int, url: str) -> Path:
    if tool == "Tavern":
        return tavern_scenario(folder, n, url)
    return newman_collection(folder, n, url)


# -- the local AWS's footprint ------------------------------------------------


def _tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def tree_rss_mb(pid: int) -> tuple[float, int]:
    """Resident memory of a process and all its descendants, and how many there are."""
    total, count = 0, 0
    for member in _tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        count += 1
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)  # fmt: skip
    return total / 1024, count


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process, its live descendants and its reaped children:
    a measure of work that the machine's load does not stretch as it does wall time."""
    ticks = 0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if member == pid:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: workers reaped
    return ticks / os.sysconf("SC_CLK_TCK")


class Busy:
    """How busy the server process (alone, its workers apart) and the whole machine were
    during a block, from /proc; the server's most threads, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.threads = 0
        self._done = threading.Event()

    def __enter__(self) -> Busy:
        self.wall, self.server, self.machine = time.monotonic(), self._own(), _machine()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._sampler.join()
        self.wall = time.monotonic() - self.wall
        self.server = self._own() - self.server
        busy, total = (b - a for a, b in zip(self.machine, _machine(), strict=True))
        self.machine_share = busy / total if total else 0.0

    def _own(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            with contextlib.suppress(OSError, StopIteration):
                status = Path(f"/proc/{self.pid}/status").read_text().splitlines()
                line = next(x for x in status if x.startswith("Threads:"))
                self.threads = max(self.threads, int(line.split()[1]))


def _machine() -> tuple[int, int]:
    """Busy and total CPU ticks of the whole machine (all cores), from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (each `itest` command)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def step_gaps(steps: list[dict]) -> list[float]:
    """Per step after the first: ms from the previous step's end to its own, less its own
    duration_ms — what the engine adds between two steps (reads, writes, state changes)."""
    ends = [datetime.fromisoformat(s["ended_at"]).timestamp() for s in steps]
    return [(ends[i] - ends[i - 1]) * 1000 - (steps[i]["duration_ms"] or 0)
            for i in range(1, len(steps))]  # fmt: skip


def transitions(execution_arn: str, env: dict[str, str]) -> int:
    """State transitions (billed) of a local execution: its StateEntered events."""
    from itest.cli.local.background import connection, running

    os.environ["ITEST_CACHE_DIR"] = env["ITEST_CACHE_DIR"]
    state = running()
    assert state is not None and state.endpoint
    sfn = connection(state).client("stepfunctions")  # the local AWS's own credentials
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return sum(e["type"].endswith("StateEntered") for p in pages for e in p["events"])


def run_report(out: str) -> dict:
    (report,) = json.loads(out)["runs"]
    return report


# -- the benchmark ------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10,100,300")
    parser.add_argument("--runs", type=int, default=3, help="runs per measure (median)")
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument(
        "--idle",
        type=float,
        default=20.0,
        help="seconds the kept-up local AWS waits before reaping idle workers",
    )
    parser.add_argument(
        "--scratch",
        type=Path,
        help="keep the peers installed here between runs (default: a temp dir)",
    )
    parser.add_argument(
        "--only",
        choices=["burst"],
        help="burst: only the kept-up local AWS's burst against one run, and its memory",
    )
    args = parser.parse_args()
    if args.only == "burst":
        burst_only(args)
        return
    sizes = [int(n) for n in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as tmp, service() as url:
        scratch = Path(tmp)
        cache = scratch / "cache"
        env = {**os.environ, "ITEST_CACHE_DIR": str(cache), "NO_COLOR": "1",
               "ITEST_LAMBDA_IDLE_SECONDS": f"{args.idle:g}",
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
        peers = install_peers(args.scratch or scratch)
        files = {n: itest_scenario(scratch, n) for n in sizes}
        totals: dict[str, dict[int, float]] = {}
        engine_ms: dict[int, tuple[float, float, float]] = {}
        overhead: dict[int, list[float]] = {}  # ms between steps, not the steps' own, per step

        def median_of(command: list[str], cwd: Path = ROOT) -> float:
            return statistics.median(timed(command, env, cwd)[0] for _ in range(args.runs))

        cli = [sys.executable, "-m", "itest.cli.main"]
        itest("validate", str(files[sizes[0]]), env=env)
        itest("run", str(files[sizes[0]]), "--local", "--var", f"api_url={url}", env=env)  # synth
        totals["itest, private local AWS"] = {
            n: median_of([*cli, "run", str(files[n]), "--local", "--var", f"api_url={url}"])
            for n in sizes
        }
        itest("local", "up", env=env)
        try:
            state = json.loads(itest("local", "status", "--format", "json", env=env)[1])
            warm_up = [str(files[sizes[0]]), "--local", "--var", f"api_url={url}"]
            itest("run", *warm_up, env=env)  # its workers start: the runs measured find them warm
            kept: dict[int, float] = {}
            for n in sizes:
                walls, engine, cpu, cli_cpu, gaps = [], [], [], [], []
                for _ in range(args.runs):
                    before, cli_before = tree_cpu_seconds(state["pid"]), children_cpu_seconds()
                    wall, out = itest("run", str(files[n]), "--local", "--var", f"api_url={url}",
                                      "--format", "json", env=env)  # fmt: skip
                    cpu.append((tree_cpu_seconds(state["pid"]) - before) * 1000 / n)
                    cli_cpu.append((children_cpu_seconds() - cli_before) * 1000 / n)
                    walls.append(wall)
                    report = run_report(out)
                    own = sum(s["duration_ms"] or 0 for s in report["steps"])
                    engine.append((report["duration_ms"] - own) / n)
                    gaps.append(step_gaps(report["steps"]))
                kept[n] = statistics.median(walls)
                engine_ms[n] = (statistics.median(engine), statistics.median(cpu),
                                statistics.median(cli_cpu))  # fmt: skip
                overhead[n] = [statistics.median(g[i] for g in gaps) for i in range(len(gaps[0]))]
            totals["itest, `itest local up`"] = kept
            for tool, command in list(peers.items()):
                if isinstance(command, list):
                    try:
                        totals[tool] = {
                            n: median_of([*command, str(peer_file(tool, scratch, n, url))], scratch)
                            for n in sizes
                        }
                    except SystemExit as error:  # a peer that cannot run is reported, not fatal
                        peers[tool] = f"it failed: {str(error).strip().splitlines()[-1]}"
            print(json.dumps(totals), file=sys.stderr)  # what is measured so far
            runtime = burst(scratch, url, args, env, state["pid"])
            runtime += cost(scratch, url, env, files[sizes[0]], files[sizes[1]], sizes[:2])
        finally:
            itest("local", "down", env=env)
    print_table(totals, sizes, peers, engine_ms, overhead, runtime, args)


@dataclass
class Measured:
    """One `itest run` on the kept-up local AWS: its wall time and the CPU seconds of the
    server process, its Lambda workers and the command itself, with how busy it all was."""

    wall: float
    server: float
    workers: float
    cli: float
    busy: Busy


def measured(pid: int, args: list[str], env: dict[str, str]) -> Measured:
    before, cli_before = tree_cpu_seconds(pid), children_cpu_seconds()
    with Busy(pid) as busy:
        wall, _ = itest("run", *args, env=env)
    local = tree_cpu_seconds(pid) - before
    return Measured(wall, busy.server, local - busy.server, children_cpu_seconds() - cli_before,
                    busy)  # fmt: skip


def burst_only(args: argparse.Namespace) -> None:
    """`--only burst`: `itest local up`, a warm-up run, then `burst()`."""
    with tempfile.TemporaryDirectory() as tmp, service() as url:
        scratch = Path(tmp)
        cache = os.environ.get("ITEST_CACHE_DIR") or str(scratch / "cache")  # a template kept
        env = {**os.environ, "ITEST_CACHE_DIR": cache, "NO_COLOR": "1",
               "ITEST_LAMBDA_IDLE_SECONDS": f"{args.idle:g}",
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
        itest("local", "up", env=env)
        try:
            state = json.loads(itest("local", "status", "--format", "json", env=env)[1])
            warm_up = itest_scenario(scratch, 10, "warm-up")
            itest("run", str(warm_up), "--local", "--var", f"api_url={url}", env=env)
            runtime = burst(scratch, url, args, env, state["pid"])
        finally:
            itest("local", "down", env=env)
    print(f"{args.burst} 10-step scenarios at once against one, on `itest local up`, "
          f"{args.runs} runs of one (median)\n")  # fmt: skip
    print("| local runtime (`itest local up`) | result |\n|---|---|")
    for name, value in runtime:
        print(f"| {name} | {value} |")


def burst(scratch: Path, url: str, args: argparse.Namespace, env: dict[str, str],
          pid: int) -> list[tuple[str, str]]:  # fmt: skip
    """One 10-step scenario, then `burst` of them at once: wall, CPU per step, how busy
    the server process was; memory after, and after idling."""
    folder = scratch / "burst"
    folder.mkdir()
    files = [str(itest_scenario(folder, 10, f"burst-{i:02d}")) for i in range(args.burst)]
    local = ["--local", "--var", f"api_url={url}"]
    ones = [measured(pid, [files[0], *local], env) for _ in range(args.runs)]
    one = statistics.median(m.wall for m in ones)
    many = measured(pid, [*files, "--parallel", str(args.burst), *local], env)
    after, processes = tree_rss_mb(pid)
    time.sleep(args.idle + 5)
    idle, idle_processes = tree_rss_mb(pid)

    def cpu(m: Measured, steps: int) -> str:
        per = [x * 1000 / steps for x in (m.server, m.workers, m.cli)]
        return f"{per[0]:.0f} + {per[1]:.0f} + {per[2]:.0f} = {sum(per):.0f} ms"

    typical = sorted(ones, key=lambda m: m.wall)[len(ones) // 2]
    return [
        ("one 10-step scenario on `local up`", f"{one:.2f} s"),
        (f"{args.burst} of them at `--parallel {args.burst}`",
         f"{many.wall:.1f} s ({many.wall / one:.1f}x one)"),
        ("CPU per step, server process + Lambda workers + `itest run`: one scenario",
         cpu(typical, 10)),
        (f"the same in the burst of {args.burst}", cpu(many, 10 * args.burst)),
        ("the server process during the burst (one Python process: one core at most)",
         f"{many.busy.server / many.wall:.2f} of a core; the machine {many.busy.machine_share:.0%}"
         f" of {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}"),
        ("the burst's floor: the server's CPU in it, at one core",
         f"{many.server:.1f} s ({many.server / one:.1f}x one)"),
        ("local AWS after the burst (server + Lambda workers)",
         f"{after:.0f} MB in {processes} processes"),
        (f"the same after {args.idle + 5:g} s idle",
         f"{idle:.0f} MB in {idle_processes} processes"),
    ]  # fmt: skip


def cost(scratch: Path, url: str, env: dict[str, str], small: Path, big: Path,
         sizes: list[int]) -> list[tuple[str, str]]:  # fmt: skip
    """State transitions per passing step and per retry attempt, from real histories."""

    def entered(path: Path) -> int:
        out = itest("run", str(path), "--local", "--var", f"api_url={url}", "--format", "json",
                    env=env)[1]  # fmt: skip
        return transitions(run_report(out)["execution_arn"], env)

    per_step = (entered(big) - entered(small)) / (sizes[1] - sizes[0])
    fails = 2
    per_retry = (entered(retry_scenario(scratch, fails, "b")) -
                 entered(retry_scenario(scratch, 0, "a"))) / fails  # fmt: skip
    fixed = entered(small) - per_step * sizes[0]
    price = PRICE_PER_TRANSITION * 1_000_000
    return [
        ("state transitions per passing step", f"{per_step:g} (${per_step * price:.0f} per "
                                               "million steps)"),
        ("state transitions per retry attempt", f"{per_retry:g} (${per_retry * price:.0f} per "
                                                "million attempts)"),
        ("state transitions per run (Prepare, Assert, Cleanup…)", f"{fixed:g}"),
    ]  # fmt: skip


def print_table(totals: dict[str, dict[int, float]], sizes: list[int], peers: dict,
                engine_ms: dict[int, tuple[float, float, float]], overhead: dict[int, list[float]],
                runtime: list[tuple[str, str]], args: argparse.Namespace) -> None:  # fmt: skip
    tools = list(totals)
    print(f"N-step HTTP scenario (POST, check status and a JSON field), {args.runs} runs, "
          "median, whole command\n")  # fmt: skip
    print("| measure | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    for n in sizes:
        print(f"| {n} steps | " + " | ".join(f"{totals[t][n]:.2f} s" for t in tools) + " |")
    tavern = totals.get("Tavern")
    for a, b in itertools.pairwise(sizes):
        slopes = {t: (totals[t][b] - totals[t][a]) / (b - a) for t in tools}
        print(f"| per added step, {a} → {b} | "
              + " | ".join(f"{slopes[t] * 1000:.1f} ms" for t in tools) + " |")  # fmt: skip
        if tavern:
            base = slopes["Tavern"]
            print(f"| ratio to Tavern per step, {a} → {b} | "
                  + " | ".join(f"{slopes[t] / base:.1f}x" for t in tools) + " |")  # fmt: skip
    for tool, why in peers.items():
        if isinstance(why, str):
            print(f"\n{tool}: not measured ({why})")
    print("\n| local runtime (`itest local up`) | result |\n|---|---|")
    for n, (ms, cpu, cli) in engine_ms.items():
        print(f"| engine time per step at {n} steps (run time minus the steps' duration_ms) "
              f"| {ms:.0f} ms |")  # fmt: skip
        print(f"| CPU per step at {n} steps: local AWS (server, workers) + `itest run` "
              f"| {cpu:.0f} + {cli:.0f} = {cpu + cli:.0f} ms |")  # fmt: skip
    longest = max(overhead)
    for k in (10, longest):
        if 2 <= k <= len(overhead[longest]) + 1:  # gap i is step i+2's
            around = overhead[longest][max(0, k - 6) : k + 4]  # steps k-4..k+5 (gap i: step i+2)
            print(f"| overhead between steps at step {k} of {longest} (wall: one step's end to "
                  f"the next one's, less its duration_ms; median of {len(around)}) "
                  f"| {statistics.median(around):.0f} ms |")  # fmt: skip
    for name, value in runtime:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
