"""``skip_if`` and ``http`` ``auth`` driven through the handlers as the state machine
runs them: a skipped step is recorded with its reason, its cleanup is not owed, the
run still passes; a SigV4 signature verifies against the Action's credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from itest.lambdas import masking, states
from itest.lambdas.aws import client
from itest.lambdas.results import store
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from .machine import RUN_ID, Clock, execute, upload

pytestmark = pytest.mark.usefixtures("results_table")


@pytest.fixture(autouse=True)
def no_remembered_secrets() -> Iterator[None]:
    """run_action outside a handler: forget what it remembered, as the next handler would."""
    masking.forget()
    yield
    masking.forget()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(states, "clock", fake)
    return fake


def put(key: str) -> dict[str, Any]:
    return {
        "action": "s3.put_object",
        "with": {"bucket": "{{ vars.bucket }}", "key": key, "body": "x"},
    }


def test_a_skipped_step_is_recorded_with_its_reason_and_its_cleanup_never_runs(
    bucket: str, clock: Clock
) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="data")
    ref = upload(
        {
            "name": "skips",
            "vars": {"env": "prod", "bucket": "data"},
            "steps": [
                {
                    "name": "runs",
                    **put("a"),
                    "cleanup": {
                        "action": "s3.delete_object",
                        "with": {"bucket": "data", "key": "a"},
                    },
                    "skip_if": [{"path": "vars.env", "equals": "dev"}],
                },
                {
                    "name": "not in prod",
                    **put("b"),
                    "cleanup": {
                        "action": "s3.put_object",
                        "with": {"bucket": "data", "key": "cleanup-ran", "body": "x"},
                    },
                    "skip_if": [{"path": "vars.env", "equals": "prod"}],
                },
                {
                    "name": "sees the skip",
                    "action": "s3.head_object",
                    "with": {"bucket": "data", "key": "b"},
                    "expect": [{"path": "exists", "equals": False}],
                    "skip_if": [{"path": 'steps."not in prod".status', "not_equals": "skipped"}],
                },
            ],
        },
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "passed", execution.verdict
    assert [i["outcome"] for i in execution.iterations] == ["passed", "skipped", "passed"]
    record = store.read_run(RUN_ID)
    skipped = record["steps"][1]
    assert (skipped["status"], skipped["attempts"]) == ("skipped", 0)
    assert skipped["reason"] == "skip_if holds: vars.env is 'prod' (equals 'prod')"
    assert [a["name"] for a in record["cleanup"]["actions"]] == ["runs"]  # not 'not in prod'
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="data").get("Contents", [])]
    assert keys == []  # 'a' cleaned up, 'b' never written, no 'cleanup-ran'


def test_a_skip_if_that_cannot_render_fails_the_step(bucket: str, clock: Clock) -> None:
    ref = upload(
        {
            "name": "bad-skip",
            "steps": [
                {
                    "name": "one",
                    "action": "wait",
                    "with": {"seconds": 1},
                    "skip_if": [{"path": "vars.env", "equals": "{{ vars.missing }}"}],
                }
            ],
        },
        bucket,
    )

    execution = execute(ref, {}, clock)

    assert execution.verdict["status"] == "failed"
    assert "step 'one' failed: skip_if: unknown name 'vars.missing'" in execution.verdict["reason"]


def action_credentials() -> Any:
    import boto3

    return boto3.Session().get_credentials().get_frozen_credentials()


def _verify_sigv4(request: Request) -> str | None:
    """Recompute the signature with botocore from what arrived (the server side of
    SigV4); None when it matches."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    sent = request.headers.get("Authorization", "")
    fields = dict(part.strip().split("=", 1) for part in sent.split(" ", 1)[1].split(","))
    _key, _date, region, service, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    headers = {name: request.headers[name] for name in signed if name in request.headers}
    url = request.host_url.rstrip("/") + request.environ["RAW_URI"]
    again = AWSRequest(method=request.method, url=url, data=request.get_data(), headers=headers)
    again.context["timestamp"] = request.headers["X-Amz-Date"]
    signer = SigV4Auth(action_credentials(), service, region)
    canonical = signer.canonical_request(again)
    signature = signer.signature(signer.string_to_sign(again, canonical), again)
    return None if signature == fields["Signature"] else "signature mismatch"


def test_sigv4_signs_with_the_actions_credentials(httpserver: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        problem = _verify_sigv4(request)
        body = {
            "ok": problem is None,
            "problem": problem,
            "auth": request.headers.get("Authorization"),
            "token": request.headers.get("X-Amz-Security-Token"),
        }
        return Response(
            json.dumps(body),
            status=200 if problem is None else 403,
            content_type="application/json",
        )

    httpserver.expect_request("/signed", method="POST").respond_with_handler(handler)

    result = states.run_action(
        "http",
        {
            "method": "POST",
            "url": httpserver.url_for("/signed"),
            "query": {"a": "b c"},
            "json": {"qty": 3},
            "auth": {"sigv4": {"service": "execute-api", "region": "eu-west-1"}},
        },
    )

    assert result["status"] == 200, result["json"]
    sent = httpserver.log[0][0].headers["Authorization"]
    assert f"Credential={action_credentials().access_key}/" in sent
    assert "/eu-west-1/execute-api/aws4_request" in sent
    written = masking.mask(result)  # as the run writes it: echoed, masked like a secret
    assert (written["json"]["auth"], written["json"]["token"]) == ("***", "***")
    assert result["json"]["auth"].startswith("AWS4-HMAC-SHA256 ")  # compared unmasked


def test_a_redirect_to_another_host_carries_no_signature(httpserver: HTTPServer) -> None:
    other = HTTPServer(host="localhost")
    other.start()
    try:
        other.expect_request("/landed").respond_with_handler(
            lambda r: Response(json.dumps(dict(r.headers)), content_type="application/json")
        )
        httpserver.expect_request("/moved").respond_with_response(
            Response(status=302, headers={"Location": other.url_for("/landed")})
        )
        result = states.run_action(
            "http", {"url": httpserver.url_for("/moved"), "auth": {"sigv4": {"service": "lambda"}}}
        )
    finally:
        other.stop()

    assert result["status"] == 200
    assert not {"Authorization", "X-Amz-Security-Token", "X-Amz-Date"} & set(result["json"])


def test_basic_auth_sends_the_secret_and_masks_the_echo(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/basic").respond_with_handler(
        lambda r: Response(
            json.dumps({"got": r.headers.get("Authorization")}), content_type="application/json"
        )
    )

    result = states.run_action(
        "http",
        {
            "url": httpserver.url_for("/basic"),
            "auth": {"basic": {"username": "ann", "password": "s3cret!"}},
        },
    )

    assert httpserver.log[0][0].authorization.password == "s3cret!"
    assert masking.mask(result)["json"] == {"got": "***"}
