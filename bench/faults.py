"""The fault suite, run again and again: faults injected, cleanups that ran, data left.

    python bench/faults.py [--runs 3]

Each run is `pytest tests/e2e/test_fault_suite.py` on a fresh local AWS. Every
test injects one fault and asserts the verdict, the reason and that each test
resource it created is gone, so a passed test is one fault whose cleanups all
ran and left nothing behind. Prints a Markdown table (docs/production.md keeps
the latest) with the time from StopExecution to the test data being gone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = "tests/e2e/test_fault_suite.py"


def one_run(numbers: Path) -> tuple[int, int]:
    """(tests, passed) of one run of the suite."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        env = {**os.environ, "ITEST_FAULT_NUMBERS": str(numbers)}
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SUITE,
             f"--junitxml={report}"],
            cwd=ROOT, env=env, check=False, capture_output=True,
        )  # fmt: skip
        suite = ET.parse(report).getroot().find("testsuite")
        assert suite is not None
        tests = int(suite.get("tests", 0))
        bad = sum(int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
        return tests, tests - bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        numbers = Path(tmp) / "numbers.jsonl"
        totals = [one_run(numbers) for _ in range(args.runs)]
        lines = numbers.read_text().splitlines() if numbers.exists() else []
        stops = [
            value
            for line in lines
            for name, value in json.loads(line).items()
            if name == "stop_to_data_gone_seconds"
        ]
    faults = sum(t for t, _ in totals)
    clean = sum(p for _, p in totals)
    print("| measure | result |\n|---|---|")
    print(f"| runs of the fault suite | {args.runs} |")
    print(f"| faults injected | {faults} |")
    print(f"| faults whose verdict, reason and cleanups were all right | {clean} of {faults} |")
    print(f"| faults with a wrong verdict or reason, or data left behind | {faults - clean} |")
    if stops:
        print(
            f"| StopExecution to test data gone (local), median of {len(stops)} | "
            f"{statistics.median(stops):.2f} s (max {max(stops):.2f} s) |"
        )


if __name__ == "__main__":
    main()
