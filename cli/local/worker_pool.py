"""A pool of warm Python processes, each running one Lambda handler the way Lambda does.

Nothing here knows moto: a `FunctionSpec` says what to run (handler, code and
layer folders, environment, timeout, memory), `WorkerPool.invoke` runs one
event and returns the payload and the log lines; cli/local/lambda_runner.py
makes moto's functions into specs.

A child (lambda_bootstrap.py) runs the handler with the function's environment
plus what Lambda sets. `PYTHONPATH` puts the code first, so it wins over
anything installed; layers come *last* on `sys.path` (the bootstrap appends
them): this interpreter's site-packages play the Lambda runtime locally and
win, because a layer holds wheels built for Lambda's Python and architecture
(`pip install --platform`), whose compiled parts need not load here; what
only a layer has is still found.

Like Lambda, a child stays warm between invocations (module state survives);
there is one child per concurrent invocation of a function's code and
configuration, and a fresh one when all are busy, unless one of them began its
invocation less than `GROW_AFTER_SECONDS` ago (about a cold start's CPU: a burst
of short invocations queues for the warm children rather than starting a child
each), unless more than one invocation per core has been queued for that long
without a break (50 runs at once queue for the one Action child): such a queue
gets a child more, up to one per core (on a quiet 2-core machine, 50 runs at
once took 3.8-3.9 s with the second, 4.1-4.3 s without: bench/timeline.py; with
the engine's lean calls halving an Action's CPU, the one Action child is still in
its handler two thirds of the burst, and two took a median 5.9 s against 7.0 s at
load 6-8, 4 pairs, for 0.8 ms more CPU a step);
nor when this process used more than
`BUSY_SHARE` of a core lately (the local AWS answering the children's calls is
one Python process: a child more would only wait on it, and its cold start
would take CPU from it), up to a bound: at most
`ITEST_LAMBDA_WORKERS` children per function (default: four per core),
further invocations queue for a free one. `prewarm` starts a function's first
child ahead of its first invocation. A child idle for
`ITEST_LAMBDA_IDLE_SECONDS` (default 60) is stopped, but for the most recently
used one of each function, so an idle pool holds one warm child per function.
The function's timeout kills the child; a child that dies is replaced on the
next invocation.

Queued invocations are served first come, first served, and a child that comes back
goes straight to the oldest one, that invocation's event written to it by the thread
that brought it back: the queued invocation's own thread, which had to wake and take
the GIL first (0.3 ms, 1-2 ms at the 90th percentile with 50 runs at once: a third of
the one Action child's idle time between two invocations), only waits for the answer.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itest.cli.local.errors import StartError
from itest.cli.local.pipe_client import PIPE_VARIABLE

if TYPE_CHECKING:
    from itest.cli.local.pipe_server import Answer

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's own limit for the init phase
DEFAULT_IDLE_SECONDS = 60.0
GROW_AFTER_SECONDS = 0.5  # about what a cold start costs in CPU (python, handler, boto3)
BUSY_SHARE = 0.8  # of a core, used by this process lately: the pool does not grow then
PIPE_THREAD = "itest-aws-pipe"  # the name of each child's thread answering its AWS calls


@dataclass(frozen=True)
class FunctionSpec:
    """What to run; two invocations of equal specs are interchangeable for a warm child.

    `arn` identifies the function (a changed spec of the same `arn` retires the
    old one's idle children); `environment` is the function's own variables.
    """

    arn: str
    name: str
    version: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: tuple[tuple[str, str], ...]
    timeout: float
    memory: int
    log_group: str


@dataclass(frozen=True)
class Invocation:
    """One invocation's answer: the payload (JSON text), whether it is a function error,
    and its log lines (START ... REPORT) with the stream of the child that ran it (None
    when no child did)."""

    payload: str
    errored: bool
    logs: list[str] = field(default_factory=list)
    log_stream: str | None = None


@dataclass
class _Outcome:
    payload: str
    errored: bool
    output: str
    duration_ms: float
    init_ms: float | None
    timed_out: bool = False


@dataclass(eq=False)
class _Ticket:
    """One invocation waiting for a child: the child it is given, and when its event was
    written to it (by whoever gave it: see `WorkerPool._checkin`)."""

    request_id: str
    event: Any
    returned: threading.Condition  # on the pool's lock: notified when given a child
    worker: _Worker | None = None  # reserved for it...
    given: bool = False  # ...and given: its event written to it if it was warm
    sent_at: float | None = None  # monotonic time the event was written to the child


@dataclass(eq=False)
class _Worker:
    """One warm child process: `lambda_bootstrap.py` running one function's handler."""

    spec: FunctionSpec
    process: subprocess.Popen[bytes]
    marker: str
    log_stream: str
    messages: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)
    init_ms: float | None = None
    last_used: float = field(default_factory=time.monotonic)
    busy_since: float = field(default_factory=time.monotonic)  # its invocation's start

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def read_forever(self) -> None:
        """Split the child's stdout into log text and control messages (reader thread)."""
        token = self.marker.encode()
        stdout = self.process.stdout
        assert stdout is not None
        for line in iter(stdout.readline, b""):
            at = line.find(token)
            if at < 0:
                self.messages.put(("log", line.decode(errors="replace")))
                continue
            if at:
                self.messages.put(("log", line[:at].decode(errors="replace")))
            self.messages.put(("message", json.loads(line[at + len(token) :])))
        stdout.close()
        self.messages.put(("exit", None))

    def wait_for(self, deadline: float, output: list[str]) -> dict[str, Any] | None:
        """Collect log text until a control message; None on timeout or exit."""
        while True:
            try:
                kind, value = self.messages.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                return None
            if kind == "log":
                output.append(value)
            elif kind == "message":
                return value
            else:
                self.process.wait()
                return None

    def signal_kill(self) -> None:
        """Kill the child and whatever its handler spawned (its process group), not waiting."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        self.signal_kill()
        self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()

    def max_memory_mb(self) -> int | None:
        """The child's peak resident memory (VmHWM), read for every invocation's REPORT."""
        try:
            with open(f"/proc/{self.process.pid}/status", "rb") as status:
                text = status.read()
        except OSError:
            return None
        at = text.find(b"\nVmHWM:")
        return None if at < 0 else int(text[at + 7 : text.index(b"\n", at + 1)].split()[0]) // 1024


class WorkerPool:
    """Invoke handlers in warm child processes; thread-safe.

    `environment` is what every child gets beside its function's own variables
    and what the Lambda runtime sets (e.g. the AWS endpoint and credentials to use).
    """

    def __init__(
        self,
        environment: dict[str, str],
        *,
        max_workers: int | None = None,
        idle_seconds: float | None = None,
        answer_aws: Answer | None = None,
    ) -> None:
        """`answer_aws` answers a child's requests to the AWS endpoint of `environment`
        over the child's own pipe (cli/local/pipe_client.py); without it they go over HTTP.

        Raises: StartError when ITEST_LAMBDA_WORKERS or ITEST_LAMBDA_IDLE_SECONDS is
        set to something else than a positive number."""
        self.environment = dict(environment)
        self.answer_aws = answer_aws
        self.max_workers = max_workers or _env_number("ITEST_LAMBDA_WORKERS", default_workers())
        self.idle_seconds = idle_seconds or _env_number(
            "ITEST_LAMBDA_IDLE_SECONDS", DEFAULT_IDLE_SECONDS
        )
        self._lock = threading.RLock()
        self._load = _OwnLoad()
        self._idle: dict[FunctionSpec, list[_Worker]] = {}
        self._workers: set[_Worker] = set()
        self._starting: dict[FunctionSpec, int] = {}
        # invocations waiting for a child, oldest first; each waits on a condition of its
        # own (on the lock): a child coming back wakes the one it is given to, not all
        self._queued: dict[FunctionSpec, collections.deque[_Ticket]] = {}
        self._queue_began: dict[FunctionSpec, float] = {}  # queued without a break since
        self._specs: dict[FunctionSpec, FunctionSpec] = {}  # one object per spec (fast keys)
        self._closed = False
        self._stopped = threading.Event()
        threading.Thread(target=self._reap_forever, daemon=True).start()

    def invoke(self, spec: FunctionSpec, event: Any) -> Invocation:
        """Run `event` through a warm child of `spec` (a new one if none is idle)."""
        spec = self._interned(spec)
        ticket = _Ticket(str(uuid.uuid4()), event, threading.Condition(self._lock))
        worker = self._checkout(spec, ticket)
        if worker is None:
            message = (
                f"{spec.name}: all {self.max_workers} local workers stayed busy for "
                f"{spec.timeout:g} s (ITEST_LAMBDA_WORKERS)"
            )
            return Invocation(
                json.dumps({"errorType": "TooManyRequestsException", "errorMessage": message}),
                True,
            )
        try:
            outcome = self._invoke(worker, ticket)
            logs = self._log_text(spec, ticket.request_id, outcome, worker)
        finally:
            self._checkin(worker)
        return Invocation(outcome.payload, outcome.errored, logs, worker.log_stream)

    def prewarm(self, spec: FunctionSpec) -> None:
        """Start a child for a function that has none, so that its import runs now,
        beside whatever comes before the first invocation, which then finds it warm."""
        spec = self._interned(spec)
        with self._lock:
            if self._closed or self._starting.get(spec) or any(
                w.spec == spec for w in self._workers
            ):
                return
            self._starting[spec] = self._starting.get(spec, 0) + 1
        try:
            worker = self._start(spec)
        finally:
            with self._lock:
                self._starting[spec] -= 1
        self._checkin(worker)

    def close(self) -> None:
        """Stop every child at once, as Lambda ends an execution environment: a kill,
        no clean exit to wait for (an interpreter's exit takes tens of milliseconds
        per child, and nothing of it is seen: logs were read with each invocation)."""
        self._stopped.set()
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
            for ticket in (t for queued in self._queued.values() for t in queued):
                ticket.returned.notify()
        for worker in workers:
            worker.signal_kill()
        for worker in workers:
            worker.kill()

    # -- workers ------------------------------------------------------------

    def _checkout(self, spec: FunctionSpec, ticket: _Ticket) -> _Worker | None:
        """An idle warm child; else a new one while under `max_workers`, if every busy
        child has been on its invocation for `GROW_AFTER_SECONDS` (one about to come
        back is cheaper than a cold start); else queue for one to come back, oldest first
        (at most the function's timeout: None then)."""
        deadline = time.monotonic() + spec.timeout
        with self._lock:
            queued = self._queued.setdefault(spec, collections.deque())
            if not queued:
                self._queue_began[spec] = time.monotonic()
            queued.append(ticket)
            try:
                while True:
                    if ticket.given:
                        return ticket.worker
                    if self._closed:
                        raise RuntimeError("the local Lambda worker pool is closed")
                    now = time.monotonic()
                    if ticket.worker is not None:  # reserved, its event being written: soon
                        ticket.returned.wait()
                        continue
                    idle = self._idle.get(spec, [])
                    while idle:
                        worker = idle.pop()  # the most recently used: the others may be reaped
                        if worker.alive:
                            worker.busy_since = now
                            return worker
                        self._workers.discard(worker)
                    self._retire_other_versions(spec)
                    busy = [w for w in self._workers if w.spec == spec]
                    starting = self._starting.get(spec, 0)
                    fresh = [w.busy_since for w in busy if now - w.busy_since < GROW_AFTER_SECONDS]
                    if fresh and self._lasting(spec, len(busy) + starting, now):
                        fresh = []  # a queue worth a cold start: a child more, one per core
                    room = len(busy) + starting < self.max_workers
                    busy_here = room and not fresh and self._load.share() > BUSY_SHARE
                    if room and not fresh and not busy_here and starting < len(queued):
                        self._starting[spec] = starting + 1
                        break
                    if now >= deadline:
                        return None
                    if fresh:  # look again when the freshest would have run long enough
                        until = min(fresh) + GROW_AFTER_SECONDS
                    elif busy_here:  # look again when this process may have caught up
                        until = now + GROW_AFTER_SECONDS
                    else:  # a starting child is busy from its start; else wait for any
                        until = now + GROW_AFTER_SECONDS if starting else deadline
                    ticket.returned.wait(min(until, deadline) - now)
            finally:
                if ticket.worker is None:
                    queued.remove(ticket)
        try:
            return self._start(spec)
        finally:
            with self._lock:
                self._starting[spec] -= 1

    def _lasting(self, spec: FunctionSpec, children: int, now: float) -> bool:
        """Whether short invocations queue for their `children` like 50 runs at once: some
        have been queued for `GROW_AFTER_SECONDS` without a break, more than one per core
        wait now, and the children are fewer than the cores (the lock held)."""
        cores = os.cpu_count() or 1
        return (
            children < cores
            and len(self._queued[spec]) > cores
            and now - self._queue_began[spec] >= GROW_AFTER_SECONDS
        )

    def _interned(self, spec: FunctionSpec) -> FunctionSpec:
        """The one object of specs equal to `spec`: the pool's dicts and children hold
        it, so that finding it is an identity check (comparing equal specs compares their
        paths and environments: 50 runs at once compared them 80 times an invocation)."""
        with self._lock:
            return self._specs.setdefault(spec, spec)

    def _checkin(self, worker: _Worker) -> None:
        """A child is free again, or gone. A free one goes to the oldest queued invocation
        of its function, its event written to it here and now if it is warm (a cold one,
        from `prewarm`, gets it once ready); with none queued, it is idle."""
        with self._lock:
            queued = self._queued.get(worker.spec)
            if not (worker.alive and not self._closed and worker in self._workers):
                self._workers.discard(worker)
                if queued:  # the oldest may start a child in its place
                    queued[0].returned.notify()
                ticket = None
            elif queued:
                ticket = queued.popleft()
                ticket.worker = worker
                worker.busy_since = time.monotonic()
            else:
                worker.last_used = time.monotonic()
                self._idle.setdefault(worker.spec, []).append(worker)
                return
        if ticket is None:
            worker.kill()
            return
        if worker.init_ms is not None:
            self._send(worker, ticket)
        with self._lock:
            ticket.given = True
            ticket.returned.notify()

    def _reap_forever(self) -> None:
        """Stop children idle for `idle_seconds`, but the most recently used per function."""
        tick = max(0.2, min(self.idle_seconds / 4, 5.0))
        while not self._stopped.wait(tick):
            for worker in self._reap(time.monotonic()):
                worker.kill()

    def _reap(self, now: float) -> list[_Worker]:
        with self._lock:
            newest: dict[str, _Worker] = {}
            for worker in (w for idle in self._idle.values() for w in idle):
                kept = newest.get(worker.spec.arn)
                if kept is None or worker.last_used > kept.last_used:
                    newest[worker.spec.arn] = worker
            reaped = [
                w
                for idle in self._idle.values()
                for w in idle
                if now - w.last_used >= self.idle_seconds and newest[w.spec.arn] is not w
            ]
            for worker in reaped:
                self._idle[worker.spec].remove(worker)
                self._workers.discard(worker)
            return reaped

    def _retire_other_versions(self, spec: FunctionSpec) -> None:
        """Code or configuration changed: idle children of the old one will never serve again."""
        for old in [s for s in self._idle if s.arn == spec.arn and s != spec]:
            for worker in self._idle.pop(old):
                self._workers.discard(worker)
                threading.Thread(target=worker.kill, daemon=True).start()

    def _start(self, spec: FunctionSpec) -> _Worker:
        marker = f"\x1eitest-{secrets.token_hex(16)}"
        log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
        env = self._environment(spec, log_stream)
        with _AwsPipe(self.answer_aws, env) as pipe:
            process = subprocess.Popen(
                [sys.executable, "-P", "-u", str(BOOTSTRAP), marker],
                cwd=spec.code_dir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so a timeout kills whatever the handler spawned too
                pass_fds=pipe.child_fds,
            )
        worker = _Worker(spec=spec, process=process, marker=marker, log_stream=log_stream)
        threading.Thread(target=worker.read_forever, daemon=True).start()
        with self._lock:
            self._workers.add(worker)
        return worker

    def _environment(self, spec: FunctionSpec, log_stream: str) -> dict[str, str]:
        """Lambda's environment: the function's variables over what the runtime sets.

        Nothing is inherited from this process but PATH, so a developer's AWS
        profile or real credentials can never reach a locally run handler.
        """
        layer_path = [str(p) for layer in spec.layer_dirs for p in (layer / "python", layer)]
        config_file = os.devnull
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": str(spec.code_dir),
            "_ITEST_LAYER_PATH": os.pathsep.join(layer_path),
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "_ITEST_FUNCTION_ARN": spec.arn,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": f"{spec.timeout:g}",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_CONFIG_FILE": config_file,
            "AWS_SHARED_CREDENTIALS_FILE": config_file,
            **self.environment,
            **dict(spec.environment),
        }

    # -- one invocation -----------------------------------------------------

    def _send(self, worker: _Worker, ticket: _Ticket) -> None:
        """Write the invocation's event to the child; its time limit runs from now."""
        ticket.sent_at = time.monotonic()
        deadline_ms = int(time.time() * 1000 + worker.spec.timeout * 1000)
        request = {
            "request_id": ticket.request_id,
            "event": ticket.event,
            "deadline_ms": deadline_ms,
        }
        assert worker.process.stdin is not None
        with contextlib.suppress(OSError):  # the child is gone: wait_for reports its exit
            worker.process.stdin.write(json.dumps(request).encode() + b"\n")
            worker.process.stdin.flush()

    def _invoke(self, worker: _Worker, ticket: _Ticket) -> _Outcome:
        request_id = ticket.request_id
        output: list[str] = []
        init_ms = None
        if worker.init_ms is None:  # cold start: wait for the handler's module to load
            started = time.monotonic()
            message = worker.wait_for(started + INIT_TIMEOUT_SECONDS, output)
            init_ms = worker.init_ms = (time.monotonic() - started) * 1000
            if message is None or message["kind"] != "ready":
                return self._failed(
                    worker, message, output, request_id, init_ms, 0.0, INIT_TIMEOUT_SECONDS
                )
        if ticket.sent_at is None:  # not written by the one that gave it this child
            self._send(worker, ticket)
        assert ticket.sent_at is not None
        started = ticket.sent_at
        message = worker.wait_for(started + worker.spec.timeout, output)
        duration_ms = (time.monotonic() - started) * 1000
        if message is None or message["kind"] not in ("result", "error"):
            return self._failed(
                worker, message, output, request_id, init_ms, duration_ms, worker.spec.timeout
            )
        return _Outcome(
            payload=message["payload"],
            errored=message["kind"] == "error",
            output="".join(output),
            duration_ms=duration_ms,
            init_ms=init_ms,
        )

    def _failed(
        self,
        worker: _Worker,
        message: dict[str, Any] | None,
        output: list[str],
        request_id: str,
        init_ms: float | None,
        duration_ms: float,
        limit: float,
    ) -> _Outcome:
        """The child could not answer: init error, timeout or crash. It is not reused."""
        timed_out = worker.alive and message is None
        worker.kill()
        if message is not None and message["kind"] == "init_error":
            payload = message["payload"]
        elif timed_out:
            payload = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                f"{limit:.2f} seconds",
            }
            output.append(f"{_timestamp()} {request_id} Task timed out after {limit:.2f} seconds\n")
        else:
            status = worker.process.returncode
            reason = f"signal: {-status}" if status < 0 else f"exit status {status}"
            payload = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                f"{reason}",
            }
        return _Outcome(
            payload=json.dumps(payload),
            errored=True,
            output="".join(output),
            duration_ms=duration_ms,
            init_ms=init_ms,
            timed_out=timed_out,
        )

    def _log_text(
        self, spec: FunctionSpec, request_id: str, outcome: _Outcome, worker: _Worker
    ) -> list[str]:
        """The invocation's log lines, framed by START/END/REPORT like Lambda's."""
        report = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {outcome.duration_ms:.2f} ms",
            f"Billed Duration: {int(outcome.duration_ms) + 1} ms",
            f"Memory Size: {spec.memory} MB",
        ]
        if (used := worker.max_memory_mb()) is not None:
            report.append(f"Max Memory Used: {used} MB")
        if outcome.init_ms is not None:
            report.append(f"Init Duration: {outcome.init_ms:.2f} ms")
        if outcome.timed_out:
            report.append("Status: timeout")
        return [
            f"START RequestId: {request_id} Version: {spec.version}",
            *outcome.output.splitlines(),
            f"END RequestId: {request_id}",
            "\t".join(report),
        ]


class _AwsPipe:
    """A child's pipe to the local AWS, while the child starts: its ends go to the
    child (`child_fds`, named in its environment); once it started, a thread here
    answers its requests (cli/local/pipe_server.py). Nothing without `answer`."""

    def __init__(self, answer: Answer | None, env: dict[str, str]) -> None:
        self.answer = answer
        self.child_fds: tuple[int, ...] = ()
        self._own_fds: tuple[int, ...] = ()
        if answer is not None:
            answers_read, answers_write = os.pipe()
            requests_read, requests_write = os.pipe()
            self.child_fds = (answers_read, requests_write)
            self._own_fds = (requests_read, answers_write)
            env[PIPE_VARIABLE] = f"{answers_read},{requests_write}"

    def __enter__(self) -> _AwsPipe:
        return self

    def __exit__(self, error: type[BaseException] | None, *_: Any) -> None:
        for fd in self.child_fds:  # the child holds them now (or never will)
            os.close(fd)
        if not self._own_fds:
            return
        if error is not None:
            for fd in self._own_fds:
                os.close(fd)
            return
        from itest.cli.local.pipe_server import serve

        requests, answers = self._own_fds
        streams = (open(requests, "rb"), open(answers, "wb"))  # noqa: SIM115 (serve closes)
        threading.Thread(
            target=serve, args=(*streams, self.answer), name=PIPE_THREAD, daemon=True
        ).start()


class _OwnLoad:
    """The share of one core this process used over about the last half second."""

    WINDOW_SECONDS = 0.5

    def __init__(self) -> None:
        self._at, self._cpu, self._share = time.monotonic(), time.process_time(), 0.0

    def share(self) -> float:
        now = time.monotonic()
        if now - self._at >= self.WINDOW_SECONDS:
            cpu = time.process_time()
            self._share = (cpu - self._cpu) / (now - self._at)
            self._at, self._cpu = now, cpu
        return self._share


def default_workers() -> int:
    """Warm children per function unless `ITEST_LAMBDA_WORKERS` says: four per core
    (a step mostly waits on the service it tests, or long-polls a queue, so more than
    one per core keeps concurrent runs from queueing behind each other)."""
    return 4 * (os.cpu_count() or 1)


def _env_number(name: str, default: float) -> Any:
    """A positive number from the environment, else `default` (of the default's type).

    Raises:
        StartError: the variable is set to something else.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = type(default)(text)
    except ValueError:
        value = 0
    if value <= 0:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise StartError(f"{name}={text!r}: expected {kind} > 0")
    return value


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
