"""`itest local up | down | status`: a local AWS that outlives the command that started it.

The local AWS runs in a detached process (`python -m cli.local.daemon`); a
small JSON file under the cache dir says where it listens, its pid, its state
(`starting`, `up`, `failed`), the deployed stack's outputs and the credentials
the local AWS accepts (cli/local/front_door.py). Every other command finds it
there. A file whose process is gone is stale and ignored. The folder is 0700
and its files 0600: the credentials open the local AWS.
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

from itest.cli.local.cache import state_dir
from itest.cli.local.errors import BackgroundError

DAEMON_MODULE = "itest.cli.local.daemon"
START_TIMEOUT_SECONDS = 300.0  # a first start synthesizes the CDK app (tens of seconds)
STOP_TIMEOUT_SECONDS = 15.0


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
    credentials: dict[str, str] = field(default_factory=dict)


def connection(state: LocalState) -> Any:  # -> LocalAws
    """The background local AWS as clients reach it: its endpoint and credentials."""
    from itest.cli.local.server import LocalAws

    return LocalAws(endpoint_url=state.endpoint or "", credentials=state.credentials)


def state_file() -> Path:
    return state_dir() / "state.json"


def write_state(state: LocalState) -> None:
    """Atomically (a reader never sees half a file), readable by its owner only."""
    tmp = state_file().with_suffix(f".{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(json.dumps(asdict(state), indent=2))
    tmp.chmod(0o600)
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
    log_file = state_dir() / "server.log"
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with os.fdopen(os.open(log_file, flags, 0o600), "wb") as log:
        log_file.chmod(0o600)
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
    flags = os.O_WRONLY | os.O_CREAT
    with os.fdopen(os.open(state_dir() / "lock", flags, 0o600), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refresh(synth_key: str, deploy: Callable[[Any], dict[str, str]]) -> LocalState | None:
    """Redeploy to the running local AWS if it runs other sources than `synth_key`.

    `deploy(local_aws)` deploys the current assembly there and returns the
    stack's outputs. Returns the updated state when it redeployed, else None.
    """
    with _lock():
        state = running()
        if state is None or state.sources_key == synth_key:
            return None
        state.outputs = deploy(connection(state))
        state.sources_key = synth_key
        write_state(state)
        return state


def describe(state: LocalState) -> dict[str, Any]:
    """The state as `itest local status --format json` shows it, with what a client
    (boto3, the AWS CLI) needs: the endpoint and the credentials, also as `env`."""
    return {
        "state": state.state,
        "endpoint": state.endpoint,
        "region": connection(state).region,
        "credentials": {
            "aws_access_key_id": state.credentials.get("AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": state.credentials.get("AWS_SECRET_ACCESS_KEY"),
            "aws_session_token": state.credentials.get("AWS_SESSION_TOKEN"),
        },
        "env": connection(state).env() if state.endpoint else {},
        "pid": state.pid,
        "started_at": state.started_at,
        "log_file": state.log_file,
        "state_machine_arn": state.outputs.get("StateMachineArn"),
        "results_table": state.outputs.get("ResultsTableName"),
        "bucket": state.outputs.get("BucketName"),
    }
