"""`itest init`'s example passes through the state machine on a private local AWS,
from a folder of its own, and its cleanup deletes what it made."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from itest.cli.local import background

pytestmark = pytest.mark.e2e


def test_the_starter_runs_locally_from_an_empty_folder(tmp_path: Path):
    assert background.read_state() is None  # so --local starts a private one

    def itest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "itest.cli.main", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, check=False)

    assert itest("init").returncode == 0
    result = itest("run", "scenarios/", "--local", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    [report] = json.loads(result.stdout)["runs"]
    assert report["status"] == "passed"
    assert [s["status"] for s in report["steps"]] == ["passed"] * 4
    assert [(c["action"], c["status"]) for c in report["cleanup"]["actions"]] == [
        ("aws.dynamodb.delete_table", "passed")
    ]
