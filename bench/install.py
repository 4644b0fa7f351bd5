"""What adopting itest costs a team: the wheel, its install, the first local run.

    python bench/install.py [--runs 3]

1. builds the sdist and the wheel from it (`python -m build`), reports the wheel's size;
2. installs it into a fresh virtualenv outside the repo, `--runs` times, each
   into a new venv (pip's cache as a developer's machine has it: warm after
   the first);
3. in an empty folder: `itest init`, then `itest run scenarios/ --local` with
   an empty itest cache (cold: synthesizes the CDK app) and again (warm: the
   cached template), `--runs` times each, each cold run on a new cache.

It prints a Markdown table (medians); README.md's "Benchmarks" keeps the latest one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str | Path], **kwargs: object) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                          check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise SystemExit(f"{command} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="itest-bench-install-") as tmp:
        work = Path(tmp)
        timed([sys.executable, "-m", "build", "--outdir", work / "dist", ROOT])
        [wheel] = (work / "dist").glob("*.whl")
        size_kb = wheel.stat().st_size / 1024
        installs = []
        for i in range(runs):
            venv = work / f"venv{i}"
            timed([sys.executable, "-m", "venv", venv])
            installs.append(timed([venv / "bin" / "pip", "install", "--quiet", wheel]))
        itest = work / "venv0" / "bin" / "itest"
        project = work / "project"
        project.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ITEST_"))}
        env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
        timed([itest, "init"], cwd=project, env=env)
        cold, warm = [], []
        for i in range(runs):
            env["ITEST_CACHE_DIR"] = str(work / f"cache{i}")
            cold.append(timed([itest, "run", "scenarios/", "--local"], cwd=project, env=env))
            warm.append(timed([itest, "run", "scenarios/", "--local"], cwd=project, env=env))
    print("| measure | result |\n|---|---|")
    print(f"| wheel size | {size_kb:.0f} KB |")
    print(f"| install into a fresh venv (pip cache warm, deps included) "
          f"| {statistics.median(installs):.1f} s (first: {installs[0]:.1f} s) |")
    print(f"| first `itest run scenarios/ --local` after `itest init`, empty cache "
          f"| {statistics.median(cold):.1f} s |")
    print(f"| the same, cached template | {statistics.median(warm):.1f} s |")


if __name__ == "__main__":
    main()
