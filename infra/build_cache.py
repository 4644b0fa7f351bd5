"""The itest cache folder, and building a directory into it once, atomically.

Used for built dependency layers (infra/packaging.py) and synthesized
assemblies (cli/local/cache.py): both are slow to make and keyed by content,
so a finished one is reused and a failed or concurrent build never leaves a
half-written directory behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """`ITEST_CACHE_DIR`, else `$XDG_CACHE_HOME/itest`, else `~/.cache/itest`."""
    if override := os.environ.get("ITEST_CACHE_DIR"):
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "itest"


def build_once(target: Path, build: Callable[[Path], None], *, done: str) -> Path:
    """Return `target`, calling `build(tmp)` first unless `target/done` exists.

    `build` writes into a temporary sibling that is renamed into place; if a
    concurrent build got there first, its result is kept.

    Raises:
        RuntimeError: `build` returned without writing `done`.
    """
    if (target / done).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        build(tmp)
        if not (tmp / done).exists():
            raise RuntimeError(f"the build wrote no {done} in {tmp}")
        try:
            tmp.rename(target)
        except OSError:
            if not (target / done).exists():  # not a concurrent build's result
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
