"""`itest local up | down | status`: a local AWS that outlives the command that started it.

The local AWS runs in a detached process (`python -m cli.local.daemon`); a
small JSON file under the cache dir says where it listens, its pid, its state
(`starting`, `up`, `failed`) and the deployed stack's outputs. Every other
command finds it there. A file whose process is gone is stale and ignored.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from itest.cli.local.cache import cache_root

DAEMON_MODULE = "itest.cli.local.daemon"
START_TIMEOUT_SECONDS = 300.0  # a first start synthesizes the CDK app (tens of seconds)
STOP_TIMEOUT_SECONDS = 15.0


class BackgroundError(RuntimeError):
    """The background local AWS could not be started or stopped; the message says why."""


@dataclass
class LocalState:
    """What the state file holds."""

    pid: int
    state: str  # starting | up | failed
    log_file: str
    started_at: str
    endpoint: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    sources_key: str | None = None
    error: str | None = None


def state_dir() -> Path:
    return cache_root() / "local"


def state_file() -> Path:
    return state_dir() / "state.json"


def write_state(state: LocalState) -> None:
    """Atomically: a reader never sees half a file."""
    state_dir().mkdir(parents=True, exist_ok=True)
    tmp = state_file().with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    tmp.replace(state_file())


def read_state() -> LocalState | None:
    """The state of a live background process, or None (no file, or a stale one)."""
    state = _read_any()
    return state if state and is_daemon(state.pid) else None


def running() -> LocalState | None:
    """The background local AWS if it is up (not starting or failed)."""
    state = read_state()
    return state if state and state.state == "up" else None


def remove_state(pid: int) -> None:
    """Remove the state file if it is still `pid`'s (a newer daemon may have replaced it)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(state_file().read_text()).get("pid") == pid:
            state_file().unlink()


def is_daemon(pid: int) -> bool:
    """Alive, not a zombie, and (where /proc tells) running our daemon module."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process reusing the pid
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc here: trust the signal
    except OSError:
        return False
    return DAEMON_MODULE.encode() in cmdline  # empty for a zombie


def up(
    *,
    port: int = 0,
    timeout: float = START_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[LocalState, bool]:
    """Start the background local AWS unless it is up; wait until it is deployed.

    Returns the state and whether this call started it.

    Raises:
        BackgroundError: it failed to start or deploy (with its log's last lines),
            or did not come up in time (it is stopped then).
    """
    with _lock():
        state = read_state()
        if state and state.state == "up":
            return state, False
        process = None
        if state is None:
            with contextlib.suppress(OSError):
                state_file().unlink()  # stale
            process = _spawn(port)
        deadline = time.monotonic() + timeout
        while True:
            state = _read_any()
            if state and state.state == "up" and is_daemon(state.pid):
                return state, True
            if state and state.state == "failed":
                remove_state(state.pid)
                raise BackgroundError(f"the local AWS failed to start: {state.error}")
            exited = process.poll() is not None if process else not (state and is_daemon(state.pid))
            if exited:
                if state:
                    remove_state(state.pid)
                raise BackgroundError(
                    "the local AWS process exited while starting; its log ends:\n"
                    + _tail(state_dir() / "server.log")
                )
            if time.monotonic() > deadline:
                if state:
                    _stop(state.pid)
                elif process:
                    process.kill()
                raise BackgroundError(f"the local AWS did not come up within {timeout:.0f}s")
            sleep(0.2)


def down(*, timeout: float = STOP_TIMEOUT_SECONDS) -> LocalState | None:
    """Stop the background local AWS (its Lambda workers with it); None if none ran."""
    with _lock():
        state = read_state()
        if state is None:
            with contextlib.suppress(OSError):
                state_file().unlink()  # stale
            return None
        _stop(state.pid, timeout=timeout)
        remove_state(state.pid)
        return state


def _stop(pid: int, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM (the daemon closes its workers and server), SIGKILL if it hangs."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_daemon(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if is_daemon(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    """If the daemon is our own child (tests start it in-process), collect its exit."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _spawn(port: int) -> subprocess.Popen[bytes]:
    state_dir().mkdir(parents=True, exist_ok=True)
    log_file = state_dir() / "server.log"
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    with open(log_file, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", DAEMON_MODULE, "--port", str(port), "--log", str(log_file)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal that ran `local up` must not reach it
            env=env,
            close_fds=True,
        )


def _read_any() -> LocalState | None:
    """The state file whatever its process (to see a failure it reported before exiting)."""
    try:
        return LocalState(**json.loads(state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """One `local up` or `local down` at a time."""
    state_dir().mkdir(parents=True, exist_ok=True)
    with open(state_dir() / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refresh(synth_key: str, deploy: Callable[[str], dict[str, str]]) -> LocalState | None:
    """Redeploy to the running local AWS if it runs other sources than `synth_key`.

    `deploy(endpoint)` deploys the current assembly there and returns the
    stack's outputs. Returns the updated state when it redeployed, else None.
    """
    with _lock():
        state = running()
        if state is None or state.sources_key == synth_key:
            return None
        state.outputs = deploy(state.endpoint or "")
        state.sources_key = synth_key
        write_state(state)
        return state


def describe(state: LocalState) -> dict[str, Any]:
    """The state as `itest local status --format json` shows it."""
    return {
        "state": state.state,
        "endpoint": state.endpoint,
        "pid": state.pid,
        "started_at": state.started_at,
        "log_file": state.log_file,
        "state_machine_arn": state.outputs.get("StateMachineArn"),
        "results_table": state.outputs.get("ResultsTableName"),
        "bucket": state.outputs.get("BucketName"),
    }
