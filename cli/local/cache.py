"""The local cache: synthesized CDK assemblies and extracted Lambda code.

Synthesizing starts Node through jsii and takes seconds; a local run should pay
that once per change of the CDK sources, not once per run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

_SKIPPED_DIRS = {"__pycache__", ".git", "cdk.out", ".pytest_cache", ".ruff_cache", ".venv"}


def cache_root() -> Path:
    """`ITEST_CACHE_DIR`, else `$XDG_CACHE_HOME/itest`, else `~/.cache/itest`."""
    if override := os.environ.get("ITEST_CACHE_DIR"):
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "itest"


def cached_assembly(synth: Callable[[Path], None], sources: list[Path]) -> Path:
    """Return a cloud assembly for `sources`, calling `synth(outdir)` only when none is cached.

    The key hashes the sources' contents (files, or every file under a directory)
    with the Python, aws-cdk-lib and constructs versions. `synth` writes into a
    temporary directory that is renamed into place, so a failed or interrupted
    synth never leaves a half-written assembly behind for the next run.
    """
    root = cache_root() / "assemblies"
    target = root / sources_key(sources)
    if (target / "manifest.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=root))
    try:
        synth(tmp)
        if not (tmp / "manifest.json").is_file():
            raise RuntimeError(f"synth wrote no cloud assembly (no manifest.json in {tmp})")
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "manifest.json").is_file():  # not a concurrent run's result
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def sources_key(sources: list[Path]) -> str:
    """What a cached assembly is keyed by: the sources' contents and the tool versions."""
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
