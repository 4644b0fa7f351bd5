"""A Lambda worker's AWS calls reach the local AWS over the worker's own pipe
(cli/local/pipe_client.py, cli/local/pipe_server.py), with the answers HTTP gives."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.pipe_server import PipeAnswers
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.aws.lambda_zip import zip_files

if TYPE_CHECKING:
    from itest.cli.local.server import LocalAws

HANDLER = '''
import hashlib
import json
import os
import threading
import time
import urllib.request

import boto3
from botocore.exceptions import ClientError

PORT = os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]


def over_http(service, **kwargs):
    """A client that the pipe leaves alone: the same local AWS, named another way."""
    return boto3.client(service, endpoint_url=f"http://localhost:{PORT}", **kwargs)


def s3_bytes(event):
    s3 = boto3.client("s3")
    data = bytes(range(256)) * (event["size"] // 256)
    s3.put_object(Bucket=event["bucket"], Key="blob", Body=data)
    got = s3.get_object(Bucket=event["bucket"], Key="blob")["Body"].read()
    return {"sha256": hashlib.sha256(got).hexdigest(), "size": len(got)}


def conditional(event):
    table = boto3.client("dynamodb")
    try:
        table.put_item(
            TableName=event["table"],
            Item={"pk": {"S": "taken"}, "n": {"N": "2"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        return {"error": exc.response["Error"], "item": exc.response.get("Item"),
                "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"error": None}


def accounts(event):
    identity = boto3.client("sts").get_caller_identity()
    issued = boto3.client("sts").assume_role(
        RoleArn=event["role"], RoleSessionName="elsewhere")["Credentials"]
    keys = {"aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"]}
    assumed = boto3.client("sts", **keys).get_caller_identity()
    queue = boto3.client("sqs", **keys).create_queue(QueueName="theirs")["QueueUrl"]
    return {"own": identity["Account"], "assumed": assumed["Account"], "queue": queue,
            "own_over_http": over_http("sts").get_caller_identity()["Account"],
            "assumed_over_http": over_http("sts", **keys).get_caller_identity()["Account"]}


def stranger(event):
    dynamodb = boto3.client("dynamodb", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                            aws_secret_access_key="x", aws_session_token="guessed")
    try:
        dynamodb.list_tables()
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def elsewhere(event):
    with urllib.request.urlopen(event["url"] + "/plain", timeout=10) as answer:
        plain = answer.read().decode()
    sts = boto3.client("sts", endpoint_url=event["url"])
    return {"plain": plain, "account": sts.get_caller_identity()["Account"]}


def while_busy(event):
    """One thread long-polls an empty queue over the pipe; the other's calls meanwhile
    go over HTTP, not after it. The call is made once the local AWS holds the poll (the
    test touches `polling` then: no sleep that a slow machine could outlast); a message
    sent over HTTP afterwards ends the poll."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="empty")["QueueUrl"]
    poller = threading.Thread(
        target=sqs.receive_message, kwargs={"QueueUrl": url, "WaitTimeSeconds": 20})
    poller.start()
    deadline = time.monotonic() + 30
    while not os.path.exists(event["polling"]) and time.monotonic() < deadline:
        time.sleep(0.005)
    started = time.monotonic()
    account = boto3.client("sts").get_caller_identity()["Account"]
    took = time.monotonic() - started
    over_http("sqs").send_message(QueueUrl=url, MessageBody="enough")
    poller.join()
    return {"account": account, "took": took}


def forked(event):
    """A process the handler forks calls over HTTP: the pipe is the worker's."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, boto3.client("sts").get_caller_identity()["Account"].encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    return {"child": child, "worker": boto3.client("sts").get_caller_identity()["Account"]}


def handler(event, context):
    return globals()[event["call"]](event)
'''


@pytest.fixture(scope="module", autouse=True)
def function(aws: LocalAws, role: str) -> None:
    """One function whose event names which of the handler's calls to make."""
    code = {"ZipFile": aws.register_code(zip_files({"index.py": HANDLER}))}
    aws.client("lambda").create_function(
        FunctionName="calls", Runtime="python3.12", Role=role, Handler="index.handler",
        Code=code, Timeout=60,
    )  # fmt: skip


@pytest.fixture
def piped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The `METHOD url` of each request answered over a worker's pipe."""
    seen: list[str] = []
    lock = threading.Lock()
    answer = PipeAnswers.__call__

    def counted(self: PipeAnswers, head: dict[str, Any], body: bytes) -> Any:
        with lock:
            seen.append(f"{head['method']} {head['url']}")
        return answer(self, head, body)

    monkeypatch.setattr(PipeAnswers, "__call__", counted)
    return seen


def call(aws: LocalAws, event: dict[str, Any]) -> Any:
    response = aws.client("lambda").invoke(FunctionName="calls", Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def test_binary_bodies_go_both_ways_whole(aws: LocalAws, piped: list[str]) -> None:
    aws.client("s3").create_bucket(Bucket="blobs")
    size = 8 * 1024 * 1024  # every byte value, 8 MiB
    data = bytes(range(256)) * (size // 256)

    assert call(aws, {"call": "s3_bytes", "bucket": "blobs", "size": size}) == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": size,
    }
    assert aws.client("s3").get_object(Bucket="blobs", Key="blob")["Body"].read() == data
    assert [p.split(" ")[0] for p in piped] == ["PUT", "GET"]
    assert all(p.endswith("/blobs/blob") for p in piped)


def test_an_error_comes_back_as_moto_gives_it_over_http(aws: LocalAws, piped: list[str]) -> None:
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="conditions",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="conditions", Item={"pk": {"S": "taken"}, "n": {"N": "1"}})
    over_http = None
    try:
        dynamodb.put_item(
            TableName="conditions",
            Item={"pk": {"S": "taken"}, "n": {"N": "2"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException as exc:
        over_http = exc.response

    assert over_http is not None
    assert call(aws, {"call": "conditional", "table": "conditions"}) == {
        "error": over_http["Error"],
        "item": {"pk": {"S": "taken"}, "n": {"N": "1"}},
        "status": 400,
    }
    assert over_http["Item"] == {"pk": {"S": "taken"}, "n": {"N": "1"}}
    assert len(piped) == 1


def test_unsigned_requests_keep_their_caller_s_account(aws: LocalAws, piped: list[str]) -> None:
    """moto reads the account from the key id the request carries: the owner's (the
    default account) and an assumed role's in another account, as over HTTP, signed."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    elsewhere = "arn:aws:iam::111111111111:role/targets"
    aws.client("iam").create_role(RoleName="targets", AssumeRolePolicyDocument=trust)

    answer = call(aws, {"call": "accounts", "role": elsewhere})

    assert answer == {
        "own": aws.account_id,
        "assumed": "111111111111",
        "queue": f"{aws.endpoint_url}/111111111111/theirs",
        "own_over_http": aws.account_id,
        "assumed_over_http": "111111111111",
    }
    assert len(piped) == 4  # the two over http://localhost are not


def test_the_front_door_checks_piped_requests_too(aws: LocalAws, piped: list[str]) -> None:
    assert call(aws, {"call": "stranger"}) == "UnrecognizedClientException"
    assert len(piped) == 1


def test_calls_to_other_urls_go_over_http_signed(
    aws: LocalAws, piped: list[str], httpserver: HTTPServer
) -> None:
    """A handler's own HTTP calls, and a client pointed elsewhere, never meet the pipe;
    the latter is signed (SigV4), as it always was."""
    signatures: list[str] = []

    def identity(request: Request) -> Response:
        signatures.append(request.headers.get("Authorization", ""))
        body = (
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>222222222222"
            "</Account><Arn>arn:aws:iam::222222222222:user/x</Arn><UserId>x</UserId>"
            "</GetCallerIdentityResult></GetCallerIdentityResponse>"
        )
        return Response(body, content_type="text/xml")

    httpserver.expect_request("/plain").respond_with_data("hello")
    httpserver.expect_request("/", method="POST").respond_with_handler(identity)

    answer = call(aws, {"call": "elsewhere", "url": httpserver.url_for("").rstrip("/")})

    assert answer == {"plain": "hello", "account": "222222222222"}
    assert len(signatures) == 1
    assert "Signature=" in signatures[0] and "itest-local-unsigned" not in signatures[0]
    assert piped == []


def test_a_call_while_another_thread_holds_the_pipe_goes_over_http(
    aws: LocalAws, piped: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not after it: an action abandoned at its deadline may still be waiting on a long
    poll while the engine writes the step."""
    polling = tmp_path / "polling"
    counted = PipeAnswers.__call__  # the `piped` fixture's

    def noted(self: PipeAnswers, head: dict[str, Any], body: bytes) -> Any:
        if b"ReceiveMessage" in json.dumps(head).encode() + body:
            polling.touch()  # the poll holds the worker's pipe from here until it ends
        return counted(self, head, body)

    monkeypatch.setattr(PipeAnswers, "__call__", noted)

    answer = call(aws, {"call": "while_busy", "polling": str(polling)})

    assert polling.exists()
    assert answer["account"] == aws.account_id
    assert answer["took"] < 10.0  # after the poll it would have waited 20 s
    assert len(piped) == 2  # CreateQueue, ReceiveMessage; not GetCallerIdentity


def test_a_forked_process_calls_over_http(aws: LocalAws, piped: list[str]) -> None:
    assert call(aws, {"call": "forked"}) == {"child": aws.account_id, "worker": aws.account_id}
    assert len(piped) == 1  # the worker's own call
