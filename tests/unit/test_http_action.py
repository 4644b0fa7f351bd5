"""The http action against a real loopback server."""

from __future__ import annotations

import json
import socket

import pytest
from itest.lambdas.actions.registry import run_action
from itest.lambdas.errors import ActionError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


def test_get_returns_status_headers_json_and_text(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/orders/1", method="GET").respond_with_json(
        {"id": "1", "qty": 2}, status=200, headers={"X-Trace": "abc"}
    )

    result = run_action("http", {"url": httpserver.url_for("/orders/1")})

    assert result["status"] == 200
    assert result["json"] == {"id": "1", "qty": 2}
    assert json.loads(result["text"]) == {"id": "1", "qty": 2}
    assert result["headers"]["x-trace"] == "abc"
    assert result["headers"]["content-type"] == "application/json"
    assert isinstance(result["elapsed_ms"], int)


def test_post_sends_json_headers_and_query(httpserver: HTTPServer) -> None:
    def echo(request: Request) -> Response:
        body = {
            "json": request.get_json(),
            "auth": request.headers.get("Authorization"),
            "args": request.args.to_dict(flat=False),
        }
        return Response(json.dumps(body), status=201, content_type="application/json")

    httpserver.expect_request("/orders", method="POST").respond_with_handler(echo)

    result = run_action(
        "http",
        {
            "method": "post",
            "url": httpserver.url_for("/orders"),
            "headers": {"Authorization": "Bearer t", "X-Count": 3},
            "query": {"a": 1, "b": ["x", "y"]},
            "json": {"id": "o-1", "qty": 2},
        },
    )

    assert result["status"] == 201
    assert result["json"] == {
        "json": {"id": "o-1", "qty": 2},
        "auth": "Bearer t",
        "args": {"a": ["1"], "b": ["x", "y"]},
    }


def test_raw_body_and_a_non_json_answer(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/raw", method="PUT", data=b"hello").respond_with_data(
        "plain <b>text</b>", status=202, content_type="text/html"
    )

    result = run_action(
        "http", {"method": "PUT", "url": httpserver.url_for("/raw"), "body": "hello"}
    )

    assert result["status"] == 202
    assert result["json"] is None
    assert result["text"] == "plain <b>text</b>"


def test_error_statuses_are_results_not_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/missing").respond_with_data("", status=404)

    result = run_action("http", {"url": httpserver.url_for("/missing")})

    assert result["status"] == 404
    assert result["json"] is None


def test_redirects_can_be_kept(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=302, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_json({"moved": True})

    kept = run_action("http", {"url": httpserver.url_for("/old"), "follow_redirects": False})
    followed = run_action("http", {"url": httpserver.url_for("/old")})

    assert kept["status"] == 302
    assert kept["headers"]["location"] == "/new"
    assert followed["json"] == {"moved": True}


def test_connection_refused_is_an_action_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens

    with pytest.raises(ActionError) as caught:
        run_action("http", {"url": f"http://127.0.0.1:{port}/x"})

    assert f"http GET http://127.0.0.1:{port}/x: connection failed: [Errno" in str(caught.value)
    assert caught.value.retryable


def test_a_slow_server_times_out(httpserver: HTTPServer) -> None:
    import threading

    answered = threading.Event()  # the answer waits until the client gave up: no race

    def slow(request: Request) -> Response:
        answered.wait(30)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)

    try:
        with pytest.raises(ActionError, match=r"no response within 0.1 s"):
            run_action("http", {"url": httpserver.url_for("/slow"), "timeout": 0.1})
    finally:
        answered.set()


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"url": "ftp://x"}, "url: expected an absolute http:// or https:// URL"),
        ({"url": "http://x", "method": "FETCH"}, "method: expected 'GET'"),
        ({"url": "http://x", "json": {}, "body": "b"}, "one request body, not json and body"),
        ({"url": "http://x", "form": {"a": 1}, "body": "b"}, "not body and form"),
        ({"url": "http://x", "timeout": 0}, "timeout: expected a number > 0"),
        ({}, "'url' is required"),
    ],
)
def test_invalid_rendered_params_fail_without_retry(params: dict, fragment: str) -> None:
    with pytest.raises(ActionError) as caught:
        run_action("http", params)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("http: invalid parameters: ")
    assert not caught.value.retryable


def test_form_bodies_are_form_encoded(httpserver: HTTPServer) -> None:
    def echo(request: Request) -> Response:
        body = {"type": request.content_type, "form": request.form.to_dict(flat=False)}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/login", method="POST").respond_with_handler(echo)

    result = run_action(
        "http",
        {
            "method": "POST",
            "url": httpserver.url_for("/login"),
            "form": {"user": "ada", "n": 2, "roles": ["a", "b"]},
        },
    )

    assert result["json"] == {
        "type": "application/x-www-form-urlencoded",
        "form": {"user": ["ada"], "n": ["2"], "roles": ["a", "b"]},
    }


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory):
    """A loopback HTTPS server with a self-signed certificate."""
    import ssl
    import subprocess

    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(ssl_context=context)
    server.start()
    server.expect_request("/secure").respond_with_json({"tls": True})
    yield server
    server.clear()
    server.stop()


def test_tls_is_verified_unless_told_otherwise(tls_server: HTTPServer) -> None:
    url = tls_server.url_for("/secure")
    assert url.startswith("https://")

    with pytest.raises(ActionError, match=r"CERTIFICATE_VERIFY_FAILED|SSLError") as caught:
        run_action("http", {"url": url})
    trusting = run_action("http", {"url": url, "verify": False})

    assert caught.value.retryable
    assert trusting["json"] == {"tls": True}


def test_a_connection_kept_from_an_unverified_request_serves_no_verified_one(
    tls_server: HTTPServer,
) -> None:
    url = tls_server.url_for("/secure")
    run_action("http", {"url": url, "verify": False})

    with pytest.raises(ActionError, match=r"CERTIFICATE_VERIFY_FAILED|SSLError"):
        run_action("http", {"url": url})


def test_a_redirect_to_another_origin_drops_what_carries_a_secret(httpserver: HTTPServer) -> None:
    from itest.lambdas import masking

    seen: list[dict[str, object]] = []
    other = HTTPServer(host="127.0.0.1", port=0)
    other.expect_request("/land", method="POST").respond_with_handler(
        lambda r: (seen.append({"headers": dict(r.headers), "body": r.data}), Response("ok"))[1]
    )
    other.start()
    try:
        httpserver.expect_request("/go", method="POST").respond_with_data(
            "", status=307, headers={"Location": other.url_for("/land")}
        )
        masking.forget()
        masking.remember(["s3cr3t-api-key"])
        result = run_action(
            "http",
            {
                "method": "POST",
                "url": httpserver.url_for("/go"),
                "headers": {"X-Api-Key": "s3cr3t-api-key", "X-Plain": "fine"},
                "json": {"token": "s3cr3t-api-key"},
            },
        )
    finally:
        masking.forget()
        other.stop()
    assert result["status"] == 200
    (landed,) = seen
    assert "X-Api-Key" not in landed["headers"] and landed["headers"]["X-Plain"] == "fine"
    assert landed["body"] == b""


def test_a_redirect_from_https_to_http_is_refused_unless_allowed() -> None:
    from types import SimpleNamespace

    from itest.lambdas.actions.http import HttpParams, redirect_guard

    def follow(**extra: object) -> None:
        params = HttpParams.model_validate({"url": "https://a.example/x", **extra})
        prepared = SimpleNamespace(url="http://a.example/y", headers={}, body=None)
        response = SimpleNamespace(request=SimpleNamespace(url="https://a.example/x"))
        redirect_guard(params).rebuild_auth(prepared, response)  # type: ignore[arg-type]

    with pytest.raises(ActionError, match="refused a redirect from https:// to http://"):
        follow()
    follow(allow_downgrade=True)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch):
    """Proxy variables set for one test; the settings read from them forgotten before
    and after."""
    from itest.lambdas.actions.http import environment_settings

    environment_settings.cache_clear()
    yield monkeypatch
    environment_settings.cache_clear()


def test_requests_go_through_the_environment_s_proxy_unless_no_proxy_says(
    httpserver: HTTPServer, environment: pytest.MonkeyPatch
) -> None:
    import requests
    from itest.lambdas.actions.http import HttpParams, redirect_guard

    httpserver.expect_request("/items").respond_with_json({"via": "proxy"})
    environment.setenv("HTTP_PROXY", httpserver.url_for(""))
    environment.setenv("NO_PROXY", "direct.invalid,127.0.0.2")
    environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")

    proxied = run_action("http", {"url": "http://orders.invalid/items"})

    assert proxied["json"] == {"via": "proxy"}  # no such host: only the proxy answers
    (seen, _), *_ = httpserver.log
    assert seen.headers["Host"] == "orders.invalid"
    session = redirect_guard(HttpParams(url="http://x.invalid"))
    for url in ("http://direct.invalid/a", "http://127.0.0.2:81/b", "https://orders.invalid/",
                "http://orders.invalid:8080/c"):  # fmt: skip
        for verify in (True, False):
            theirs = requests.Session().merge_environment_settings(url, {}, None, verify, None)
            assert session.merge_environment_settings(url, {}, None, verify, None) == theirs
