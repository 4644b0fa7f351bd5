from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def local():
    """One local AWS with the orchestrator deployed and the examples' target running."""
    from cli.local_run import local_orchestrator

    with local_orchestrator(sorted(SCENARIOS.glob("*.yaml"))) as deployed:
        yield deployed


def itest(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it, in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
