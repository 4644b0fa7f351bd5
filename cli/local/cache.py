"""The local cache: synthesized CDK assemblies, extracted Lambda code, the local AWS's state.

Synthesizing starts Node through jsii and takes seconds; a local run should pay
that once per change of the CDK sources, not once per run.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from itest.infra.build_cache import build_once, cache_root

__all__ = ["assembly_cached", "cache_root", "cached_assembly", "sources_key", "state_dir"]

_SKIPPED_DIRS = {"__pycache__", ".git", "cdk.out", ".pytest_cache", ".ruff_cache", ".venv"}


_ASSEMBLY_DONE = "manifest.json"


def cached_assembly(synth: Callable[[Path], None], key: str) -> Path:
    """Return the cloud assembly of the sources whose `sources_key` is `key`, calling
    `synth(outdir)` only when none is cached (the caller hashes its sources once)."""
    return build_once(_assembly_folder(key), synth, done=_ASSEMBLY_DONE)


def assembly_cached(key: str) -> bool:
    """Whether `cached_assembly` of `key` will come from the cache."""
    return (_assembly_folder(key) / _ASSEMBLY_DONE).is_file()


def _assembly_folder(key: str) -> Path:
    return cache_root() / "assemblies" / key


def state_dir() -> Path:
    """The local AWS's private state folder (its state file, registered code), made
    private (0700) whenever it is used: what it holds opens the local AWS."""
    folder = cache_root() / "local"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    return folder


def sources_key(sources: list[Path]) -> str:
    """What a cached assembly is keyed by: the sources' contents (files, or every file
    under a directory) and the Python, aws-cdk-lib and constructs versions."""
    digest = hashlib.sha256()
    for name in ("aws-cdk-lib", "constructs"):
        digest.update(f"{name}=={_version(name)}\n".encode())
    digest.update(sys.version.encode())
    for source in sources:
        for path in _files(source):
            digest.update(f"\n{path.relative_to(source.parent).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _files(source: Path) -> Iterator[Path]:
    if not source.exists():
        raise FileNotFoundError(f"assembly source not found: {source}")
    if source.is_file():
        yield source
        return
    for path in sorted(source.rglob("*")):
        skipped = _SKIPPED_DIRS.intersection(path.relative_to(source).parts)
        if path.is_file() and not skipped and path.suffix != ".pyc":
            yield path


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"
