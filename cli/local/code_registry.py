"""Which Lambda code a local AWS runs: only what its owner registered.

The local AWS runs Lambda code as host processes with its owner's privileges,
so whoever can call its Lambda API (a scenario's `aws.lambda.create_function`,
or anything holding its credentials) could run anything. So code runs only if
its sha256 (moto's `code_digest` of the zip, or of a layer's) was registered
by the owner's own processes: the deploy registers every asset it publishes
and the template's inline code (cli/local/deploy.py: the orchestrator's
handlers and layer), and a local
target registers the code of the functions it creates,
`Code={"ZipFile": aws.register_code(zip_bytes)}`.

The digests are files in a folder of the private state folder (0700), one
folder per local AWS (named after its random access key id): the CLI that
enters local targets against the background local AWS is another process than
the server that runs the code. The folder goes when the local AWS stops.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
from pathlib import Path

from itest.cli.local.cache import state_dir

_DIGEST = re.compile(r"[0-9a-f]{64}")


class CodeRegistry:
    """The digests of one local AWS's registered code; thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._known: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, credentials: dict[str, str]) -> CodeRegistry:
        """The registry of the local AWS these credentials open."""
        return cls(state_dir() / "code" / credentials["AWS_ACCESS_KEY_ID"])

    def register(self, code: bytes) -> str:
        """Let the local AWS run `code` (a Lambda zip, or a layer's); its sha256 hex."""
        digest = hashlib.sha256(code).hexdigest()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_CREAT
        os.close(os.open(self.folder / digest, flags, 0o600))
        with self._lock:
            self._known.add(digest)
        return digest

    def knows(self, digest: str | None) -> bool:
        """Whether code of this sha256 hex was registered (here or by another process)."""
        if not digest or not _DIGEST.fullmatch(digest):
            return False
        with self._lock:
            if digest in self._known:
                return True
        if not (self.folder / digest).is_file():
            return False
        with self._lock:
            self._known.add(digest)
        return True

    def remove(self) -> None:
        """Forget everything (the local AWS stopped)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        with self._lock:
            self._known.clear()
