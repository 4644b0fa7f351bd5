"""The same call over a worker's pipe and over HTTP meets the local AWS's application with
the same WSGI environ and gets the same answer (cli/local/pipe_server.py)."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.pipe_client import AwsPipe
from itest.cli.local.pipe_server import PipeAnswers, serve
from itest.cli.local.server import local_aws

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
