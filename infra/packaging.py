"""Lambda packaging without Docker: the code asset and the dependency layer.

The handlers' code (`lambdas/`) and its third-party dependencies ship apart:
code changes often and is small, dependencies change rarely and are big. The
dependency layer is built by `pip install --platform ... --only-binary=:all:
--target`, which fetches the wheels built for Lambda's architecture and Python
whatever machine synthesizes; Docker is used only when asked for
(`ITEST_BUNDLING=docker`) or when this interpreter has no pip.

The layer's asset hash is computed from the requirements and the target
platform, so CDK and our own cache (`~/.cache/itest/layers/<hash>`) skip pip
entirely when nothing changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from itest.infra.build_cache import build_once, cache_root

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
"""The runtime package; infra/ refers to it only by path."""
ASSET_PACKAGE = "itest/lambdas"
"""Where `lambdas/` sits in the code asset: its import name, a namespace package."""
REQUIREMENTS = Path(__file__).resolve().parent / "layer" / "requirements.txt"
"""What the handlers import beyond the Lambda runtime (boto3, jmespath), pinned."""

_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
_EXCLUDED = ("__pycache__", "*.pyc", "requirements*.txt")
"""Left out of the code asset, by CDK's hash and copy and by LocalCodeCopy alike."""


class LayerBuildError(RuntimeError):
    """pip could not build the dependency layer; the message says why and what to do."""


@dataclass(frozen=True, kw_only=True)
class Target:
    """The Lambda platform wheels are chosen for."""

    python_version: str  # "3.12"
    architecture: str  # "x86_64" | "arm64"

    @property
    def platform(self) -> str:
        return _PLATFORMS[self.architecture]

    def pip_args(self, requirements: Path, target: Path) -> list[str]:
        return [
            sys.executable, "-m", "pip", "install",
            "--platform", self.platform,
            "--implementation", "cp",
            "--python-version", self.python_version,
            "--only-binary=:all:",
            "--no-compile",  # .pyc for this interpreter would be dead weight on Lambda's
            "--disable-pip-version-check",
            "--quiet",
            "--target", str(target),
            "-r", str(requirements),
        ]  # fmt: skip

    @staticmethod
    def of(runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> Target:
        version = runtime.name.removeprefix("python")
        if not version[:1].isdigit():
            raise ValueError(f"{runtime.name}: only Python runtimes have a dependency layer")
        return Target(python_version=version, architecture=architecture.name)


def layer_hash(requirements: Path, target: Target) -> str:
    """Changes exactly when the layer's content would: requirements text and platform."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"\n{target.platform} cp{target.python_version}\n".encode())
    return digest.hexdigest()


def build_layer(requirements: Path, target: Target, output_dir: Path) -> Path:
    """Put the layer's `python/` into `output_dir`, from the cache or built by pip once.

    Raises:
        LayerBuildError: pip failed (typically no route to the package index).
    """
    def build(into: Path) -> None:
        _pip(requirements, target, into / "python")
        shutil.rmtree(into / "python" / "bin", ignore_errors=True)  # console scripts

    cached = build_once(
        cache_root() / "layers" / layer_hash(requirements, target), build, done="python"
    )
    shutil.copytree(cached / "python", output_dir / "python", dirs_exist_ok=True)
    return output_dir


def _pip(requirements: Path, target: Target, into: Path) -> None:
    done = subprocess.run(
        target.pip_args(requirements, into), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-8:]
        raise LayerBuildError(
            f"building the Lambda dependency layer failed: pip exited {done.returncode} "
            f"installing {requirements} for {target.platform} cp{target.python_version}:\n  "
            + "\n  ".join(detail)
            + "\npip needs the package index (PyPI, or PIP_INDEX_URL) once; the layer is then "
            f"cached in {cache_root() / 'layers'}. To build with Docker instead, set "
            "ITEST_BUNDLING=docker."
        )


def _docker_requested() -> bool:
    return os.environ.get("ITEST_BUNDLING", "").lower() == "docker"


@jsii.implements(ILocalBundling)
class LocalLayerBundling:
    """pip on this machine; declines (so CDK uses Docker) only when Docker is asked for."""

    def __init__(self, requirements: Path, target: Target) -> None:
        self.requirements = requirements
        self.target = target

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        if _docker_requested() or _no_pip():
            return False
        build_layer(self.requirements, self.target, Path(output_dir))
        return True


@jsii.implements(ILocalBundling)
class LocalCodeCopy:
    """The code asset holds `lambdas/` as `itest/lambdas/`: handlers are
    `itest.lambdas.handlers.x`, the same import names on Lambda as on the host."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        if _docker_requested():
            return False
        shutil.copytree(
            LAMBDAS_DIR, Path(output_dir) / ASSET_PACKAGE, ignore=shutil.ignore_patterns(*_EXCLUDED)
        )
        return True


def _no_pip() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is None


def _build_image(target: Target) -> DockerImage:
    return DockerImage.from_registry(f"public.ecr.aws/sam/build-python{target.python_version}")


class LambdaPackage(Construct):
    """The handlers' code asset and the dependency layer they all share.

    Attributes:
        code: the `lambdas/` package (hash of its sources).
        layer: pydantic, requests and the rest of `infra/layer/requirements.txt`,
            as wheels for `runtime` and `architecture` (hash of the requirements);
            with `host_dependencies` only the requirements file, for the local AWS,
            which runs the handlers on the host interpreter's packages.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        requirements: Path = REQUIREMENTS,
        host_dependencies: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        target = Target.of(runtime, architecture)
        self.code = lambda_.Code.from_asset(
            str(LAMBDAS_DIR),
            asset_hash_type=AssetHashType.SOURCE,
            exclude=list(_EXCLUDED),
            bundling=BundlingOptions(
                image=_build_image(target),
                command=[
                    "bash",
                    "-c",
                    f"mkdir -p /asset-output/{ASSET_PACKAGE}"
                    f" && cp -r . /asset-output/{ASSET_PACKAGE}",
                ],
                local=LocalCodeCopy(),
            ),
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(requirements.parent))
            if host_dependencies
            else lambda_.Code.from_asset(
                str(requirements.parent),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=layer_hash(requirements, target),
                bundling=BundlingOptions(
                    image=_build_image(target),
                    command=[
                        "bash",
                        "-c",
                        f"pip install --no-compile -r {requirements.name} -t /asset-output/python",
                    ],
                    local=LocalLayerBundling(requirements, target),
                ),
            ),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description=f"itest handler dependencies ({requirements.name}, {target.platform})",
        )
