"""Faults on a Lambda worker's pipe to the local AWS: the worker killed mid-request, the
pool closing under a request, the local AWS's end failing, a frame cut short."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.pipe_client import read_frame, write_frame
from itest.cli.local.pipe_server import serve
from itest.cli.local.worker_pool import PIPE_THREAD, FunctionSpec, WorkerPool

from tests.aws.function_spec import handler_spec

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_httpserver import HTTPServer

HANDLER = """
import os

import boto3
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError


def handler(event, context):
    if "pidfile" in event:
        with open(event["pidfile"], "w") as pidfile:
            pidfile.write(str(os.getpid()))
    config = None
    if "read_timeout" in event:
        config = Config(read_timeout=event["read_timeout"], retries={"total_max_attempts": 1})
    try:
        return boto3.client("sts", config=config).get_caller_identity()["Account"]
    except ReadTimeoutError as exc:
        return type(exc).__name__
"""
IDENTITY = (
    b"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>%s</Account>"
    b"<Arn>arn:aws:iam::%s:user/x</Arn><UserId>x</UserId></GetCallerIdentityResult>"
    b"</GetCallerIdentityResponse>"
)
NOBODY = "http://127.0.0.1:9"  # nothing listens: a call over HTTP fails


def identity(account: bytes) -> tuple[dict[str, Any], bytes]:
    body = IDENTITY % (account, account)
    return {"status": 200, "headers": [["Content-Length", str(len(body))]]}, body


@pytest.fixture
def spec(tmp_path: Path) -> FunctionSpec:
    return handler_spec(tmp_path, "calls", HANDLER)


def pool_for(endpoint: str, answer: Any) -> WorkerPool:
    environment = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_MAX_ATTEMPTS": "2",
    }
    return WorkerPool(environment, max_workers=2, answer_aws=answer)


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    yield errors


def pipe_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == PIPE_THREAD]


def wait_until(condition: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Held:
    """An answer that waits to be let go (the local AWS busy with the request)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, head: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        self.entered.set()
        assert self.release.wait(60)
        return identity(b"123456789012")


def test_a_worker_killed_mid_request_is_replaced_and_its_pipe_ends(
    spec: FunctionSpec, tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    held = Held()
    pool = pool_for(NOBODY, held)
    before = len(pipe_threads())
    try:
        outcome: list[Any] = []
        pidfile = tmp_path / "pid"
        invoking = threading.Thread(
            target=lambda: outcome.append(pool.invoke(spec, {"pidfile": str(pidfile)}))
        )
        invoking.start()
        assert held.entered.wait(30)
        os.kill(int(pidfile.read_text()), 9)
        invoking.join(30)
        held.release.set()  # the answer goes to a pipe nobody reads

        (killed,) = outcome
        assert killed.errored
        assert json.loads(killed.payload)["errorType"] == "Runtime.ExitError"
        assert "signal: 9" in json.loads(killed.payload)["errorMessage"]
        wait_until(lambda: len(pipe_threads()) == before)

        again = pool.invoke(spec, {})  # a new worker, with a pipe of its own
        assert (again.errored, json.loads(again.payload)) == (False, "123456789012")
    finally:
        held.release.set()
        pool.close()
    wait_until(lambda: len(pipe_threads()) == before)
    assert thread_errors == []


def test_a_request_while_the_pool_closes(
    spec: FunctionSpec, thread_errors: list[BaseException]
) -> None:
    """Closing does not wait for the local AWS's answer: the worker is killed, the
    invocation ends with its exit, the late answer is dropped, the thread ends."""
    held = Held()
    pool = pool_for(NOBODY, held)
    before = len(pipe_threads())
    outcome: list[Any] = []
    invoking = threading.Thread(target=lambda: outcome.append(pool.invoke(spec, {})))
    invoking.start()
    assert held.entered.wait(30)

    started = time.monotonic()
    pool.close()
    took = time.monotonic() - started
    invoking.join(30)
    held.release.set()

    assert took < 20.0  # waiting for the answer would take the 60 s it is held
    (closed,) = outcome
    assert closed.errored
    assert json.loads(closed.payload)["errorType"] == "Runtime.ExitError"
    wait_until(lambda: len(pipe_threads()) == before)
    assert thread_errors == []
    with pytest.raises(RuntimeError, match="closed"):
        pool.invoke(spec, {})


def test_when_the_local_aws_s_end_fails_the_worker_goes_over_http(
    spec: FunctionSpec, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The request that met the failure is retried by botocore, over HTTP, as after a
    dropped connection; so are the worker's later calls."""
    answered = identity(b"333333333333")
    httpserver.expect_request("/", method="POST").respond_with_data(
        answered[1], content_type="text/xml"
    )

    def broken(head: dict[str, Any], body: bytes) -> Any:
        raise RuntimeError("broken")

    pool = pool_for(httpserver.url_for("").rstrip("/"), broken)
    try:
        first = pool.invoke(spec, {})
        second = pool.invoke(spec, {})
    finally:
        pool.close()

    assert json.loads(first.payload) == json.loads(second.payload) == "333333333333"
    assert len(httpserver.log) == 2
    assert "a Lambda worker's pipe failed" in caplog.text


def test_an_answer_later_than_the_read_timeout(spec: FunctionSpec, httpserver: HTTPServer) -> None:
    """Times out as over HTTP; the pipe, out of step, is left for HTTP from then on (the
    late answer is let go once the worker has given up on it: no sleep to outlast)."""
    httpserver.expect_request("/", method="POST").respond_with_data(
        identity(b"333333333333")[1], content_type="text/xml"
    )
    late = Held()

    pool = pool_for(httpserver.url_for("").rstrip("/"), late)
    try:
        timed_out = pool.invoke(spec, {"read_timeout": 0.5})
        late.release.set()  # the answer comes, to a pipe nobody waits on
        after = pool.invoke(spec, {})
    finally:
        late.release.set()
        pool.close()

    assert json.loads(timed_out.payload) == "ReadTimeoutError"
    assert json.loads(after.payload) == "333333333333"
    assert len(httpserver.log) == 1


def test_a_frame_cut_short_ends_the_pipe() -> None:
    """The worker died writing its request: nothing is answered, both ends close."""
    requests_read, requests_write = os.pipe()
    answers = io.BytesIO()
    frame = io.BytesIO()
    write_frame(frame, {"method": "PUT", "url": "http://127.0.0.1:1/b/k", "headers": []}, b"x" * 99)
    os.write(requests_write, frame.getvalue()[:-10])
    os.close(requests_write)
    called: list[Any] = []

    with open(requests_read, "rb") as requests:
        serve(requests, answers, lambda head, body: called.append(head))  # type: ignore[arg-type]
        assert requests.closed
    assert answers.closed
    assert called == []


def test_something_not_a_frame_ends_the_pipe(caplog: pytest.LogCaptureFixture) -> None:
    requests = io.BytesIO(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00nope")
    answers = io.BytesIO()

    serve(requests, answers, lambda head, body: pytest.fail("answered"))

    assert requests.closed and answers.closed
    assert "not a frame" in caplog.text


def test_frames_carry_any_bytes() -> None:
    stream = io.BytesIO()
    body = bytes(range(256)) * 1000
    write_frame(stream, {"status": 200, "headers": [["X-Ünicode", "é"]]}, body)
    write_frame(stream, {"status": 204, "headers": []}, b"")
    stream.seek(0)

    assert read_frame(stream) == ({"status": 200, "headers": [["X-Ünicode", "é"]]}, body)
    assert read_frame(stream) == ({"status": 204, "headers": []}, b"")
    assert read_frame(stream) is None
