"""A Lambda worker's AWS calls to the local AWS, over the worker's own pipe instead of TCP.

Run in the worker (cli/local/lambda_bootstrap.py loads this file by its path):
only the standard library is imported here, and botocore is touched only when
the handler's code imports it, whichever botocore that is (`install`).

A request to the local AWS (the URL starts with `AWS_ENDPOINT_URL`) is
written whole to a pipe that only this process holds, as a frame (below); the
server's thread for this worker (cli/local/pipe_server.py) answers it through
the same WSGI application as its HTTP server, front door included, and
botocore parses the answer as if urllib3 had read it. This saves both sides
the HTTP plumbing: connection pool, http.client and urllib3 here; werkzeug's
server, its select loop and a thread per connection there.

One request at a time per worker: a call made while another thread of the
worker has one on the pipe (an action abandoned at its deadline, still waiting
on a long poll) goes over TCP, as before. So does every request to any other
URL (a handler's own HTTP calls, a client pointed elsewhere), every request of
a process the handler forked (its frames would mix with the worker's), and
everything after the pipe broke (the local AWS closing): that request fails as
a closed connection does, and botocore's retry goes over TCP. The client's
read timeout holds as over HTTP (an answer that does not start in time is a
`ReadTimeoutError`; the pipe, out of step then, is left for HTTP too).

Requests to the local AWS carry the key id, the session token and the
credential scope SigV4 would put in them, but no signature: nothing in the
local AWS checks one (its front door checks the key id and session token, the
token being the secret; moto reads the key id, for the account, and the
scope, for the service and region), and the SHA-256 and HMACs over every
request were a tenth of a worker's CPU. Requests elsewhere are signed.

Frames, both ways: 12 bytes (the head's length, 4 bytes, and the body's, 8,
big-endian), the head (JSON: method, url and headers; or status and headers),
the body's bytes as they are.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import json
import os
import select
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, BinaryIO

PIPE_VARIABLE = "_ITEST_AWS_PIPE"  # "<fd to read answers>,<fd to write requests>"
UNSIGNED = "itest-local-unsigned"  # the Signature= of a request to the local AWS
_LENGTHS = struct.Struct(">IQ")

Head = dict[str, Any]


def write_frame(stream: BinaryIO, head: Head, body: bytes) -> None:
    """Write one frame and flush it."""
    encoded = json.dumps(head, separators=(",", ":")).encode()
    stream.write(_LENGTHS.pack(len(encoded), len(body)) + encoded)
    if body:
        stream.write(body)
    stream.flush()


def read_frame(stream: BinaryIO) -> tuple[Head, bytes] | None:
    """The next frame; None at the end of the stream.

    Raises:
        EOFError: the stream ended inside a frame (the other side died writing it).
    """
    lengths = stream.read(_LENGTHS.size)
    if not lengths:
        return None
    if len(lengths) < _LENGTHS.size:
        raise EOFError("the pipe closed inside a frame")
    head_size, body_size = _LENGTHS.unpack(lengths)
    head = stream.read(head_size)
    body = stream.read(body_size) if body_size else b""
    if len(head) < head_size or len(body) < body_size:
        raise EOFError("the pipe closed inside a frame")
    return json.loads(head), body


class AwsPipe:
    """The worker's end: a botocore `before-send` handler answering requests to the
    local AWS from the pipe (None for anything it leaves to botocore's HTTP)."""

    def __init__(self, endpoint_url: str, answers: BinaryIO, requests: BinaryIO) -> None:
        self.origin = endpoint_url.rstrip("/")
        self._answers = answers
        self._requests = requests
        self._in_use = threading.Lock()
        self._known = threading.local()  # `answer_next`
        self.broken = False
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self.broken = True  # the pipe is the worker's, not a forked child's

    def is_local(self, url: str) -> bool:
        """Whether `url` is the local AWS's (then its requests need no signature)."""
        origin = self.origin
        return url.startswith(origin) and url[len(origin) : len(origin) + 1] in ("", "/", "?")

    def before_send(self, request: Any, **_: Any) -> Any:
        known = getattr(self._known, "answer", None)
        if known is not None:
            self._known.answer = None
            if isinstance(known, BaseException):
                raise known
            return known
        if self.broken or not self.is_local(request.url):
            return None
        headers = request.headers
        if "Transfer-Encoding" in headers:  # a body of unknown length: as it is, over HTTP
            return None
        with self.held() as held:
            return self._exchange(request) if held else None

    def answer_next(self, answer: Any) -> None:
        """The next request this thread sends gets `answer` (a botocore HTTP response,
        or an error to raise as sending would) without being sent: it was sent already
        (cli/local/lean_calls.py: a first attempt botocore then retries). None: no more."""
        self._known.answer = answer

    @contextlib.contextmanager
    def held(self) -> Iterator[bool]:
        """Whether this thread has the pipe for the block: False when it is broken or
        another thread has it (a request goes over HTTP then)."""
        if self.broken or not self._in_use.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            self._in_use.release()

    def _exchange(self, request: Any) -> Any:
        head, body = self.frame_of(request)
        return self.response_of(request.url, *self.send_frame(head, body, _read_timeout(request)))

    @staticmethod
    def response_of(url: str, answer: Head, content: bytes) -> Any:
        """An answer from the pipe as botocore's HTTP response to a request to `url`."""
        from botocore.awsrequest import AWSResponse, HeadersDict

        received = HeadersDict()
        for name, value in answer["headers"]:  # a header twice: joined, as urllib3 does
            received[name] = f"{received[name]}, {value}" if name in received else value
        return AWSResponse(url, answer["status"], received, _Raw(content))

    @staticmethod
    def frame_of(request: Any) -> tuple[Head, bytes]:
        """The head and body of the frame a botocore request goes over the pipe as."""
        body = _body_bytes(request.body)
        headers = _sent_headers(request, body)
        return {"method": request.method, "url": request.url, "headers": headers}, body or b""

    def send_frame(self, head: Head, body: bytes, read_timeout: float | None) -> tuple[Head, bytes]:
        """Write one request and read its answer; the caller holds the pipe (`held`).

        Raises:
            botocore's ConnectionClosedError or ReadTimeoutError, as over HTTP: the
            pipe is broken from then on (its later requests go over HTTP).
        """
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        try:
            write_frame(self._requests, head, body)
            in_time = self._answer_within(read_timeout)
            frame = read_frame(self._answers) if in_time else None
        except (OSError, EOFError, ValueError) as exc:
            self.broken = True  # the local AWS is going: from now on, HTTP
            raise ConnectionClosedError(endpoint_url=head["url"]) from exc
        if frame is None:  # closed, or late: an answer may come yet, out of step
            self.broken = True
            if in_time:
                raise ConnectionClosedError(endpoint_url=head["url"])
            raise ReadTimeoutError(endpoint_url=head["url"])
        return frame

    def _answer_within(self, seconds: float | None) -> bool:
        """Whether the answer starts within `seconds` (botocore's read timeout, which
        urllib3 applies to each read of the socket)."""
        if seconds is None:
            return True
        ready, _, _ = select.select([self._answers], [], [], seconds)
        return bool(ready)


def _read_timeout(request: Any) -> float | None:
    """The read timeout botocore would give urllib3: the request's own, else its client's."""
    context = getattr(request, "context", None) or {}
    timeout = context.get("read_timeout")
    if timeout is None:
        timeout = getattr(context.get("client_config"), "read_timeout", None)
    return timeout


class _Raw:
    """The raw body botocore reads: `stream()` for a whole answer, `read` for a
    streaming one (S3 GetObject's `Body`)."""

    def __init__(self, content: bytes) -> None:
        self._content = memoryview(content)
        self._at = 0

    def read(self, amt: int | None = None) -> bytes:
        end = len(self._content) if amt is None else min(self._at + amt, len(self._content))
        chunk = bytes(self._content[self._at : end])
        self._at = end
        return chunk

    def stream(self, **_: Any) -> Any:
        if chunk := self.read():
            yield chunk

    def close(self) -> None:
        self._at = len(self._content)


def _body_bytes(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    data = body.read()  # a file-like body of known length (botocore rewinds it to retry)
    return data.encode() if isinstance(data, str) else data


def _sent_headers(request: Any, body: bytes | None) -> list[tuple[str, str]]:
    """The headers as urllib3 and http.client would send them: `Host` and
    `Accept-Encoding` unless set, a `Content-Length` as urllib3 picks it, then the
    request's own (bytes read as HTTP reads a header line, ISO-8859-1)."""
    own = [
        (name, value.decode("iso-8859-1") if isinstance(value, bytes) else value)
        for name, value in request.headers.items()
    ]
    names = {name.lower() for name, _ in own}
    sent = []
    if "host" not in names:
        sent.append(("Host", request.url.split("/", 3)[2]))
    if "accept-encoding" not in names:
        sent.append(("Accept-Encoding", "identity"))
    if "content-length" not in names:
        if body is not None:
            sent.append(("Content-Length", str(len(body))))
        elif request.method.upper() not in _NO_BODY_METHODS:
            sent.append(("Content-Length", "0"))
    return sent + own


_NO_BODY_METHODS = {"GET", "HEAD", "DELETE", "TRACE", "OPTIONS", "CONNECT"}  # urllib3's


def install_from_environ() -> AwsPipe | None:
    """`install` with the pipe the worker pool named in this process's environment
    (the variable is removed: the handler sees Lambda's environment); None without."""
    fds = os.environ.pop(PIPE_VARIABLE, "")
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
    if not fds or not endpoint_url:
        return None
    answers_fd, requests_fd = (int(fd) for fd in fds.split(","))
    return install(endpoint_url, answers_fd, requests_fd)


def install(endpoint_url: str, answers_fd: int, requests_fd: int) -> AwsPipe:
    """Send this process's requests to `endpoint_url` over the pipe, from the first
    botocore session the handler makes: its `before-send` handler, and signers that
    leave the signature out for the local AWS, set up as botocore is imported."""
    for fd in (answers_fd, requests_fd):
        os.set_inheritable(fd, False)  # the handler's own subprocesses do not get it
    answers = open(answers_fd, "rb")  # noqa: SIM115 (open as long as this process)
    requests = open(requests_fd, "wb")  # noqa: SIM115
    pipe = AwsPipe(endpoint_url, answers, requests)

    def handlers_loaded(module: ModuleType) -> None:
        module.BUILTIN_HANDLERS.append(("before-send", pipe.before_send))

    def auth_loaded(module: ModuleType) -> None:
        for name in ("v4", "s3v4"):
            signer = module.AUTH_TYPE_MAPS.get(name)
            if isinstance(signer, type) and issubclass(signer, module.SigV4Auth):
                module.AUTH_TYPE_MAPS[name] = _unsigned_for(pipe, signer, module)

    sys.meta_path.insert(
        0, _AfterImport({"botocore.handlers": handlers_loaded, "botocore.auth": auth_loaded})
    )
    return pipe


def _unsigned_for(pipe: AwsPipe, signer: type, auth: ModuleType) -> type:
    """`signer`, but for a request to the local AWS: its headers without the signature."""

    def add_auth(self: Any, request: Any) -> None:
        if not pipe.is_local(request.url):
            return signer.add_auth(self, request)
        if self.credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        request.context["timestamp"] = auth.get_current_datetime().strftime(auth.SIGV4_TIMESTAMP)
        auth.SigV4Auth._modify_request_before_signing(self, request)  # date, token
        if issubclass(signer, auth.S3SigV4Auth):
            payload = (
                auth.STREAMING_UNSIGNED_PAYLOAD_TRAILER
                if self._is_streaming_checksum_payload(request)
                else auth.UNSIGNED_PAYLOAD
            )
            if "X-Amz-Content-SHA256" in request.headers:
                del request.headers["X-Amz-Content-SHA256"]
            request.headers["X-Amz-Content-SHA256"] = payload
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.scope(request)}, "
            f"SignedHeaders=host, Signature={UNSIGNED}"
        )

    return type(signer.__name__, (signer,), {"add_auth": add_auth})


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls a hook on a module right after its first import (each hook once)."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]) -> None:
        self.hooks = hooks

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        hook = self.hooks.pop(name, None)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            hook(module)

        loader.exec_module = exec_module  # this module's loader object only
        return spec
