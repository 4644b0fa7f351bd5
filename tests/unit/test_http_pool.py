"""The http action's kept connections: reused per origin, nothing else carried over,
and a step sees what it saw on a new connection per request."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from itest.lambdas.actions import http_pool
from itest.lambdas.actions.registry import run_action
from itest.lambdas.errors import ActionError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@pytest.fixture(autouse=True)
def no_kept_connections() -> Iterator[None]:
    http_pool.forget()
    yield
    http_pool.forget()


@dataclass
class Scripted:
    """A loopback HTTP/1.1 server that keeps connections open and answers each
    request ``200 {"n": <requests so far>}``, except the ones ``drop`` picks (by
    request number on its connection): it closes that connection without an answer,
    as a server does when it closes an idle connection just as a request arrives."""

    drop: int | None = None
    connections: int = 0
    requests: list[str] = field(default_factory=list)

    def serve(self) -> socketserver.ThreadingTCPServer:
        script = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                script.connections += 1
                for number in range(1, 100):
                    line = self.rfile.readline().decode()
                    if not line:
                        return
                    length = 0
                    while (header := self.rfile.readline().decode().strip()) != "":
                        name, _, value = header.partition(":")
                        if name.lower() == "content-length":
                            length = int(value)
                    self.rfile.read(length)
                    script.requests.append(line.split()[0])
                    if number == script.drop:
                        return  # closed, no answer
                    body = b'{"n": %d}' % len(script.requests)
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    self.wfile.write(head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    script = Scripted()
    server = script.serve()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}/x"
    finally:
        server.shutdown()
        server.server_close()


def test_steps_to_one_origin_share_a_connection(scripted: tuple[Scripted, str]) -> None:
    script, url = scripted

    answers = [run_action("http", {"url": url})["json"]["n"] for _ in range(3)]

    assert answers == [1, 2, 3]
    assert script.connections == 1


def test_an_idle_connection_is_not_used_again(
    scripted: tuple[Scripted, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script, url = scripted
    monkeypatch.setattr(http_pool, "IDLE_SECONDS", 0.0)

    for _ in range(2):
        run_action("http", {"url": url})

    assert script.connections == 2


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_idempotent_request_on_a_closed_kept_connection_is_sent_again(
    scripted: tuple[Scripted, str], method: str
) -> None:
    script, url = scripted
    run_action("http", {"url": url})
    script.drop = 2  # the kept connection is closed when the next request arrives

    result = run_action("http", {"method": method, "url": url})

    assert result["status"] == 200
    assert script.requests == ["GET", method, method]
    assert script.connections == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_post_on_a_closed_kept_connection_is_reported_not_sent_twice(
    scripted: tuple[Scripted, str], method: str
) -> None:
    script, url = scripted
    run_action("http", {"url": url})
    script.drop = 2

    with pytest.raises(ActionError) as caught:
        run_action("http", {"method": method, "url": url, "json": {"n": 1}})

    assert script.requests == ["GET", method]
    assert f"http {method} {url}: ConnectionError: ('Connection aborted.'" in str(caught.value)
    assert caught.value.retryable


def test_a_new_connection_closed_without_an_answer_is_reported_as_before(
    scripted: tuple[Scripted, str],
) -> None:
    script, url = scripted
    script.drop = 1

    with pytest.raises(ActionError, match="Connection aborted"):
        run_action("http", {"url": url})

    assert script.requests == ["GET"]  # a new connection: nothing was stale, not sent again


def test_a_timeout_on_a_kept_connection_is_not_sent_again(httpserver: HTTPServer) -> None:
    """The slow answer waits until the client gave up (no sleep for a slow machine to
    outlast); the server answers one request at a time, so a request sent again would be
    answered before the last one."""
    calls: list[str] = []
    answered = threading.Event()

    def answer(request: Request) -> Response:
        calls.append(request.path)
        if request.path == "/slow":
            answered.wait(30)
        return Response("ok")

    httpserver.expect_request("/fast").respond_with_handler(answer)
    httpserver.expect_request("/slow").respond_with_handler(answer)
    run_action("http", {"url": httpserver.url_for("/fast")})

    try:
        with pytest.raises(ActionError, match=r"no response within 0.1 s \(ReadTimeout\)"):
            run_action("http", {"url": httpserver.url_for("/slow"), "timeout": 0.1})
    finally:
        answered.set()
    run_action("http", {"url": httpserver.url_for("/fast")})

    assert calls == ["/fast", "/slow", "/fast"]


def test_cookies_follow_a_redirect_but_never_the_next_step(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/login").respond_with_data(
        "", status=302, headers={"Location": "/me", "Set-Cookie": "session=s1; Path=/"}
    )
    httpserver.expect_request("/me").respond_with_handler(
        lambda request: Response(request.cookies.get("session", "none"))
    )

    logged_in = run_action("http", {"url": httpserver.url_for("/login")})
    next_step = run_action("http", {"url": httpserver.url_for("/me")})

    assert logged_in["text"] == "s1"  # within the step's own redirects
    assert next_step["text"] == "none"  # the same connection, not the same session
