"""Wall time and memory of what a user runs: the CLI's start-up and local runs.

    python bench/local_run.py [--runs 5]

Everything is the real `itest` command in child processes, as a user types it:

1. start-up: `itest --help` beside `python -c "import click"` (the floor);
2. the README's first command, `itest run scenarios/orders-happy-path.yaml
   --local`, with an empty cache (synthesizes the CDK app) and warm (the
   cached template), with the peak RSS of the itest process; then a 10-step
   HTTP scenario (bench/peers.py's, against a loopback service) on a private
   local AWS, the whole command (issue #10's goal: at most 3 s), with the
   1-minute load average beside it: on a shared machine, wall times follow it;
3. on a background local AWS (`itest local up`): one scenario at a time, the
   median wall time and the time per step (execution time / steps), then all
   passing examples at `--parallel 1` and `--parallel 4`.

It prints a Markdown table; README.md's "Benchmarks" keeps the latest one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peers import itest_scenario, service

ROOT = Path(__file__).resolve().parent.parent
HAPPY = "scenarios/orders-happy-path.yaml"


def itest(*args: str, env: dict[str, str], check: bool = True) -> tuple[float, str]:
    """Run the CLI; return wall seconds and stdout."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "itest.cli.main", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if check and done.returncode not in (0, 1):
        raise SystemExit(f"itest {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return elapsed, done.stdout


def median_wall(command: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """Peak resident memory of the itest process itself (GNU time's %M, in KiB)."""
    with tempfile.NamedTemporaryFile() as out:
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", out.name,
             sys.executable, "-m", "itest.cli.main", *args],
            cwd=ROOT, env=env, capture_output=True, check=False,
        )  # fmt: skip
        return int(Path(out.name).read_text().split()[-1]) / 1024


def passing_examples() -> list[str]:
    return sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "scenarios").glob("*.yaml")
        if "fails-on-purpose" not in p.name
    )


def private_ten_steps(folder: Path, runs: int, env: dict[str, str]) -> tuple[str, str]:
    """The whole `itest run x.json --local` of a 10-step scenario on a private local AWS."""
    with service() as url:
        scenario = str(itest_scenario(folder, 10))
        walls = []
        for _ in range(runs):
            wall, _ = itest("run", scenario, "--local", "--var", f"api_url={url}", env=env)
            walls.append(wall)
    load = os.getloadavg()[0]
    return ("10-step scenario, private local AWS, cached template",
            f"{statistics.median(walls):.2f} s (load {load:.1f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "ITEST_CACHE_DIR": cache, "NO_COLOR": "1",
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
        help_s = median_wall([sys.executable, "-m", "itest.cli.main", "--help"], runs, env)
        click_s = median_wall([sys.executable, "-c", "import click"], runs, env)
        rows += [("`itest --help`", f"{help_s * 1000:.0f} ms"),
                 ('`python -c "import click"`', f"{click_s * 1000:.0f} ms")]  # fmt: skip

        cold, _ = itest("run", HAPPY, "--local", env=env)
        warm = statistics.median(itest("run", HAPPY, "--local", env=env)[0] for _ in range(runs))
        rss = peak_rss_mb(["run", HAPPY, "--local"], env)
        rows += [("first command, empty cache (synth)", f"{cold:.1f} s"),
                 ("first command, cached template", f"{warm:.1f} s"),
                 ("peak RSS of the itest process", f"{rss:.0f} MB")]  # fmt: skip
        rows.append(private_ten_steps(Path(cache), runs, env))

        itest("local", "up", env=env)
        try:
            per_run, per_step = [], []
            for _ in range(runs):
                wall, out = itest("run", HAPPY, "--local", "--format", "json", env=env)
                (report,) = json.loads(out)["runs"]
                steps = report["steps"]
                per_run.append(wall)
                per_step.append(report["duration_ms"] / 1000 / len(steps))
            rows += [("one scenario on `itest local up` (2 steps)",
                      f"{statistics.median(per_run):.2f} s"),
                     ("per step, through the state machine",
                      f"{statistics.median(per_step) * 1000:.0f} ms")]  # fmt: skip
            examples = passing_examples()
            for parallel in (1, 4):
                wall, _ = itest("run", *examples, "--local", "--parallel", str(parallel),
                                "--format", "json", env=env)  # fmt: skip
                rows.append((f"{len(examples)} passing examples, `--parallel {parallel}`",
                             f"{wall:.1f} s"))  # fmt: skip
        finally:
            itest("local", "down", env=env, check=False)

    print(f"| measure ({runs} runs, median) | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
