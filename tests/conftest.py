"""Ordering across test folders."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run tests/e2e last, whatever order the paths were given in.

    The e2e session keeps one local AWS up until the session ends, and a
    process holds one local AWS at a time, so tests that start their own
    (tests/aws) must run before it.
    """
    items.sort(key=lambda item: "tests/e2e/" in item.nodeid)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A target on loopback that accepts connections and never answers (a hanging
    service: only a timeout ends a call to it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
