from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from itest.cli.local import background

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session", autouse=True)
def own_cache_dir(tmp_path_factory):
    """An itest cache dir of the tests' own, so that a developer's background local AWS
    (`itest local up`) is neither used nor stopped by them; the slow caches (synthesized
    assemblies, Lambda code, built layers) are the real ones, linked in."""
    from itest.cli.local.cache import cache_root

    real = cache_root()
    root = tmp_path_factory.mktemp("itest-cache")
    for name in ("assemblies", "lambda-code", "layers"):
        (real / name).mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(real / name, target_is_directory=True)
    patch = pytest.MonkeyPatch()
    patch.setenv("ITEST_CACHE_DIR", str(root))  # child processes (`itest(...)`) inherit it
    yield root
    patch.undo()


@pytest.fixture(scope="session")
def local():
    """One local AWS with the orchestrator deployed and the examples' target running."""
    from itest.cli.local.orchestrator import local_orchestrator

    files = sorted(SCENARIOS.glob("*.yaml"))
    with local_orchestrator(files) as (orchestrator, served):
        # the examples' one target
        yield orchestrator.aws, orchestrator.target, served.vars_for(files[0])


def itest(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it, in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "itest.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def as_background(local, monkeypatch):
    """The session's local AWS, written down in the state file as `itest local up` does."""
    from itest.cli.local.cache import sources_key
    from itest.cli.local.orchestrator import synth_sources

    aws, target, _ = local
    background.write_state(background.LocalState(
        sources_key=sources_key(synth_sources()),  # deployed as they are: no redeploy
        pid=os.getpid(), state="up", log_file="-", started_at="2026-11-21T23:21:00Z",
        endpoint=aws.endpoint_url, credentials=aws.credentials,
        outputs={"StateMachineArn": target.state_machine_arn, "BucketName": target.bucket,
                 "ResultsTableName": target.results_table,
                 "SuiteStateMachineArn": target.suite_state_machine_arn},
    ))
    monkeypatch.setattr(background, "is_daemon", lambda pid: pid == os.getpid())
    yield
    background.remove_state(os.getpid())
