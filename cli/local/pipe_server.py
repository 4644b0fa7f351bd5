"""The local AWS's end of the Lambda workers' pipes (cli/local/pipe_client.py).

Each worker has a thread here (`serve`) that reads its requests and answers
each with `PipeAnswers`: the WSGI application of the local AWS's HTTP server,
called with the environ that server's request handler makes of the same
request, so the request meets the same front door (cli/local/front_door.py:
the key id and session token it carries, the `Host`) and the same moto as one
over TCP. The pipe adds its own proof: only the worker this process started
holds its other end.

That environ is made directly for a plain request (a path, no header name with
a `_`, no `Transfer-Encoding`: every request botocore sends the local AWS), the
same keys and values in the same order as the handler's `make_environ`, which
makes any other (making it through the handler was about 8% of the server's
CPU for a worker's DynamoDB call).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from itest.cli.local.keep_alive import KeepAliveHandler, _PlainHeaders, http_date
from itest.cli.local.pipe_client import Head, read_frame, write_frame
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY
from werkzeug._internal import _wsgi_encoding_dance
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
        environ = _plain_environ(self.server, head, body)
        if environ is None:
            environ = _PipeRequest(self.server, head, body).make_environ()
        return _answer(self.server, environ)


def _answer(server: Any, environ: dict[str, Any]) -> tuple[Head, bytes]:
    """The application's answer: status, headers as the HTTP server sends them (its
    `Server` and `Date` first), and body."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
        started[:] = [status, headers]
        return _no_write

    try:
        body = _run(server.app, environ, start_response)
    except Exception:
        server.log("error", f"Error on request:\n{traceback.format_exc()}")
        body = _run(InternalServerError(), environ, start_response)
    status, headers = started
    code = int(status.split(None, 1)[0])
    version = f"{server._server_version} {KeepAliveHandler.sys_version}"  # version_string()
    sent = [("Server", version), ("Date", http_date()), *headers]
    if not (
        any(name.lower() == "content-length" for name, _ in headers)
        or environ["REQUEST_METHOD"] == "HEAD"
        or 100 <= code < 200
        or code in (204, 304)
    ):
        sent.append(("Transfer-Encoding", "chunked"))  # what werkzeug frames it with
    return {"status": code, "headers": sent}, body


def _run(app: Any, environ: dict[str, Any], start_response: Any) -> bytes:
    chunks = app(environ, start_response)
    try:
        return b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()


def _plain_environ(server: Any, head: Head, body: bytes) -> dict[str, Any] | None:
    """The environ the HTTP server's request handler makes of this request (`_PipeRequest`'s
    `make_environ`), made directly for a plain one: a request target that is a path, no
    `Transfer-Encoding`, and no `_` in a header name (werkzeug drops those, moto keeps
    some); None for any other."""
    target = _request_target(head["url"])
    if target.startswith("//"):  # werkzeug reads the first segment as a host name
        return None
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {  # werkzeug's keys, in its order
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http" if server.ssl_context is None else "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": server.multithread,
        "wsgi.multiprocess": server.multiprocess,
        "wsgi.run_once": False,
        "werkzeug.socket": None,
        "SERVER_SOFTWARE": server._server_version,
        "REQUEST_METHOD": head["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": _wsgi_encoding_dance(unquote(path)),
        "QUERY_STRING": _wsgi_encoding_dance(query),
        "REQUEST_URI": _wsgi_encoding_dance(target),
        "RAW_URI": _wsgi_encoding_dance(target),
        "REMOTE_ADDR": _CLIENT[0],
        "REMOTE_PORT": _CLIENT[1],
        "SERVER_NAME": server.server_address[0],
        "SERVER_PORT": str(server.server_address[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    for name, value in head["headers"]:
        if "_" in name:
            return None
        key = name.upper().replace("-", "_")
        value = value.replace("\r\n", "")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
            if key in environ:
                value = f"{environ[key]},{value}"
        environ[key] = value
    if "HTTP_TRANSFER_ENCODING" in environ:
        return None
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {}  # moto's: no name with a `_`
    return environ


def _request_target(url: str) -> str:
    """The path and query of a URL, as botocore sends them in the request line."""
    parts = urlparse(url)
    return f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"


_CLIENT = ("127.0.0.1", 0)  # the client address a pipe's request has


class _PipeRequest(KeepAliveHandler):
    """One request from a pipe, in the shape the HTTP server's request handler has
    once it has read a request (it never touches a socket: the body is read): what
    makes the environ of a request that `_plain_environ` does not make."""

    def __init__(self, server: Any, head: Head, body: bytes) -> None:  # not a socket's
        self.server = server
        self.client_address = _CLIENT
        self.connection = None
        self.command = head["method"]
        self.path = _request_target(head["url"])
        self.request_version = "HTTP/1.1"
        self.headers = _PlainHeaders()  # what KeepAliveHandler reads a plain head into
        for name, value in head["headers"]:
            self.headers.set_raw(name, value)
        self.rfile = io.BytesIO(body)
        self._body = body


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the local AWS's applications return their body")
