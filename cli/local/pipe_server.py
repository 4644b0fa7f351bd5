"""The local AWS's end of the Lambda workers' pipes (cli/local/pipe_client.py).

Each worker has a thread here (`serve`) that reads its requests and answers
each with `PipeAnswers`: the WSGI application of the local AWS's HTTP server,
called with the environ that server's request handler makes of the same
request (the handler's own `make_environ`), so the request meets the same
front door (cli/local/front_door.py: the key id and session token it
carries, the `Host`) and the same moto as one over TCP. The pipe adds its own
proof: only the worker this process started holds its other end.
"""

from __future__ import annotations

import contextlib
import io
import logging
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import urlparse

from itest.cli.local.keep_alive import KeepAliveHandler, _PlainHeaders
from itest.cli.local.pipe_client import Head, read_frame, write_frame
from werkzeug.exceptions import InternalServerError

logger = logging.getLogger(__name__)

Answer = Callable[[Head, bytes], tuple[Head, bytes]]


def serve(requests: BinaryIO, answers: BinaryIO, answer: Answer) -> None:
    """Answer one worker's requests until its end closes (it exited, or was killed,
    before, during or after a request); then close this end."""
    try:
        _answer_each(requests, answers, answer)
    finally:
        requests.close()
        with contextlib.suppress(OSError):  # what it could not take is dropped
            answers.close()


def _answer_each(requests: BinaryIO, answers: BinaryIO, answer: Answer) -> None:
    while True:
        try:
            frame = read_frame(requests)
        except EOFError:  # it died writing a request
            return
        except ValueError:  # not a frame: whatever wrote it, the pipe is not to be trusted
            logger.error("itest local AWS: a Lambda worker's pipe sent something not a frame")
            return
        if frame is None:
            return
        try:
            head, body = answer(*frame)
        except Exception:  # closing the pipe sends the worker's calls over HTTP
            logger.exception("itest local AWS: a Lambda worker's pipe failed")
            return
        try:
            write_frame(answers, head, body)
        except OSError:  # it died waiting for the answer
            return


class PipeAnswers:
    """Answers a worker's request as `server` (werkzeug's, running the local AWS)
    would answer it over HTTP."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def __call__(self, head: Head, body: bytes) -> tuple[Head, bytes]:
        return _PipeRequest(self.server, head, body).answer()


class _PipeRequest(KeepAliveHandler):
    """One request from a pipe, in the shape the HTTP server's request handler has
    once it has read a request (it never touches a socket: the body is read)."""

    def __init__(self, server: Any, head: Head, body: bytes) -> None:  # not a socket's
        url = urlparse(head["url"])  # the request target, as botocore sends it
        self.server = server
        self.client_address = ("127.0.0.1", 0)
        self.connection = None
        self.command = head["method"]
        self.path = f"{url.path or '/'}?{url.query}" if url.query else url.path or "/"
        self.request_version = "HTTP/1.1"
        self.headers = _PlainHeaders()  # what KeepAliveHandler reads a plain head into
        for name, value in head["headers"]:
            self.headers.set_raw(name, value)
        self.rfile = io.BytesIO(body)
        self._body = body

    def answer(self) -> tuple[Head, bytes]:
        """The application's answer: status, headers as the HTTP server sends them
        (its `Server` and `Date` first), and body."""
        environ = self.make_environ()
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started[:] = [status, headers]
            return _no_write

        try:
            body = self._run(self.server.app, environ, start_response)
        except Exception:
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            body = self._run(InternalServerError(), environ, start_response)
        status, headers = started
        code = int(status.split(None, 1)[0])
        sent = [("Server", self.version_string()), ("Date", self.date_time_string()), *headers]
        if not (
            any(name.lower() == "content-length" for name, _ in headers)
            or self.command == "HEAD"
            or 100 <= code < 200
            or code in (204, 304)
        ):
            sent.append(("Transfer-Encoding", "chunked"))  # what werkzeug frames it with
        return {"status": code, "headers": sent}, body

    @staticmethod
    def _run(app: Any, environ: dict[str, Any], start_response: Any) -> bytes:
        chunks = app(environ, start_response)
        try:
            return b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the local AWS's applications return their body")
