"""moto's region lists, remembered between starts of the local AWS.

moto asks botocore which regions a service has whenever it builds a service's
backends, and three times when it imports EC2 (which the Step Functions
interpreter pulls in). botocore answers by parsing the service's whole model
file (EC2's is megabytes) in a fresh session each time: about half a second of
every start. The answers depend only on botocore's data, so they are kept in
the private state folder, one file per botocore version, and read back.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from itest.cli.local.cache import state_dir


def install() -> Callable[[], None]:
    """Answer `botocore.session.Session.get_available_regions` from the remembered
    lists (asking botocore what is not there); return the undo, which saves what
    was learned."""
    from botocore.session import Session

    path = regions_file()
    known = _read(path)
    learned: dict[str, list[str]] = {}
    lock = threading.Lock()
    original = Session.get_available_regions

    def get_available_regions(
        self: Session,
        service_name: str,
        partition_name: str = "aws",
        allow_non_regional: bool = False,
    ) -> list[str]:
        key = f"{service_name} {partition_name} {allow_non_regional}"
        with lock:
            regions = known.get(key)
        if regions is None:
            regions = original(self, service_name, partition_name, allow_non_regional)
            with lock:
                known[key] = learned[key] = list(regions)
        return list(regions)

    Session.get_available_regions = get_available_regions  # type: ignore[method-assign]

    def uninstall() -> None:
        Session.get_available_regions = original  # type: ignore[method-assign]
        if learned:
            _write(path, known)

    return uninstall


def regions_file() -> Path:
    """Where the lists of the installed botocore are kept."""
    import botocore

    return state_dir() / f"regions-botocore-{botocore.__version__}.json"


def _read(path: Path) -> dict[str, list[str]]:
    """The remembered lists; none when the file is missing or not what `_write` wrote."""
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        key: value
        for key, value in data.items()
        if isinstance(value, list) and all(isinstance(v, str) for v in value)
    }


def _write(path: Path, known: dict[str, list[str]]) -> None:
    """Replace the file at once (a concurrent start reads the old or the new one)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(known, sort_keys=True))
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)
