"""The leak suite's target and corpus: ways a careless or hostile scenario could show a
secret, each one scenario run through the local state machine (tests/e2e/test_leaks.py).

The secrets are random per session, so finding any 8-character window of one
in an output can only mean a leak.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _random(size: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(size))


LONG = "tok-" + _random(200)
PIN = str(secrets.randbelow(9 * 10**8) + 10**8)  # nine digits, sent as a number
QUOTED = f"q'{_random(10)}\"{_random(10)}\\{_random(6)}"
JSON_SECRET = json.dumps({"username": "u-" + _random(10), "password": "p-" + _random(14)})
UNDECLARED_SSM = "ssm-" + _random(24)
UNDECLARED_SM = "sm-" + _random(24)
UNDECLARED_SM_2 = "sm2-" + _random(24)

DECLARED = {
    "long": ("ssm:/leak/long", LONG),
    "pin": ("ssm:/leak/pin", PIN),
    "quoted": ("secretsmanager:leak/quoted", QUOTED),
    "json": ("secretsmanager:leak/json", JSON_SECRET),
}
VALUES = [
    LONG,
    PIN,
    QUOTED,
    *json.loads(JSON_SECRET).values(),  # its JSON punctuation is no secret
    UNDECLARED_SSM,
    UNDECLARED_SM,
    UNDECLARED_SM_2,
]
"""Every value no output may show a window of."""


def windows(value: str, size: int = 8) -> set[str]:
    """Every ``size``-character window of ``value`` (the value itself when shorter)."""
    if len(value) <= size:
        return {value}
    return {value[i : i + size] for i in range(len(value) - size + 1)}


def occurrences(text: str) -> list[str]:
    """Windows of any secret found in ``text``."""
    return sorted({w for value in VALUES for w in windows(value) if w in text})


@dataclass
class Received:
    """What the other origin was sent (a redirect must not hand it a secret)."""

    requests: list[dict[str, Any]] = field(default_factory=list)


def _handler(received: Received | None, other: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._route()

        do_POST = do_PUT = do_DELETE = do_GET

        def _route(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            query = parse_qs(url.query)
            if received is not None:  # the other origin: record, answer
                received.requests.append({"headers": dict(self.headers), "body": body})
                return self._reply(200, {"landed": True, "headers": dict(self.headers)})
            if url.path == "/echo":
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                return self._reply(
                    200,
                    {
                        "path": self.path,
                        "query": query,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "text": body,
                        "json": parsed,
                    },
                )
            if url.path == "/basic":  # base64(prefix + body), as a Basic header holds it
                prefix = query.get("prefix", [""])[0]
                encoded = base64.b64encode((prefix + body).encode()).decode()
                return self._reply(200, {"authorization": f"Basic {encoded}"})
            if url.path == "/redirect":
                code = int(query.get("code", ["307"])[0])
                self.send_response(code)
                self.send_header("Location", f"{other[0]}/land")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if url.path == "/slow":
                time.sleep(3)
                return self._reply(200, {})
            if url.path == "/big":  # the body many times: a result kept whole in S3
                rows = int(query.get("rows", ["400"])[0])
                pad = int(query.get("pad", ["0"])[0])
                return self._reply(200, {"rows": ["x" * pad + body] * rows})
            return self._reply(404, {"error": self.path})

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError):  # the timeout attempt gave up
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def leak_target(aws: Any) -> Iterator[tuple[dict[str, str], Received]]:
    """The secrets in SSM and Secrets Manager, an echoing API and another origin."""
    ssm, sm = aws.client("ssm"), aws.client("secretsmanager")
    for spec, value in DECLARED.values():
        kind, _, ident = spec.partition(":")
        if kind == "ssm":
            ssm.put_parameter(Name=ident, Value=value, Type="SecureString", Overwrite=True)
        else:
            sm.create_secret(Name=ident, SecretString=value)
    ssm.put_parameter(
        Name="/leak/undeclared", Value=UNDECLARED_SSM, Type="SecureString", Overwrite=True
    )
    sm.create_secret(Name="leak/undeclared", SecretString=UNDECLARED_SM)
    sm.create_secret(Name="leak/undeclared-2", SecretString=UNDECLARED_SM_2)
    received = Received()
    other: list[str] = []
    servers = [
        ThreadingHTTPServer(("127.0.0.1", 0), _handler(None, other)),
        ThreadingHTTPServer(("127.0.0.1", 0), _handler(received, other)),
    ]
    other.append(f"http://127.0.0.1:{servers[1].server_address[1]}")
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead = f"http://127.0.0.1:{closed.server_address[1]}"
    closed.server_close()  # nothing listens there: connection refused
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"api": f"http://127.0.0.1:{servers[0].server_address[1]}", "dead": dead}, received
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _http(**with_: Any) -> dict[str, Any]:
    return {"action": "http", "with": with_}


ECHO = "{{ vars.api }}/echo"
LONG_T = "{{ secret.long }}"


@dataclass(frozen=True)
class Attempt:
    """One way to try to leak; ``status`` is how its run must end (proof it ran;
    ``any``: passed or failed)."""

    name: str
    steps: list[dict[str, Any]]
    status: str = "failed"
    cleanup: list[dict[str, Any]] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)

    def scenario(self) -> dict[str, Any]:
        return {
            "name": f"leak-{self.name}",
            "timeout_seconds": 60,
            "secrets": {name: spec for name, (spec, _) in DECLARED.items()},
            "steps": [{"name": f"step {i}", **step} for i, step in enumerate(self.steps)],
            "cleanup": self.cleanup,
            "assertions": self.assertions,
        }


def _step(action: dict[str, Any], *expect: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {**action, "expect": list(expect), **more}


def _fails(path: str) -> dict[str, Any]:
    return {"path": path, "equals": "certainly-not-this"}


CORPUS = [
    Attempt(
        "long-actual",
        [_step(_http(url=ECHO, headers={"X-T": LONG_T}), _fails('json.headers."x-t"'))],
    ),
    Attempt("long-expected", [_step(_http(url=ECHO), {"path": "status", "equals": LONG_T})]),
    Attempt("long-contains", [_step(_http(url=ECHO), {"path": "text", "contains": LONG_T})]),
    Attempt(
        "long-regex",
        [
            _step(
                _http(url=ECHO, headers={"X-T": LONG_T}),
                {"path": 'json.headers."x-t"', "matches": "^nope$"},
            )
        ],
    ),
    Attempt(
        "long-actual-past-1000",
        [_step(_http(method="POST", url=ECHO, body="x" * 990 + LONG_T), _fails("json.text"))],
    ),
    Attempt(
        "pin-as-number",
        [
            _step(
                _http(method="POST", url=ECHO, json={"pin": "{{ to_number(secret.pin) }}"}),
                {"path": "json.json.pin", "equals": 1},
            )
        ],
    ),
    Attempt(
        "quoted-repr",
        [_step(_http(method="POST", url=ECHO, body="{{ secret.quoted }}"), _fails("json.text"))],
    ),
    Attempt(
        "quoted-json-escaped",
        [
            _step(
                _http(method="POST", url=ECHO, json={"q": "{{ secret.quoted }}"}),
                {"path": "status", "equals": 200},
            )
        ],
        status="passed",
    ),
    *[
        Attempt(
            f"base64-alignment-{len(prefix) % 3}",
            [
                _step(
                    _http(
                        method="POST",
                        url="{{ vars.api }}/basic",
                        query={"prefix": prefix},
                        body="{{ secret.quoted }}",
                    ),
                    _fails("json.authorization"),
                )
            ],
        )
        for prefix in ("", "bob:", "u:")  # the secret at byte 0, 1 and 2 of a base64 group
    ],
    Attempt(
        "url-encoded",
        [
            _step(
                _http(url=ECHO, query={"q": "{{ secret.quoted }}", "t": LONG_T}),
                _fails("json.path"),
            )
        ],
    ),
    Attempt(
        "json-fields",
        [
            _step(
                _http(method="POST", url=ECHO, body="{{ secret.json }}"),
                _fails("json.json.password"),
            )
        ],
    ),
    Attempt("error-connection-refused", [_step(_http(url="{{ vars.dead }}/x?t=" + LONG_T))]),
    Attempt("error-timeout", [_step(_http(url="{{ vars.api }}/slow?t=" + LONG_T, timeout=1))]),
    Attempt("error-validation", [_step(_http(url=ECHO, timeout=LONG_T))]),
    Attempt(
        "error-aws-message",
        [_step({"action": "aws.ssm.get_parameter", "with": {"Name": "/nope/" + LONG_T}})],
    ),
    Attempt(
        "stop-if",
        [
            _step(
                _http(url=ECHO, headers={"X-T": LONG_T}),
                {"path": "status", "equals": 500},
                stop_if=[{"path": 'json.headers."x-t"', "equals": LONG_T}],
                retry={"timeout_seconds": 10, "interval_seconds": 1},
            )
        ],
    ),
    Attempt(
        "captures",
        [
            _step(
                _http(url=ECHO, headers={"X-T": LONG_T}),
                capture={"tok": 'json.headers."x-t"', "all": "json"},
            ),
            _step(
                _http(url=ECHO, headers={"X-Again": "{{ vars.tok }}"}),
                {"path": "status", "equals": 200},
            ),
        ],
        status="passed",
    ),
    Attempt(
        "assertion",
        [_step(_http(url=ECHO), {"path": "status", "equals": 200})],
        assertions=[{"path": "run_id", "equals": LONG_T}],
    ),
    Attempt(
        "cleanup-error",
        [_step(_http(url=ECHO), {"path": "status", "equals": 200})],
        cleanup=[_http(url="{{ vars.dead }}/c?t=" + LONG_T)],
        status="any",  # passed, or failed once a failed cleanup fails the run
    ),
    Attempt(
        "cleanup-error-long-reason",
        [_step(_http(url=ECHO), _fails("status"))],
        cleanup=[_http(url="{{ vars.dead }}/" + "x" * 990 + LONG_T)],
    ),
    Attempt(
        "aws-ssm-undeclared",
        [
            _step(
                {
                    "action": "aws.ssm.get_parameter",
                    "with": {"Name": "/leak/undeclared", "WithDecryption": True},
                },
                _fails("Parameter.Value"),
            )
        ],
    ),
    Attempt(
        "aws-ssm-get-parameters",
        [
            _step(
                {
                    "action": "aws.ssm.get_parameters",
                    "with": {"Names": ["/leak/undeclared", "/leak/long"], "WithDecryption": True},
                },
                _fails("Parameters[0].Value"),
            )
        ],
    ),
    Attempt(
        "aws-secret-undeclared",
        [
            _step(
                {
                    "action": "aws.secretsmanager.get_secret_value",
                    "with": {"SecretId": "leak/undeclared"},
                },
                _fails("SecretString"),
            )
        ],
    ),
    Attempt(
        "aws-batch-secrets",
        [
            _step(
                {
                    "action": "aws.secretsmanager.batch_get_secret_value",
                    "with": {"SecretIdList": ["leak/undeclared-2", "leak/json"]},
                },
                _fails("SecretValues[0].SecretString"),
            )
        ],
    ),
    Attempt(
        "redirect-307-other-origin",
        [
            _step(
                _http(
                    method="POST",
                    url="{{ vars.api }}/redirect",
                    query={"code": 307},
                    headers={"X-Api-Key": LONG_T, "X-Plain": "kept"},
                    json={"token": LONG_T},
                ),
                {"path": "json.landed", "equals": True},
            )
        ],
        status="passed",
    ),
    Attempt(
        "redirect-302-other-origin",
        [
            _step(
                _http(
                    url="{{ vars.api }}/redirect",
                    query={"code": 302},
                    headers={"X-Api-Key": LONG_T, "Authorization": "Bearer " + LONG_T},
                ),
                _fails("json.headers"),
            )
        ],
    ),
    Attempt(
        "big-result-in-s3",
        [
            _step(
                _http(
                    method="POST",
                    url="{{ vars.api }}/big",
                    query={"rows": 400, "pad": 100},
                    body=LONG_T,
                ),
                _fails("json.rows[0]"),
            )
        ],
    ),
    Attempt(
        "big-result-cut-inside",
        [
            _step(
                _http(
                    method="POST",
                    url="{{ vars.api }}/big",
                    query={"rows": 40, "pad": 2040},
                    body=LONG_T,
                ),
                {"path": "status", "equals": 200},
            )
        ],
        status="passed",
    ),
]
