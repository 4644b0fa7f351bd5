"""The background local AWS synthesizes a template it has not cached in a child process:
the CDK's Node.js runtime does not stay in the long-lived daemon (cli/local/daemon.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_a_cold_template_is_synthesized_in_a_child_and_cached(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from itest.cli.local.daemon import synthesize_in_a_child\n"
        "from itest.cli.local.orchestrator import assembly_cached\n"
        "assert not assembly_cached()\n"
        "synthesize_in_a_child()\n"
        "print(assembly_cached(), 'jsii' in sys.modules)\n"
    )
    env = {**os.environ, "ITEST_CACHE_DIR": str(tmp_path)}  # an empty cache
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["True", "False"]  # cached; this process never loaded jsii
