"""The background local AWS's process: `python -m cli.local.daemon --port N --log FILE`.

Started detached by `itest local up`. It runs the local AWS, deploys the
orchestrator, says so in the state file, and waits for SIGTERM (`itest local
down`), on which it stops its Lambda workers and the server before exiting.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import subprocess
import sys
import traceback
from datetime import UTC, datetime

from itest.cli.local.background import LocalState, remove_state, write_state


def serve(port: int, log_file: str) -> int:
    """Run until SIGTERM or SIGINT; 0 after a clean stop, 1 if it could not start."""
    from itest.cli.local.orchestrator import assembly_cached, started_orchestrator

    state = LocalState(
        pid=os.getpid(),
        state="starting",
        log_file=log_file,
        started_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    write_state(state)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        if not assembly_cached():
            synthesize_in_a_child()
        with started_orchestrator(port) as orchestrator:
            state.sources_key = orchestrator.sources_key
            state.outputs = orchestrator.outputs
            state.endpoint = orchestrator.endpoint
            state.credentials = orchestrator.credentials
            state.state = "up"
            write_state(state)
            keep_the_start_up_heap()
            print(f"local AWS up at {orchestrator.endpoint}", flush=True)
            while True:
                signal.pause()
    except _Stop:
        print("stopping", flush=True)
        remove_state(state.pid)
        return 0
    except Exception as error:
        traceback.print_exc()
        state.state, state.error = "failed", f"{type(error).__name__}: {error}"
        write_state(state)
        return 1


def synthesize_in_a_child() -> None:
    """Fill the template cache from a child process: synthesizing starts the CDK's Node.js
    runtime (jsii), which would stay in this long-lived process (about 500 MB resident).

    Raises:
        DeployError: the child could not synthesize (its traceback is in this log).
    """
    from itest.cli.local.errors import DeployError

    code = "from itest.cli.local.orchestrator import assembly; assembly()"
    if subprocess.run([sys.executable, "-c", code], check=False).returncode != 0:
        raise DeployError("synthesizing the orchestrator failed: see the traceback above")


def keep_the_start_up_heap() -> None:
    """Take what start-up made (moto's and botocore's models, the deployed orchestrator:
    about 300,000 objects that live as long as the process) out of the garbage
    collector's full collections, each of which scanned it all again (0.2-0.3 s each:
    6-12% of this process's CPU with 50 runs at once; 4-6% with it frozen)."""
    gc.collect()  # the start-up's garbage goes first: what is frozen is never collected
    gc.freeze()


class _Stop(BaseException):
    """Raised in the main thread by the signal handler, so every `with` block unwinds."""


def _stop(signum: int, frame: object) -> None:
    raise _Stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    sys.exit(serve(args.port, args.log))


if __name__ == "__main__":
    main()
