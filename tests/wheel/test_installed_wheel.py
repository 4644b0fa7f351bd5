"""The distribution as a team gets it: built like a release (the sdist, then the wheel
from the sdist), checked by twine, installed into a fresh virtualenv outside the repo,
and used from an empty folder of a project that has its own `infra` and `cli` packages:
init, validate, a local run, synth; the constructs import from the namespace.

Run alone with `pytest -m wheel`. It needs the package index (or pip's cache) for the
dependencies and the Lambda layer, and Node.js for the CDK.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "cli", "infra", "lambdas")
"""What the build reads (a copy, so that building never writes into the repo)."""
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path
    sdist: Path
    work: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def cache(self) -> Path:
        """Cold (nothing synthesized yet), but for the built Lambda layers, which are
        keyed by their requirements and linked in from the real cache as in tests/e2e."""
        from itest.infra.build_cache import cache_root

        cache = self.work / "cache"
        if not cache.exists():
            (cache_root() / "layers").mkdir(parents=True, exist_ok=True)
            cache.mkdir()
            (cache / "layers").symlink_to(cache_root() / "layers", target_is_directory=True)
        return cache

    def env(self) -> dict[str, str]:
        """The venv first on PATH (node after it); nothing that could reach the repo."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "VIRTUAL_ENV", "ITEST_"))}
        env["PATH"] = f"{self.bin}{os.pathsep}{env['PATH']}"
        env["ITEST_CACHE_DIR"] = str(self.cache)
        env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
        return env

    def run(self, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(a) for a in args], cwd=cwd, env=self.env(),
                              capture_output=True, text=True, timeout=600, check=False)
        assert "Traceback" not in done.stderr, done.stderr
        return done


def _run(*args: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source, dist, venv = work / "source", work / "dist", work / "venv"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _run(sys.executable, "-m", "build", "--outdir", dist, source)  # sdist, then wheel from it
    [wheel], [sdist] = dist.glob("*.whl"), dist.glob("*.tar.gz")
    _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    _run(sys.executable, "-m", "venv", venv)
    # pip's cache and its configured indexes; no --no-cache-dir, so a warm machine is offline
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--prefer-binary", wheel)
    return Installed(venv, wheel, sdist, work)


def test_the_distribution_is_one_namespace_with_its_runtime_files(installed: Installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"itest", f"itest-{VERSION}.dist-info"}
    assert "itest/infra/layer/requirements.txt" in names
    assert "itest/lambdas/handlers.py" in names
    assert not [n for n in names if n.startswith("itest/__init__")]  # a namespace package

    done = installed.run(installed.bin / "itest", "--version", cwd=installed.work)
    assert done.stdout.strip() == f"itest, version {VERSION}"


def test_init_validate_run_and_synth_from_an_empty_folder(installed: Installed):
    project = installed.work / "project"
    for own in ("infra", "cli"):  # a service's own packages of those names
        (project / own).mkdir(parents=True)
        (project / own / "__init__.py").write_text(f"WHO = 'the project {own}'\n")

    def itest(*args: str) -> subprocess.CompletedProcess[str]:
        return installed.run(installed.bin / "itest", *args, cwd=project)

    assert itest("init").returncode == 0
    validated = itest("validate", "scenarios/")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "ok  scenarios/example.yaml" in validated.stdout

    ran = itest("run", "scenarios/", "--local", "--format", "json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    [report] = json.loads(ran.stdout)["runs"]
    assert report["status"] == "passed", report

    synth = itest("synth", "-o", "cdk.out")
    assert synth.returncode == 0, synth.stdout + synth.stderr
    template = json.loads((project / "cdk.out" / "Itest.template.json").read_text())
    handlers = {r["Properties"]["Handler"] for r in template["Resources"].values()
                if r["Type"] == "AWS::Lambda::Function"}
    assert handlers == {f"itest.lambdas.handlers.{h}"
                        for h in ("prepare", "action", "assert_", "cleanup")}
    assets = list((project / "cdk.out").glob("asset.*"))
    assert [a for a in assets if (a / "itest" / "lambdas" / "handlers.py").is_file()]
    assert [a for a in assets if (a / "python" / "pydantic").is_dir()]  # the real layer

    imported = installed.run(installed.bin / "python", "-c", (
        "import infra, cli, itest.cli, itest.infra\n"
        "from itest.infra import ItestInvokeStage, ItestPipelineStep, OrchestratorStack\n"
        "print(infra.WHO, cli.WHO, itest.cli.__file__, sep='|')"
    ), cwd=project)
    assert imported.returncode == 0, imported.stderr
    own_infra, own_cli, itest_cli = imported.stdout.strip().split("|")
    assert (own_infra, own_cli) == ("the project infra", "the project cli")
    assert Path(itest_cli).is_relative_to(installed.venv)
