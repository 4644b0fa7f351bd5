"""The same call over a worker's pipe and over HTTP meets the local AWS's application with
the same WSGI environ and gets the same answer (cli/local/pipe_server.py)."""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.pipe_client import AwsPipe
from itest.cli.local.pipe_server import PipeAnswers, serve
from itest.cli.local.server import local_aws

from tests.aws.tables import create_pk_sk_table

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from itest.cli.local.server import LocalAws

# what differs by design: the socket, the client's port, and what each signing makes
PER_REQUEST = {
    "wsgi.input",
    "werkzeug.socket",
    "REMOTE_PORT",
    "HTTP_AUTHORIZATION",
    "HTTP_X_AMZ_DATE",
    "HTTP_AMZ_SDK_INVOCATION_ID",
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalAws, PipeAnswers]]:
    """A local AWS, and the answerer its Lambda workers' pipes use."""
    made: list[PipeAnswers] = []
    with pytest.MonkeyPatch.context() as mp:
        init = PipeAnswers.__init__

        def kept(self: PipeAnswers, server: Any) -> None:
            init(self, server)
            made.append(self)

        mp.setattr(PipeAnswers, "__init__", kept)
        mp.setenv("ITEST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        with local_aws() as aws:
            yield aws, made[0]


@pytest.fixture
def piped_client(local: tuple[LocalAws, PipeAnswers]) -> Iterator[Callable[[str], Any]]:
    """Clients of this process whose requests go over a pipe, as a worker's do."""
    aws, answers = local
    answers_read, answers_write = os.pipe()
    requests_read, requests_write = os.pipe()
    streams = (open(requests_read, "rb"), open(answers_write, "wb"))  # noqa: SIM115

    def counted(head: dict[str, Any], body: bytes) -> Any:
        piped.append(head["url"])
        return answers(head, body)

    piped: list[str] = []
    server = threading.Thread(target=serve, args=(*streams, counted), daemon=True)
    server.start()
    with open(answers_read, "rb") as from_aws, open(requests_write, "wb") as to_aws:
        pipe = AwsPipe(aws.endpoint_url, from_aws, to_aws)

        def client(service: str) -> Any:
            made = aws.client(service, config=None)  # a client of its own
            made.meta.events.register("before-send", pipe.before_send)
            made.piped = piped
            return made

        yield client
    server.join(10)


@pytest.fixture
def environs(local: tuple[LocalAws, PipeAnswers]) -> Iterator[list[dict[str, Any]]]:
    """The environ of each request the application answers (over HTTP or a pipe), the
    body in place of the stream."""
    _, answers = local
    app = answers.server.app
    seen: list[dict[str, Any]] = []

    def recorded(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append({**environ, "body": environ["wsgi.input"].getvalue()})
        return app(environ, start_response)

    answers.server.app = recorded
    yield seen
    answers.server.app = app


def same_call(
    local: tuple[LocalAws, PipeAnswers],
    piped_client: Callable[[str], Any],
    environs: list[dict[str, Any]],
    service: str,
    call: Callable[[Any], Any],
) -> tuple[Any, Any]:
    """Answers of `call` over HTTP, then over the pipe, having checked that the
    application saw the same request."""
    aws, _ = local
    over_http = call(aws.client(service, config=None))
    (http_environ,) = environs
    client = piped_client(service)
    over_pipe = call(client)
    _, pipe_environ = environs
    assert len(client.piped) == 1  # it went over the pipe
    client.piped.clear()

    def kept(environ: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in environ.items() if k not in PER_REQUEST}

    assert kept(pipe_environ) == kept(http_environ)
    return over_http, over_pipe


def without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer but its request id and date: status, header names, the rest."""
    metadata = answer["ResponseMetadata"]
    kept = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    return {
        **kept,
        "status": metadata["HTTPStatusCode"],
        "headers": sorted(metadata["HTTPHeaders"]),
    }


def test_a_json_protocol_call(local: Any, piped_client: Any, environs: list) -> None:
    aws, _ = local
    aws.client("dynamodb").create_table(
        TableName="same",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    environs.clear()

    def put(client: Any) -> Any:
        return client.put_item(
            TableName="same", Item={"pk": {"S": "é"}}, ReturnConsumedCapacity="TOTAL"
        )

    over_http, over_pipe = same_call(local, piped_client, environs, "dynamodb", put)
    assert without_metadata(over_http) == without_metadata(over_pipe)


def test_s3_bytes_metadata_and_a_key_to_quote(
    local: Any, piped_client: Any, environs: list
) -> None:
    aws, _ = local
    aws.client("s3").create_bucket(Bucket="same")
    environs.clear()
    key = "a b/ü;x+y?=&%"

    def put(client: Any) -> Any:
        return client.put_object(
            Bucket="same", Key=key, Body=bytes(range(256)), Metadata={"with_underscore": "1"}
        )

    over_http, over_pipe = same_call(local, piped_client, environs, "s3", put)
    assert without_metadata(over_http) == without_metadata(over_pipe)
    environs.clear()

    def get(client: Any) -> Any:
        answer = client.get_object(Bucket="same", Key=key, Range="bytes=1-")
        return {**answer, "Body": answer["Body"].read()}

    over_http, over_pipe = same_call(local, piped_client, environs, "s3", get)
    assert over_pipe["Body"] == bytes(range(1, 256))
    for answer in (over_http, over_pipe):
        answer.pop("LastModified")
    assert without_metadata(over_http) == without_metadata(over_pipe)


def test_a_query_protocol_call_and_its_error(local: Any, piped_client: Any, environs: list) -> None:
    def missing(client: Any) -> Any:
        with pytest.raises(client.exceptions.QueueDoesNotExist) as caught:
            client.get_queue_url(QueueName="nowhere")
        return caught.value.response

    over_http, over_pipe = same_call(local, piped_client, environs, "sqs", missing)
    assert over_http["Error"] == over_pipe["Error"]
    assert without_metadata(over_http) == without_metadata(over_pipe)


def _head(
    aws: LocalAws,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    *,
    service: str = "dynamodb",
    body: bytes = b"",
) -> dict[str, Any]:
    """A worker's request as its pipe carries it: unsigned, the owner's key and token."""
    key_id, token = aws.credentials["AWS_ACCESS_KEY_ID"], aws.credentials["AWS_SESSION_TOKEN"]
    host = aws.endpoint_url.removeprefix("http://")
    return {
        "method": method,
        "url": f"{aws.endpoint_url}{path}",
        "headers": [
            ("Host", host),
            ("Accept-Encoding", "identity"),
            *headers,
            ("User-Agent", "Boto3/1.44.8 md/Botocore#1.44.8 exec-env/AWS_Lambda_python3.11"),
            ("X-Amz-Date", "20261130T120000Z"),
            ("X-Amz-Security-Token", token),
            ("Authorization", f"AWS4-HMAC-SHA256 Credential={key_id}/20261130/us-east-1/"
             f"{service}/aws4_request, SignedHeaders=host, Signature=itest-local-unsigned"),
            ("Content-Length", str(len(body))),
        ],
    }  # fmt: skip


def _json_frame(aws: LocalAws, target: str, body: Any) -> tuple[dict[str, Any], bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    service = "states" if target.startswith("AWSStepFunctions") else "dynamodb"
    headers = [("X-Amz-Target", target), ("Content-Type", "application/x-amz-json-1.0")]
    return _head(aws, "POST", "/", headers, service=service, body=data), data


KEY = {"pk": {"S": "a"}, "sk": {"S": "é"}}
JSON_CALLS = [
    ("DynamoDB_20120810.PutItem", {"TableName": "fidelity", "Item": {**KEY, "n": {"N": "1"}}}),
    ("DynamoDB_20120810.PutItem", {"TableName": "fidelity", "Item": KEY,
                                   "ConditionExpression": "attribute_not_exists(pk)",
                                   "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("DynamoDB_20120810.GetItem", {"TableName": "fidelity", "Key": KEY}),
    ("DynamoDB_20120810.GetItem", {"TableName": "fidelity", "Key": {**KEY, "sk": {"S": "x"}}}),
    ("DynamoDB_20120810.GetItem", {"TableName": "missing", "Key": KEY}),
    ("DynamoDB_20120810.BatchGetItem", {"RequestItems": {"fidelity": {"Keys": [KEY]}}}),
    ("DynamoDB_20120810.Query", {"TableName": "fidelity", "KeyConditionExpression": "pk = :p",
                                 "ExpressionAttributeValues": {":p": {"S": "a"}}}),
    ("DynamoDB_20120810.UpdateItem", {"TableName": "fidelity", "Key": KEY,
                                      "UpdateExpression": "SET n = :n", "ReturnValues": "ALL_NEW",
                                      "ExpressionAttributeValues": {":n": {"N": "1"}}}),
    ("DynamoDB_20120810.NoSuchAction", {}),
    ("DynamoDB_20120810.GetItem", b"{not json"),
    ("AWSStepFunctions.ListStateMachines", {}),
    ("AWSStepFunctions.DescribeExecution",
     {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:none:none"}),
]  # fmt: skip


@pytest.fixture
def answers_as_moto(
    local: tuple[LocalAws, PipeAnswers], monkeypatch: pytest.MonkeyPatch
) -> Callable[[bool, dict[str, Any], bytes], tuple[dict[str, Any], bytes]]:
    """The pipe's answer to a frame (at one moment, moto's request ids seeded), either by
    the pipe's own path or by moto's: the environ the HTTP server's handler makes, and
    moto's Flask app for every call."""
    from itest.cli.local import pipe_server, request_path
    from moto.moto_api._internal import mock_random

    aws, answers = local
    dynamodb = aws.client("dynamodb")
    if "fidelity" not in dynamodb.list_tables()["TableNames"]:
        create_pk_sk_table(dynamodb, "fidelity")
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="fidelity")
        s3.put_object(Bucket="fidelity", Key="a b/é.json", Body=b'{"x": 1}')
    monkeypatch.setattr(pipe_server, "http_date", lambda: "Mon, 30 Nov 2026 12:00:00 GMT")

    def answer(moto_s: bool, head: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        with pytest.MonkeyPatch.context() as mp:
            if moto_s:
                mp.setattr(pipe_server, "_plain_environ", lambda *_: None)
                mp.setattr(request_path, "_is_json_call", lambda environ: False)
            mock_random.seed(5)
            return answers(head, body)

    return answer


@pytest.mark.parametrize(("target", "body"), JSON_CALLS)
def test_a_json_call_over_the_pipe_is_answered_byte_for_byte_as_moto_answers_it(
    local: Any, answers_as_moto: Callable[..., Any], target: str, body: Any
) -> None:
    aws, _ = local
    frame = _json_frame(aws, target, body)
    assert answers_as_moto(False, *frame) == answers_as_moto(True, *frame)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/fidelity/a%20b/%C3%A9.json", [("x-amz-checksum-mode", "ENABLED")]),
        ("GET", "/fidelity/a%20b/%C3%A9.json", [("Range", "bytes=2-")]),
        ("HEAD", "/fidelity/a%20b/%C3%A9.json", []),
        ("GET", "/fidelity/missing", []),
        ("GET", "/fidelity?list-type=2&prefix=a%20", []),
        ("GET", "/fidelity/a%20b/%C3%A9.json", [("x-amz-meta-with_underscore", "1")]),
    ],
)
def test_an_s3_call_over_the_pipe_is_answered_byte_for_byte_as_moto_answers_it(
    local: Any, answers_as_moto: Callable[..., Any], method: str, path: str, headers: list
) -> None:
    aws, _ = local
    frame = _head(aws, method, path, headers, service="s3"), b""
    assert answers_as_moto(False, *frame) == answers_as_moto(True, *frame)


def test_a_refused_call_over_the_pipe_is_answered_as_over_http(
    local: Any, answers_as_moto: Callable[..., Any]
) -> None:
    aws, _ = local
    head, body = _json_frame(aws, "DynamoDB_20120810.ListTables", {})
    head["headers"] = [(k, "stranger" if k == "X-Amz-Security-Token" else v)
                       for k, v in head["headers"]]  # fmt: skip
    answer = answers_as_moto(False, head, body)
    assert answer == answers_as_moto(True, head, body)
    assert answer[0]["status"] == 403


HEADS = [
    ("POST", "/", [("X-Amz-Target", "DynamoDB_20120810.GetItem"), ("Content-Type", "a/b")]),
    ("GET", "/b/a%20b/%C3%A9%2F;x?versionId=1&x=%2F&y", [("Twice", "1"), ("twice", "2")]),
    ("PUT", "/b/k?uploads", [("Content-Type", "x"), ("Content-Type", "y"), ("V", "a\r\nb")]),
    ("HEAD", "/b/%E2%9C%93", [("Content-Length", "0"), ("Expect", "100-continue")]),
    ("DELETE", "/b/k?a=1?b=2", []),
]
NOT_PLAIN_HEADS = [
    ("GET", "/b/k", [("x-amz-meta-with_underscore", "1")]),  # moto keeps its name
    ("GET", "/b/k", [("X_Dropped", "1")]),  # werkzeug drops it
    ("POST", "/b/k", [("Transfer-Encoding", "chunked")]),
    ("GET", "//b/k", []),  # werkzeug reads `b` as a host
]


@pytest.mark.parametrize(("method", "path", "headers"), HEADS)
def test_a_plain_request_s_environ_is_made_as_the_server_s_handler_makes_it(
    local: Any, method: str, path: str, headers: list[tuple[str, str]]
) -> None:
    from itest.cli.local.pipe_server import _PipeRequest, _plain_environ

    aws, answers = local
    head, body = _head(aws, method, path, headers, body=b"{}"), b"{}"
    made = _plain_environ(answers.server, head, body)
    expected = _PipeRequest(answers.server, head, body).make_environ()
    assert made is not None
    assert made.pop("wsgi.input").read() == expected.pop("wsgi.input").read() == b"{}"
    assert list(made.items()) == list(expected.items())  # the same keys, in the same order


@pytest.mark.parametrize(("method", "path", "headers"), NOT_PLAIN_HEADS)
def test_any_other_request_s_environ_is_made_by_the_server_s_handler(
    local: Any, method: str, path: str, headers: list[tuple[str, str]]
) -> None:
    from itest.cli.local.pipe_server import _plain_environ

    aws, answers = local
    assert _plain_environ(answers.server, _head(aws, method, path, headers), b"") is None
