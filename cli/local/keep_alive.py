"""Keep-alive connections for the local AWS's HTTP server, and a cheaper request head.

Werkzeug's development server closes every connection after one response (it
cannot tell where an unread request body ends). Every AWS call then paid for a
new TCP connection and a new server thread, on both sides, several times per
scenario step. This handler reads the request body whole before the
application runs (AWS requests carry a `Content-Length`), so the connection is
at the next request's first byte whatever the application read, and keeps it
open. A chunked or oversized body falls back to werkzeug's close.

What every request paid on top, made cheap (found by profiling the server):

- **The head.** http.server hands the header lines to the `email` package's
  parser (a sixth of a GetItem's server CPU). A head whose every line is a
  plain `Name: value` (a token, printable ASCII) and that is already in the
  connection's read buffer is read here with one regular expression into the
  same `HTTPMessage` (whose reads then skip the `email` policy's check for
  undecodable bytes, which such headers cannot hold); anything else (folded
  or non-ASCII lines, HTTP/1.0, a head not yet arrived whole, too many
  headers) goes through http.server as before, its errors for a malformed
  request included.
- **The answer.** The status line and headers, then the body, went out in two
  `sendall`s (two system calls, each giving up the GIL to every other
  thread); with the body read up front they go out in one.
"""

from __future__ import annotations

import email.utils
import functools
import io
import logging
import re
import time
from http.client import HTTPMessage
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

MAX_BODY_BYTES = 64 * 1024 * 1024  # larger bodies stream through, and close
IDLE_SECONDS = 120  # an idle connection (and its thread) is dropped after this
MAX_HEADERS = 99  # http.client's limit (100 lines, the blank one included)

# `METHOD /path HTTP/1.1`: what http.server splits into its three words
_REQUEST_LINE = re.compile(rb"([A-Z]+) (/[!-~]*) HTTP/1\.1\r\n")
# lines the email parser reads as `name` and `value` (after the colon, leading
# blanks dropped): a token, and printable ASCII, which no line break splits
_HEADER = r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t -~]*)\r\n"
_HEADERS = re.compile(f"(?:{_HEADER})*")
_ONE_HEADER = re.compile(_HEADER)


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, answering HTTP/1.1 keep-alive."""

    timeout = IDLE_SECONDS
    # headers and body go out in separate writes: without this, the body of every
    # answer on a kept connection waits for the client's delayed ACK (40 ms)
    disable_nagle_algorithm = True
    _body: bytes | None = None

    def parse_request(self) -> bool:
        head = self._plain_head()
        if head is None:
            return super().parse_request()
        self.command, self.path, self.headers = head
        self.request_version = "HTTP/1.1"
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        # as http.server decides, from the version and these two headers
        self.close_connection = self.protocol_version < "HTTP/1.1"
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        if self.headers.get("Expect", "").lower() == "100-continue" and (
            self.protocol_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

    def run_wsgi(self) -> None:
        self._body = self._read_body()
        if self._body is None:
            return super().run_wsgi()
        connection, writer = self.rfile, self.wfile
        # werkzeug drains `rfile` after answering (it assumes a close): give it nothing,
        # or it would swallow the start of the next request
        self.rfile = io.BytesIO()
        self.wfile = _Held(writer)
        try:
            super().run_wsgi()
        finally:
            self.wfile.flush()
            self.rfile, self.wfile = connection, writer
            self._body = None

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if self._body is not None:
            environ["wsgi.input"] = io.BytesIO(self._body)
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if self._body is not None and keyword.lower() == "connection" and value == "close":
            return  # werkzeug always says close; the body was read, the connection goes on
        super().send_header(keyword, value)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return http_date() if timestamp is None else super().date_time_string(timestamp)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats (and colours) the line before its logger drops it
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("Request timed out"):  # an idle kept connection dropped
            super().log_error(format, *args)

    def _plain_head(self) -> tuple[str, str, HTTPMessage] | None:
        """Method, path and headers of a plain HTTP/1.1 request whose head is in the
        read buffer whole (then read from it), or None for http.server to read it."""
        line = _REQUEST_LINE.fullmatch(self.raw_requestline)
        if line is None or line[2].startswith(b"//"):  # http.server rewrites `//`
            return None
        if self.MessageClass is not HTTPMessage:
            return None
        buffered = self.rfile.peek()
        end = 0 if buffered.startswith(b"\r\n") else buffered.find(b"\r\n\r\n") + 2
        if end == 1:  # not in the buffer whole
            return None
        lines = buffered[:end].decode("iso-8859-1")
        if _HEADERS.fullmatch(lines) is None:
            return None
        pairs = _ONE_HEADER.findall(lines)
        if len(pairs) > MAX_HEADERS:
            return None
        headers = _PlainHeaders()
        for name, value in pairs:
            headers.set_raw(name, value)
        headers.set_payload("")  # what the email parser leaves of an empty body
        self.rfile.read(end + 2)
        return line[1].decode("iso-8859-1"), line[2].decode("iso-8859-1"), headers

    def _read_body(self) -> bytes | None:
        """The whole request body, or None when it cannot be read up front."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise ConnectionResetError("the client closed the connection mid-body")
        return body


def http_date() -> str:
    """Now, as http.server's `date_time_string()` writes it (`email.utils.formatdate`),
    formatted once a second: it names whole seconds."""
    now = time.time()
    second = int(now)
    if now - second >= _ROUNDS_UP:  # datetime rounds it to whole microseconds: up
        return email.utils.formatdate(now, usegmt=True)
    return _formatted(second)


_ROUNDS_UP = 0.9999995


@functools.lru_cache(maxsize=2)
def _formatted(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


class _PlainHeaders(HTTPMessage):
    """An `HTTPMessage` of printable ASCII headers: the compat32 policy would pass each
    value read through a check for surrogates (on every `get`, `items`...), which
    returns such a value as it is."""

    def get(self, name: str, failobj: Any = None) -> Any:
        name = name.lower()
        for key, value in self._headers:
            if key.lower() == name:
                return value
        return failobj

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers)

    def values(self) -> list[str]:
        return [value for _, value in self._headers]


class _Held:
    """The connection's writer, holding what is written until a flush: werkzeug writes
    an answer's head, then its body, then flushes; they go out in one `sendall`."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.held: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.held.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        if self.held:
            data, self.held = b"".join(self.held), []
            self.writer.write(data)
        self.writer.flush()
