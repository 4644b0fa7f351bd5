"""The ``http`` action's connections, kept per origin in a warm worker.

A Lambda that keeps a module-level requests Session reuses its TCP (and TLS)
connections; this keeps only that: every action still has a session of its own
(cookies, auth, redirects), and only idle connections carry over, per origin
and TLS setting (urllib3's pool key: a ``verify: false`` connection never serves
a verified request). A new connection per request cost the worker about 0.3 ms
of CPU per step (connect, close, a new pool), half of what requests spends.

What a step sees stays as on a new connection:

- a kept connection is used again only while it has been idle at most
  :data:`IDLE_SECONDS` (below the shortest common keep-alive timeout, gunicorn's
  2 s; a NAT that drops idle connections silently never gets one) and when the
  server has not closed it (urllib3's check before each reuse);
- a request that fails on a kept connection before any answer (the server closed
  it just then) is sent once more on a new connection when its method is
  idempotent (RFC 9112 section 9.3.1); POST and PATCH are never sent twice: their
  failure is reported like one on a new connection;
- each answer is acknowledged at once (``TCP_QUICKACK`` where the platform has
  it): a server that writes an answer's head and body apart, without
  ``TCP_NODELAY``, would wait for the client's delayed ACK (40 ms) on a kept
  connection, never on a new one.

Requests through a proxy use connections of their own session, as before.
"""

from __future__ import annotations

import contextvars
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

IDLE_SECONDS = 1.0
"""How long a connection may have been idle and still be used again."""
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods sent once more after a kept connection failed (RFC 9110 section 9.2.2)."""

_taken: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "http_connections_taken", default=None
)
_new_only: contextvars.ContextVar[bool] = contextvars.ContextVar("http_new_only", default=False)


@contextmanager
def connections(*, new: bool = False) -> Iterator[list[bool]]:
    """Notes each connection the requests made inside take (True: a kept one);
    ``new``: take no kept connection."""
    taken: list[bool] = []
    tokens = _taken.set(taken), _new_only.set(new)
    try:
        yield taken
    finally:
        _taken.reset(tokens[0])
        _new_only.reset(tokens[1])


def worth_resending(method: str, taken: list[bool], exc: Exception) -> bool:
    """A request that failed on the one kept connection it took, before any answer
    (no redirect followed), with no timeout: the server closed the connection while
    it was idle. Resent only when its method is idempotent."""
    import requests

    if method not in IDEMPOTENT or taken != [True]:
        return False
    return isinstance(exc, requests.ConnectionError) and not isinstance(
        exc, requests.Timeout | requests.exceptions.ProxyError
    )


def forget() -> None:
    """Close every kept connection (tests; a worker that must start afresh)."""
    adapter().poolmanager.clear()


@cache
def adapter() -> Any:
    """The worker's adapter for requests not sent through a proxy (made once)."""
    import requests
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def acknowledging(base: type) -> type:
        class Acknowledging(base):  # type: ignore[misc, valid-type]
            def getresponse(self) -> Any:
                if QUICKACK is not None and self.sock is not None:
                    self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
                return super().getresponse()

        return Acknowledging

    def keeping(base: type, connection: type) -> type:
        class Keeping(base):  # type: ignore[misc, valid-type]
            ConnectionCls = connection

            def _get_conn(self, timeout: float | None = None) -> Any:
                conn = super()._get_conn(timeout)
                idle = time.monotonic() - getattr(conn, "idle_since", 0.0)
                if not conn.is_closed and (_new_only.get() or idle > IDLE_SECONDS):
                    conn.close()  # urllib3 connects it again
                if (taken := _taken.get()) is not None:
                    taken.append(not conn.is_closed)
                return conn

            def _put_conn(self, conn: Any) -> None:
                if conn is not None:
                    conn.idle_since = time.monotonic()
                super()._put_conn(conn)

        return Keeping

    pools = {
        "http": keeping(HTTPConnectionPool, acknowledging(HTTPConnection)),
        "https": keeping(HTTPSConnectionPool, acknowledging(HTTPSConnection)),
    }

    class Kept(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def close(self) -> None:
            """Kept open when an action's session closes: the worker's, not the session's."""

    return Kept()


QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
"""Linux's (Lambda's) option; elsewhere answers are acknowledged as the kernel likes."""
