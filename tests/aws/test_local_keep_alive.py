"""The local AWS's HTTP handler reads a request head as http.server does, and answers in
one write (cli/local/keep_alive.py)."""

from __future__ import annotations

import io
import socket
import socketserver
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from itest.cli.local.keep_alive import KeepAliveHandler
from itest.cli.local.server import LocalAws

BOTO_HEAD = (
    b"Host: 127.0.0.1:45123\r\nAccept-Encoding: identity\r\n"
    b"X-Amz-Target: DynamoDB_20120810.GetItem\r\nContent-Type: application/x-amz-json-1.0\r\n"
    b"User-Agent: Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux#6.8 lang/python#3.11.7\r\n"
    b"X-Amz-Date: 20261130T083000Z\r\nX-Amz-Security-Token: abc/def+ghi==\r\n"
    b"Authorization: AWS4-HMAC-SHA256 Credential=AKIAABCDEFGHIJKLMNOP/20261130/us-east-1/"
    b"dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0a1b\r\n"
    b"amz-sdk-invocation-id: 0f3c5f8e-8d83\r\namz-sdk-request: attempt=1\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)
PLAIN = [  # read by the handler's own parser
    (b"POST / HTTP/1.1\r\n", BOTO_HEAD),
    (b"GET /bucket/key?list-type=2&prefix=a%2Fb HTTP/1.1\r\n", b"Host: h\r\n\r\n"),
    (b"GET / HTTP/1.1\r\n", b"\r\n"),  # no header at all
    (b"PUT /k HTTP/1.1\r\n", b"A:\r\nB:   spaced  \t\r\nB: twice\r\nc-d:x:y\r\n\r\nbody"),
    (b"POST / HTTP/1.1\r\n", b"Connection: close\r\nContent-Length: 0\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"Connection: Keep-Alive\r\nExpect: 100-continue\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"X-Many: 1\r\n" * 99 + b"\r\n"),
]
OTHERS = [  # left to http.server: same result whoever reads them
    (b"GET / HTTP/1.0\r\n", b"Host: h\r\n\r\n"),
    (b"GET //evil.example/x HTTP/1.1\r\n", b"Host: h\r\n\r\n"),
    (b"GET http://h/x HTTP/1.1\r\n", b"Host: h\r\n\r\n"),
    (b"get / HTTP/1.1\r\n", b"Host: h\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"Folded: a\r\n  b\r\nNext: c\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"Bare: newline\nNext: c\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"Latin: caf\xe9\r\nNext: \x85c\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"Lone: carriage\rreturn\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"no colon here\r\nNext: c\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b": no name\r\nNext: c\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"Sp ace: x\r\n\r\n"),
    (b"POST / HTTP/1.1\r\n", b"Unfinished: head\r\n"),
]
MALFORMED = [  # http.server's errors, as before
    (b"POST / HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 100 + b"\r\n", b"431"),
    (b"POST / HTTP/1.1\r\nLong: " + b"x" * 70000 + b"\r\n\r\n", b"431"),
    (b"POST / HTTP/2.0\r\nHost: h\r\n\r\n", b"505"),
    (b"POST / HTTP/1.x\r\nHost: h\r\n\r\n", b"400"),
    (b"POST /a b HTTP/1.1\r\nHost: h\r\n\r\n", b"400"),
]


NAMES = ("host", "B", "connection", "x")  # some read, some not there


def _parsed(request_line: bytes, head: bytes, parse: Any) -> tuple[Any, ...]:
    """What a handler knows after `parse` read a request, and what is left to read."""
    handler = KeepAliveHandler.__new__(KeepAliveHandler)
    handler.rfile = io.BufferedReader(io.BytesIO(request_line + head))
    handler.wfile = io.BytesIO()
    handler.raw_requestline = handler.rfile.readline(65537)
    ok = parse(handler)
    headers = None
    if ok:  # defects compare by kind; what the handler and werkzeug read of them
        read = handler.headers
        headers = {**vars(read), "defects": [type(d) for d in read.defects],
                   "items": read.items(), "keys": read.keys(), "values": read.values(),
                   "get": [read.get(name, "-") for name in NAMES],
                   "all": [read.get_all(name) for name in NAMES]}  # fmt: skip
    return (ok, handler.command, handler.path, handler.request_version, handler.requestline,
            handler.close_connection, headers, handler.wfile.getvalue(),
            handler.rfile.read())  # fmt: skip


@pytest.mark.parametrize(("request_line", "head"), PLAIN + OTHERS)
def test_a_head_is_read_as_http_server_reads_it(request_line: bytes, head: bytes) -> None:
    ours = _parsed(request_line, head, KeepAliveHandler.parse_request)
    assert ours == _parsed(request_line, head, BaseHTTPRequestHandler.parse_request)


@pytest.mark.parametrize(("request_line", "head"), PLAIN)
def test_a_plain_head_is_read_without_the_email_parser(
    request_line: bytes, head: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.client

    def not_called(*_: Any, **__: Any) -> None:
        raise AssertionError("http.server's header parser was called")

    monkeypatch.setattr(http.client, "parse_headers", not_called)
    assert _parsed(request_line, head, KeepAliveHandler.parse_request)[0] is True


@pytest.mark.parametrize(("sent", "status"), MALFORMED)
def test_a_malformed_request_gets_http_server_s_error(
    aws: LocalAws, sent: bytes, status: bytes
) -> None:
    host, port = aws.endpoint_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(sent)
        answer = connection.makefile("rb").read()  # then it closes
    assert b"<p>Error code: " + status + b"</p>" in answer  # an HTTP/0.9 answer has no status line


def test_an_answer_goes_out_in_one_write(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    client = aws.client("dynamodb")
    client.list_tables()  # connected
    writes: list[bytes] = []
    write = socketserver._SocketWriter.write

    def counted(self: Any, data: bytes) -> int:
        writes.append(bytes(data))
        return write(self, data)

    monkeypatch.setattr(socketserver._SocketWriter, "write", counted)
    for _ in range(3):
        client.list_tables()
    assert len(writes) == 3
    assert all(w.startswith(b"HTTP/1.1 200 OK\r\n") and w.endswith(b"]}") for w in writes)


@pytest.mark.parametrize("now", [1_800_000_000.0, 1_800_000_000.25, 1_800_000_000.9999996, 7.5])
def test_the_date_is_the_one_http_server_writes(
    monkeypatch: pytest.MonkeyPatch, now: float
) -> None:
    import email.utils

    from itest.cli.local import keep_alive

    monkeypatch.setattr(keep_alive.time, "time", lambda: now)
    for _ in range(2):  # the second time kept
        assert keep_alive.http_date() == email.utils.formatdate(now, usegmt=True)
