"""The engine's lean calls in a Lambda worker (cli/local/lean_calls.py) write the same
requests to the pipe as botocore does and give the same answers and errors; an answer
botocore would retry, a busy or broken pipe, parameters that are not plain JSON: the
call is botocore's."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from itest.cli.local import lean_calls
from itest.cli.local.lean_calls import LeanClient
from itest.cli.local.pipe_client import AwsPipe
from itest.cli.local.pipe_server import PipeAnswers, serve
from itest.lambdas import aws as lambdas_aws

from tests.aws import test_local_pipe_fidelity as fidelity
from tests.aws.tables import create_pk_sk_table

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from itest.cli.local.server import LocalAws

TABLE = "lean"
PER_CALL = {"X-Amz-Date", "amz-sdk-invocation-id"}  # what differs between two calls


local = fidelity.local  # a local AWS, and the answerer of its workers' pipes


@pytest.fixture(scope="module", autouse=True)
def table(local: tuple[LocalAws, PipeAnswers]) -> None:
    """The results table's shape."""
    aws, _ = local
    create_pk_sk_table(aws.client("dynamodb"), TABLE)


class Piped:
    """A worker's pipe to the local AWS; every frame the local AWS read from it, and an
    answerer tests can replace (`answer`)."""

    def __init__(self, aws: LocalAws, answers: PipeAnswers) -> None:
        self.aws = aws
        self.frames: list[tuple[dict[str, Any], bytes]] = []
        self.answer: Callable[[dict[str, Any], bytes], Any] = answers
        answers_read, answers_write = os.pipe()
        requests_read, requests_write = os.pipe()
        streams = (open(requests_read, "rb"), open(answers_write, "wb"))  # noqa: SIM115
        self.server = threading.Thread(target=serve, args=(*streams, self._read), daemon=True)
        self.server.start()
        self.pipe = AwsPipe(
            aws.endpoint_url,
            open(answers_read, "rb"),  # noqa: SIM115
            open(requests_write, "wb"),  # noqa: SIM115
        )

    def _read(self, head: dict[str, Any], body: bytes) -> Any:
        self.frames.append((head, body))
        return self.answer(head, body)

    def client(self) -> Any:
        """A botocore client as the engine's (standard retries, parameters unchecked)
        whose requests go over this pipe."""
        from botocore.config import Config

        config = Config(retries=lambdas_aws.RETRIES, parameter_validation=False)
        made = self.aws.client("dynamodb", config=config)
        made.meta.events.register("before-send", self.pipe.before_send)
        return made

    def close(self) -> None:
        with contextlib.suppress(OSError):  # closed already when the server broke it
            self.pipe._requests.close()
        self.pipe._answers.close()
        self.server.join(10)


@pytest.fixture
def piped(local: tuple[LocalAws, PipeAnswers], monkeypatch: pytest.MonkeyPatch) -> Iterator[Piped]:
    """A pipe, and requests to the local AWS unsigned, as in a worker."""
    import botocore.auth
    from itest.cli.local import pipe_client

    made = Piped(*local)
    for name in ("v4", "s3v4"):
        signer = botocore.auth.AUTH_TYPE_MAPS[name]
        unsigned = pipe_client._unsigned_for(made.pipe, signer, botocore.auth)
        monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, name, unsigned)
    yield made
    made.close()


def reset(aws: LocalAws, *items: dict[str, Any]) -> None:
    """The table holds these items only."""
    dynamodb = aws.client("dynamodb")
    for item in dynamodb.scan(TableName=TABLE)["Items"]:
        dynamodb.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    for item in items:
        dynamodb.put_item(TableName=TABLE, Item=item)


def outcome(call: Callable[[], Any]) -> Any:
    """What a call returns, or its error's class, message and response; with the
    request id and date left out (they differ between any two calls)."""
    try:
        answer, error = call(), None
    except ClientError as exc:
        answer, error = exc.response, (type(exc), str(exc))
    metadata = answer["ResponseMetadata"]
    assert metadata["RequestId"] == metadata["HTTPHeaders"].pop("x-amzn-requestid")
    metadata["HTTPHeaders"].pop("date")
    metadata.pop("RequestId")
    return answer, error


def without_per_call(frame: tuple[dict[str, Any], bytes]) -> Any:
    head, body = frame
    headers = [(n, "<per call>" if n in PER_CALL else v) for n, v in head["headers"]]
    return {**head, "headers": headers}, body


ITEM = {"pk": {"S": "run-1"}, "sk": {"S": "step#0000"}, "status": {"S": "passed"},
        "attempts": {"N": "1"}, "ok": {"BOOL": True}, "tags": {"L": [{"S": "é\"\\"}]}}  # fmt: skip
KEY = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
CLAIM = {
    "TableName": TABLE,
    "Item": ITEM,
    "ConditionExpression": "attribute_not_exists(#a) OR #a < :a",
    "ExpressionAttributeNames": {"#a": "attempts"},
    "ExpressionAttributeValues": {":a": {"N": "2"}},
    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
}
UPDATE = {
    "TableName": TABLE,
    "Key": KEY,
    "UpdateExpression": "SET #s = :s",
    "ConditionExpression": "#s = :running",
    "ExpressionAttributeNames": {"#s": "status"},
    "ExpressionAttributeValues": {":s": {"S": "failed"}, ":running": {"S": "running"}},
}
CALLS: dict[str, tuple[str, dict[str, Any], list[dict[str, Any]]]] = {
    "a new item": ("put_item", {"TableName": TABLE, "Item": ITEM}, []),
    "a claim that holds": ("put_item", CLAIM, [ITEM]),
    "a claim that fails, the item in the error": (
        "put_item",
        {**CLAIM, "ExpressionAttributeValues": {":a": {"N": "1"}}},
        [ITEM],
    ),
    "a missing table": ("put_item", {"TableName": "nowhere", "Item": ITEM}, []),
    "an item missing its sort key": (
        "put_item",
        {"TableName": TABLE, "Item": {"pk": {"S": "x"}}},
        [],
    ),
    "an update with a condition": (
        "update_item",
        {**UPDATE, "ReturnValues": "ALL_NEW"},
        [{**ITEM, "status": {"S": "running"}}],
    ),
    "an update whose condition fails": ("update_item", UPDATE, [ITEM]),
    "a read of an item": (
        "get_item",
        {"TableName": TABLE, "Key": KEY, "ConsistentRead": True},
        [ITEM],
    ),
    "a read of a missing item": (
        "get_item",
        {"TableName": TABLE, "Key": KEY, "ConsistentRead": True},
        [],
    ),
    "a batch read, one key missing": (
        "batch_get_item",
        {
            "RequestItems": {
                TABLE: {
                    "Keys": [KEY, {"pk": {"S": "run-1"}, "sk": {"S": "step#0001"}}],
                    "ConsistentRead": True,
                }
            }
        },
        [ITEM],
    ),
    "a query": (
        "query",
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "run-1"}},
            "ConsistentRead": True,
        },
        [ITEM, {**ITEM, "sk": {"S": "step#0001"}}],
    ),
}


@pytest.mark.parametrize("case", CALLS)
def test_the_same_request_and_answer_as_botocore(
    local: tuple[LocalAws, PipeAnswers], piped: Piped, case: str
) -> None:
    aws, _ = local
    method, params, items = CALLS[case]
    botocore_client = piped.client()
    lean = LeanClient(piped.client(), piped.pipe)
    reset(aws, *items)
    outcome(lambda: getattr(lean, method)(**params))  # its first call: botocore's, the template
    piped.frames.clear()

    reset(aws, *items)
    by_botocore = outcome(lambda: getattr(botocore_client, method)(**params))
    reset(aws, *items)
    by_lean = outcome(lambda: getattr(lean, method)(**params))

    assert by_lean == by_botocore
    botocore_frame, lean_frame = piped.frames
    assert without_per_call(lean_frame) == without_per_call(botocore_frame)
    lean_headers = dict(lean_frame[0]["headers"])
    assert lean_headers["X-Amz-Date"] >= dict(botocore_frame[0]["headers"])["X-Amz-Date"]
    assert (
        lean_headers["amz-sdk-invocation-id"]
        != dict(botocore_frame[0]["headers"])["amz-sdk-invocation-id"]
    )


def test_a_signed_request_is_never_a_template(piped: Piped) -> None:
    client = piped.client()
    lean = LeanClient(client, piped.pipe)
    piped.pipe.origin = "http://elsewhere"  # the pipe's is another local AWS: signed, HTTP
    sent: list[Any] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request))
    for _ in range(2):
        lean.get_item(TableName=TABLE, Key=KEY)
    assert len(sent) == 2  # both botocore's
    assert "Signature=" in sent[0].headers["Authorization"].decode()
    assert piped.frames == []


def test_the_unsigned_mark_is_the_pipes() -> None:
    from itest.cli.local import pipe_client

    assert f"Signature={pipe_client.UNSIGNED}" == lean_calls.UNSIGNED


def test_later_calls_skip_botocore(piped: Piped, monkeypatch: pytest.MonkeyPatch) -> None:
    client = piped.client()
    lean = LeanClient(client, piped.pipe)
    lean.get_item(TableName=TABLE, Key=KEY)
    sent: list[Any] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request))
    for _ in range(3):
        lean.get_item(TableName=TABLE, Key=KEY)
    assert sent == []  # botocore made no request
    assert len(piped.frames) == 4


THROTTLED = (
    {"status": 400, "headers": [("Content-Type", "application/x-amz-json-1.0")]},
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow"}',
)
UNAVAILABLE = ({"status": 503, "headers": [("Content-Length", "0")]}, b"")


FAULTS = {  # the pipe's answers to come, before the local AWS's; botocore's retries then
    "throttled once": ([THROTTLED], 1),
    "5xx twice": ([UNAVAILABLE, UNAVAILABLE], 2),
    "throttled past the retries": ([THROTTLED] * 4, 3),
    "the pipe broke": (["broken"], 1),
    "the pipe broke, its next answer would be throttled": (["broken", THROTTLED], 1),  # HTTP
}


@pytest.mark.parametrize("case", FAULTS)
def test_faults_meet_botocores_retries_as_without_lean_calls(
    local: tuple[LocalAws, PipeAnswers], case: str
) -> None:
    """The same attempts (over the pipe, then over HTTP once it broke), the same answer."""
    aws, answers = local
    faults, retries = FAULTS[case]
    outcomes = []
    for lean in (False, True):
        piped = Piped(aws, answers)
        try:
            client = piped.client()
            called = LeanClient(client, piped.pipe) if lean else client
            reset(aws, ITEM)
            called.get_item(TableName=TABLE, Key=KEY)  # the lean client's template
            over_http: list[Any] = []  # botocore's requests, wherever they went

            def counted(request: Any, over_http: list[Any] = over_http, **_: Any) -> None:
                over_http.append(request)

            client.meta.events.register("before-send", counted)
            piped.frames.clear()
            left = list(faults)

            def faulty(head: dict[str, Any], body: bytes, left: list[Any] = left) -> Any:
                fault = left.pop(0) if left else None
                if fault == "broken":
                    raise RuntimeError("injected: the pipe's server fails")  # it closes the pipe
                return fault or answers(head, body)

            piped.answer = faulty
            try:
                answer = called.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)
                got: Any = (answer["Item"], answer["ResponseMetadata"]["RetryAttempts"])
            except ClientError as exc:
                got = (exc.response["Error"], exc.response["ResponseMetadata"]["RetryAttempts"])
            sent = [dict(head["headers"])["amz-sdk-request"] for head, _ in piped.frames]
            outcomes.append((got, [s.split("; ", 1)[-1] for s in sent], len(over_http)))
        finally:
            piped.close()
    without_lean, with_lean = outcomes
    assert with_lean == without_lean
    assert without_lean[0][1] == retries


def test_a_busy_or_broken_pipe_leaves_the_call_to_botocore(piped: Piped) -> None:
    client = piped.client()
    lean = LeanClient(client, piped.pipe)
    reset(piped.aws, ITEM)
    lean.get_item(TableName=TABLE, Key=KEY)
    piped.frames.clear()
    with piped.pipe.held():  # another thread of the worker has it: over HTTP
        answer = threading_call(lambda: lean.get_item(TableName=TABLE, Key=KEY))
    assert answer["Item"] == ITEM
    assert piped.frames == []
    piped.pipe.broken = True
    assert lean.get_item(TableName=TABLE, Key=KEY)["Item"] == ITEM
    assert piped.frames == []


def threading_call(call: Callable[[], Any]) -> Any:
    """`call`'s answer, made in a thread of its own."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    thread.join(30)
    return answers[0]


def test_parameters_not_plain_json_are_botocores(piped: Piped) -> None:
    client = piped.client()
    lean = LeanClient(client, piped.pipe)
    lean.put_item(TableName=TABLE, Item=ITEM)
    blob = {**ITEM, "data": {"B": b"\x00\xff"}}
    sent: list[Any] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request))
    lean.put_item(TableName=TABLE, Item=blob)
    assert len(sent) == 1  # through botocore, which base64-encodes the bytes
    assert lean.get_item(TableName=TABLE, Key=KEY)["Item"]["data"] == {"B": b"\x00\xff"}


def test_the_engine_gets_a_lean_client_only_from_the_local_runtime(
    local: tuple[LocalAws, PipeAnswers], piped: Piped, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws, _ = local
    for name, value in aws.env().items():
        monkeypatch.setenv(name, value)
    session = boto3.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    lambdas_aws.client.cache_clear()
    try:
        assert not isinstance(lambdas_aws.client("dynamodb"), LeanClient)  # on AWS
        lambdas_aws.client.cache_clear()
        lean_calls.install(piped.pipe, session)  # what the local runtime's bootstrap does
        engine = lambdas_aws.client("dynamodb")
        assert isinstance(engine, LeanClient)
        assert not isinstance(lambdas_aws.client("dynamodb", True), LeanClient)  # checked
        assert not isinstance(lambdas_aws.client("s3"), LeanClient)  # not a JSON protocol
        reset(aws, ITEM)
        assert engine.get_item(TableName=TABLE, Key=KEY)["Item"] == ITEM
    finally:
        lambdas_aws.client.cache_clear()


def test_loaded_by_its_path_as_the_worker_loads_it(piped: Piped) -> None:
    from itest.cli.local import lambda_bootstrap

    module = lambda_bootstrap._local_module("lean_calls")  # outside sys.modules
    lean = module.LeanClient(piped.client(), piped.pipe)
    reset(piped.aws, ITEM)
    for _ in range(2):
        assert lean.get_item(TableName=TABLE, Key=KEY)["Item"] == ITEM
    assert len(piped.frames) == 2


def test_botocores_after_call_sees_lean_calls(piped: Piped) -> None:
    """Its handlers (the standard retry mode's quota is released there) run as for
    botocore's own calls."""
    client = piped.client()
    lean = LeanClient(client, piped.pipe)
    seen: list[Any] = []
    client.meta.events.register(
        "after-call.dynamodb.GetItem",
        lambda http_response, parsed, **_: seen.append((http_response.status_code, parsed)),
    )
    reset(piped.aws, ITEM)
    answers = [lean.get_item(TableName=TABLE, Key=KEY) for _ in range(2)]
    assert [status for status, _ in seen] == [200, 200]
    assert [parsed for _, parsed in seen] == answers


def test_only_standard_retries_are_lean(piped: Piped) -> None:
    from botocore.config import Config

    session = boto3.Session()
    lean_calls.install(piped.pipe, session)
    for mode, lean in (("standard", True), ("legacy", False), ("adaptive", False)):
        config = Config(retries={"mode": mode, "max_attempts": 3}, parameter_validation=False)
        made = session.client("dynamodb", config=config, **lean_client_args(piped.aws))
        _, offered = made.meta.events.emit_until_response(
            lambdas_aws.ENGINE_CLIENT_EVENT, client=made
        )
        assert isinstance(offered, LeanClient) is lean, mode


def lean_client_args(aws: LocalAws) -> dict[str, str]:
    credentials = aws.credentials
    return {
        "endpoint_url": aws.endpoint_url,
        "region_name": aws.region,
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": credentials["AWS_SESSION_TOKEN"],
    }
