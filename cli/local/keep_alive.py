"""Keep-alive connections for the local AWS's HTTP server.

Werkzeug's development server closes every connection after one response (it
cannot tell where an unread request body ends). Every AWS call then paid for a
new TCP connection and a new server thread, on both sides, several times per
scenario step. This handler reads the request body whole before the
application runs (AWS requests carry a `Content-Length`), so the connection is
at the next request's first byte whatever the application read, and keeps it
open. A chunked or oversized body falls back to werkzeug's close.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

MAX_BODY_BYTES = 64 * 1024 * 1024  # larger bodies stream through, and close
IDLE_SECONDS = 120  # an idle connection (and its thread) is dropped after this


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, answering HTTP/1.1 keep-alive."""

    timeout = IDLE_SECONDS
    # headers and body go out in separate writes: without this, the body of every
    # answer on a kept connection waits for the client's delayed ACK (40 ms)
    disable_nagle_algorithm = True
    _body: bytes | None = None

    def run_wsgi(self) -> None:
        self._body = self._read_body()
        if self._body is None:
            return super().run_wsgi()
        connection = self.rfile
        # werkzeug drains `rfile` after answering (it assumes a close): give it nothing,
        # or it would swallow the start of the next request
        self.rfile = io.BytesIO()
        try:
            super().run_wsgi()
        finally:
            self.rfile = connection
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

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats (and colours) the line before its logger drops it
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("Request timed out"):  # an idle kept connection dropped
            super().log_error(format, *args)

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
