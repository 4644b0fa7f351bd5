"""The local AWS's cheaper request path answers as moto's own (cli/local/request_path.py)."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import string
from typing import Any

import pytest
from itest.cli.local import request_path
from itest.cli.local.server import LocalAws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import create_backend_app
from werkzeug.test import EnvironBuilder

from tests.aws.tables import create_pk_sk_table

HOSTS = [
    "dynamodb",
    "dynamodb_v20111205",
    "moto_api",
    None,
    "states.us-east-1.amazonaws.com",
    "lambda.eu-west-1.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "s3control",
    "nothing.example",
]


def test_the_dispatcher_finds_moto_s_backend_once_per_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_s = DomainDispatcherApplication(create_backend_app)
    ours = request_path.Dispatcher(create_backend_app)
    expected = [moto_s.get_backend_for_host(host) for host in HOSTS]
    assert [ours.get_backend_for_host(host) for host in HOSTS] == expected

    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or real_listdir(path))
    assert [ours.get_backend_for_host(host) for host in HOSTS] == expected
    assert listed == []  # remembered: moto's folder is not listed again
    assert "nothing.example" not in capsys.readouterr().out


def test_a_request_reaches_the_backend_its_service_names(aws: LocalAws) -> None:
    """Service after service on one server: each answer is its own service's."""
    for _ in range(2):  # the second round is answered from the remembered backends
        assert "TableNames" in aws.client("dynamodb").list_tables()
        assert "stateMachines" in aws.client("stepfunctions").list_state_machines()
        assert "Functions" in aws.client("lambda").list_functions()
        assert aws.client("sts").get_caller_identity()["Account"] == aws.account_id


def _call(
    target: str,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    service: str = "dynamodb",
    query: str = "",
) -> dict[str, Any]:
    """A signed-looking JSON-protocol request's WSGI environ (the front door is not in play)."""
    return EnvironBuilder(
        method="POST",
        path="/",
        query_string=query,
        data=body if isinstance(body, bytes) else json.dumps(body),
        headers={
            "Host": "127.0.0.1:5000",
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": target,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261130/us-east-1/"
            f"{service}/aws4_request, SignedHeaders=host, Signature=0",
            **(headers or {}),
        },
    ).get_environ()


def _answer(app: Any, environ: dict[str, Any]) -> tuple[Any, ...]:
    """Status, headers (in their order, the request id drawn after moto's seed) and body of
    a WSGI app's answer, or the error."""
    from moto.moto_api._internal import mock_random

    started: list[Any] = []
    mock_random.seed(3)
    try:
        body = b"".join(app(environ, lambda status, headers, *_: started.extend([status, headers])))
    except Exception as error:  # the server turns it into a 500
        return ("raised", type(error))
    status, headers = started
    return status, headers, body


KEY_AB = {"pk": {"S": "a"}, "sk": {"S": "b"}}
NO_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:none:none"
CALLS = [
    ("DynamoDB_20120810.GetItem", {"TableName": "direct", "Key": KEY_AB}),
    ("DynamoDB_20120810.GetItem", {"TableName": "direct", "Key": {**KEY_AB, "sk": {"S": "y"}}}),
    ("DynamoDB_20120810.GetItem", {"TableName": "missing", "Key": {"pk": {"S": "a"}}}),
    ("DynamoDB_20120810.GetItem", {"TableName": "direct", "Key": {"pk": {"S": "a"}}}),
    ("DynamoDB_20120810.PutItem", {"TableName": "direct", "Item": KEY_AB,
                                   "ConditionExpression": "attribute_not_exists(pk)",
                                   "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("DynamoDB_20120810.Query", {"TableName": "direct", "KeyConditionExpression": "pk = :p",
                                 "ExpressionAttributeValues": {":p": {"S": "a"}}}),
    ("DynamoDB_20120810.NoSuchAction", {}),
    ("DynamoDB_20120810.GetItem", b"{not json"),
    ("AWSStepFunctions.ListStateMachines", {}),
    ("AWSStepFunctions.DescribeExecution", {"executionArn": NO_EXECUTION}),
    ("AWSStepFunctions.ListStateMachines", b""),  # moto reads the headers as its query
    ("DynamoDB_20120810.ListTables", b""),
]  # fmt: skip


@pytest.mark.parametrize("query", ["", "Action=ListTables&x=%2F"])
@pytest.mark.parametrize(("target", "body"), CALLS)
def test_a_json_call_is_answered_as_flask_answers_it(
    aws: LocalAws, target: str, body: Any, query: str
) -> None:
    """Same status, headers and body as through moto's Flask app, errors included."""
    dynamodb = aws.client("dynamodb")
    if "direct" not in dynamodb.list_tables()["TableNames"]:
        create_pk_sk_table(dynamodb, "direct")
        dynamodb.put_item(
            TableName="direct", Item={"pk": {"S": "a"}, "sk": {"S": "b"}, "n": {"N": "1"}}
        )
    service = "states" if target.startswith("AWSStepFunctions") else "dynamodb"
    dispatcher = request_path.Dispatcher(create_backend_app)
    flask_app = dispatcher.get_application(_call(target, body, service=service))

    direct = _answer(dispatcher, _call(target, body, service=service, query=query))
    assert direct == _answer(flask_app, _call(target, body, service=service, query=query))
    assert dispatcher._json_views[flask_app] is not None  # it did not go through Flask


def test_moto_s_own_dispatch_is_given_no_copy_of_the_headers() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.s3.responses import S3Response
    from moto.stepfunctions.responses import StepFunctionResponse

    assert request_path._is_moto_s_dispatch(DynamoHandler.dispatch)
    assert request_path._is_moto_s_dispatch(StepFunctionResponse.dispatch)
    assert not request_path._is_moto_s_dispatch(S3Response.dispatch)  # its own setup_class
    assert not request_path._is_moto_s_dispatch(S3Response().bucket_response)
    assert not request_path._is_moto_s_dispatch(lambda request, url, headers: None)


def test_a_call_from_a_web_page_goes_through_flask(aws: LocalAws) -> None:
    """With an `Origin`, flask-cors answers it (and says the answer varies by origin)."""
    dispatcher = request_path.Dispatcher(create_backend_app)
    call = _call("DynamoDB_20120810.ListTables", {}, headers={"Origin": "http://page.example"})
    status, headers, _ = _answer(dispatcher, call)
    assert status == "200 OK"
    assert ("Access-Control-Allow-Origin", "http://page.example") in headers
    assert dispatcher._json_views == {}


def test_the_action_names_kept_are_the_class_s(aws: LocalAws) -> None:
    from moto.core import responses
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler
    from moto.stepfunctions.responses import StepFunctionResponse

    assert responses.method_names_from_class is not method_names_from_class  # installed
    for cls in (DynamoHandler, StepFunctionResponse, DynamoHandler):
        assert responses.method_names_from_class(cls) == method_names_from_class(cls)


def test_made_up_strings_keep_their_alphabet_and_follow_moto_s_seed(aws: LocalAws) -> None:
    from moto.moto_api._internal import mock_random

    drawn = mock_random.get_random_string(length=52)
    assert len(drawn) == 52 and set(drawn) <= set(string.ascii_letters + string.digits)
    letters = mock_random.get_random_string(length=200, include_digits=False, lower_case=True)
    assert set(letters) <= set(string.ascii_lowercase)
    mock_random.seed(7)
    first = mock_random.get_random_string()
    mock_random.seed(7)
    assert mock_random.get_random_string() == first


@pytest.mark.parametrize(
    "body",
    [
        '{"Item": {"pk": {"S": "a"}}, "note": "' + "x" * 5000 + '"}',
        "<R><RequestId>placeholder</RequestId><N>1</N></R>",
        "<R><requestid>lower case is not it</requestid></R>",
        b"<RequestId>bytes are moto's to handle</RequestId>",
        "",
    ],
)
def test_an_answer_gets_its_request_id_as_from_moto(aws: LocalAws, body: Any) -> None:
    from moto.core.responses import BaseResponse
    from moto.moto_api._internal import mock_random

    patched = BaseResponse._enrich_response
    assert patched is not patched.__wrapped__  # installed: moto's own is beside it

    answers = []
    for enrich in (patched, patched.__wrapped__):
        mock_random.seed(11)
        answers.append(enrich({"status": 200}, body))
    assert answers[0] == answers[1]
    assert answers[0][0]["status"] == "200" and len(answers[0][0]["x-amzn-requestid"]) == 52


def test_request_lines_are_logged_when_asked_for(
    aws: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    client = aws.client("dynamodb")
    client.list_tables()  # connected: the next request is on a kept connection
    with caplog.at_level(logging.WARNING, logger="werkzeug"):
        client.list_tables()
    assert not [r for r in caplog.records if r.name == "werkzeug" and r.levelno == logging.INFO]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        client.list_tables()
    assert [r for r in caplog.records if r.name == "werkzeug" and "POST / " in r.getMessage()]


PLAIN = [
    (200, {"server": "amazon.com", "x-amz-crc32": 12}, '{"Item": {"pk": {"S": "é"}}}'),
    ("400", {"status": "400", "x-amzn-ErrorType": "X"}, b'{"__type": "X"}'),
    (404, {}, ""),
    ("500 Custom reason", {"Content-Type": "application/x-amz-json-1.1"}, "{}"),
    (599, {"content-length": "99", "a": "1", "Content-Length": "7"}, "body"),
    (200, {"Access-Control-Allow-Origin": "https://page.example"}, "{}"),
    (200, {"Access-Control-Allow-Origin": ""}, "{}"),
]
NOT_PLAIN = [
    (204, {}, ""),  # werkzeug sends no length, no body
    (304, {}, ""),
    (200, {"Location": "/elsewhere"}, ""),  # made absolute
    (200, {"x": "two\nlines"}, ""),  # werkzeug raises
    (200, {"x": ["a", "b"]}, ""),  # two headers
    (200, [("x", "1")], ""),
    (200, {}, ["chunks"]),
    ("", {}, ""),  # werkzeug raises
    ("nothing", {}, ""),  # status 0
    (True, {}, ""),
]


@pytest.mark.parametrize("cors", [True, False])
@pytest.mark.parametrize(("status", "headers", "content"), PLAIN)
def test_a_plain_answer_is_the_one_flask_s_response_gives(
    status: Any, headers: Any, content: Any, cors: bool
) -> None:
    import flask

    response = flask.Response(response=content, status=status, headers=dict(headers))
    if cors and not response.headers.get("Access-Control-Allow-Origin"):
        response.headers.add("Access-Control-Allow-Origin", "*")
    started: list[Any] = []
    environ = EnvironBuilder(method="POST").get_environ()
    body = b"".join(response(environ, lambda status, headers: started.extend([status, headers])))
    assert request_path._plain_answer(status, dict(headers), content, cors) == (*started, body)


@pytest.mark.parametrize(("status", "headers", "content"), NOT_PLAIN)
def test_what_is_not_plain_is_left_to_flask_s_response(
    status: Any, headers: Any, content: Any
) -> None:
    assert request_path._plain_answer(status, headers, content, True) is None


def _read_by_werkzeug(request: Any) -> dict[str, Any]:
    """What moto reads of a request, in its order (`data` first), and the stream after."""
    return {
        "data": request.data,
        "form": request.form,
        "files": request.files,
        "args": request.args,
        "values": request.values,
        "text": request.get_data(as_text=True),
        "rest": request.stream.read(),
    }


@pytest.mark.parametrize(
    ("body", "content_type", "query", "read_ahead"),
    [
        (b'{"TableName": "t"}', "application/x-amz-json-1.0", "", True),
        (b"", "application/x-amz-json-1.1", "", False),  # no Content-Length: werkzeug's
        (b'{"a": "\xc3\xa9"}', "application/json", "x=1&y", True),
        (b"Action=ListTables", "application/x-www-form-urlencoded", "", False),
        (b'{"a": 1}', "application/x-amz-json-1.0; charset=utf-8", "", False),
    ],
)
def test_a_request_read_ahead_reads_as_werkzeug_reads_it(
    body: bytes, content_type: str, query: str, read_ahead: bool
) -> None:
    from moto.moto_server.werkzeug_app import BackendRequest

    def environ() -> dict[str, Any]:
        made = EnvironBuilder(
            method="POST", data=body, content_type=content_type, query_string=query
        ).get_environ()
        assert type(made["wsgi.input"]) is io.BytesIO
        return made

    ahead = BackendRequest(environ())
    request_path._read_ahead(ahead, ahead.environ)
    assert ("_cached_data" in ahead.__dict__) is read_ahead
    assert _read_by_werkzeug(ahead) == _read_by_werkzeug(BackendRequest(environ()))


def test_a_body_of_another_length_or_a_stream_is_read_by_werkzeug() -> None:
    from moto.moto_server.werkzeug_app import BackendRequest

    for change in ({"CONTENT_LENGTH": "3"}, {"wsgi.input": io.BufferedReader(io.BytesIO(b"{}"))}):
        environ = EnvironBuilder(method="POST", data=b"{}", content_type="application/json")
        request = BackendRequest({**environ.get_environ(), **change})
        request_path._read_ahead(request, request.environ)
        assert "_cached_data" not in request.__dict__


def test_action_method_names_are_moto_s(aws: LocalAws) -> None:
    from moto.core import responses
    from moto.core.utils import camelcase_to_underscores

    assert responses.camelcase_to_underscores is not camelcase_to_underscores  # installed
    for action in ["PutItem", "BatchGetItem", "ListTagsForResource", "DescribeSSLPolicy", "", None]:
        assert responses.camelcase_to_underscores(action) == camelcase_to_underscores(action)


def test_a_backend_is_found_and_made_as_moto_does(aws: LocalAws) -> None:
    from moto.core.base_backend import BackendDict
    from moto.dynamodb.models import dynamodb_backends

    assert dynamodb_backends["123456789012"] is dynamodb_backends["123456789012"]
    fresh = BackendDict(type(dynamodb_backends["123456789012"]["us-east-1"]), "dynamodb")
    made = fresh["210987654321"]  # made, and listed for moto's reset, as moto does
    assert fresh["210987654321"] is made and fresh in BackendDict._instances


def test_headers_are_read_from_the_environ_as_werkzeug_reads_them(aws: LocalAws) -> None:
    from moto.core.request import EnvironHeaders
    from werkzeug.datastructures import EnvironHeaders as WerkzeugHeaders
    from werkzeug.exceptions import BadRequestKeyError

    environ = _call("DynamoDB_20120810.ListTables", {}, headers={"X-Twice": "1"})
    ours, werkzeug_s = EnvironHeaders(environ), WerkzeugHeaders(environ)
    for _ in range(2):  # the second time from the keys kept
        for name in ["X-Amz-Target", "x-amz-target", "content-type", "Content-Length", "x_twice"]:
            assert ours[name] == werkzeug_s[name]
        assert "missing" not in ours and ours.get("missing") is None
        for key, error in [("Missing", KeyError), (7, BadRequestKeyError)]:
            with pytest.raises(error) as raised:
                ours[key]
            with pytest.raises(error) as raised_by_werkzeug:
                werkzeug_s[key]
            assert type(raised.value) is type(raised_by_werkzeug.value)


def test_a_region_s_backend_is_found_as_moto_finds_it(aws: LocalAws) -> None:
    from moto.core.base_backend import AccountSpecificBackend
    from moto.dynamodb.models import dynamodb_backends
    from moto.iam.models import iam_backends

    account = iam_backends["123456789012"]
    assert account["global"] is account["aws"] is AccountSpecificBackend.__getitem__(account, "aws")
    made = dynamodb_backends["210987654321"]["us-east-1"]  # made on first use, as moto does
    assert dynamodb_backends["210987654321"]["us-east-1"] is made
    with pytest.raises(KeyError):
        dynamodb_backends["210987654321"]["nowhere-1"]


@pytest.mark.parametrize(("target", "body"), CALLS)
def test_parameters_are_parsed_as_moto_parses_them(
    aws: LocalAws, target: str, body: Any
) -> None:
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_server.werkzeug_app import BackendRequest
    from moto.stepfunctions.responses import StepFunctionResponse

    service = "states" if target.startswith("AWSStepFunctions") else "dynamodb"
    handler = StepFunctionResponse if service == "states" else DynamoHandler
    installed = BaseResponse.parse_parameters
    assert installed is not installed.__wrapped__  # moto's own is beside it

    def parsed(parse: Any) -> Any:
        response = handler()
        request = BackendRequest(_call(target, body, service=service))
        response.automated_parameter_parsing = False  # set up, not parsed: by `parse` below
        response.setup_class(request, request.raw_url)
        try:
            parse(response, request)
        except Exception as error:
            return type(error), str(error)
        return response.params, request.__dict__.keys()

    for _ in range(2):  # the second time with the parser kept
        assert parsed(installed) == parsed(installed.__wrapped__)


@pytest.mark.parametrize(
    "environ",
    [
        _call("DynamoDB_20120810.GetItem", {}),
        _call("DynamoDBStreams_20120810.ListStreams", {}),
        _call("DynamoDB_20111205.ListTables", {}),
        _call("AWSStepFunctions.ListStateMachines", {}, service="states"),
        _call("AmazonSQS.ListQueues", {}, service="sqs"),
        _call("Logs_20140328.DescribeLogGroups", {}, service="logs"),
        _call("AWSEvents.PutEvents", {}, service="eventbridge"),
        _call("X.Y", {}, headers={"Authorization": "AWS4-HMAC-SHA256 Credential=a/b/c"}),
        _call("X.Y", {}, headers={"Authorization": "nothing"}),
        _call("AWSCognitoIdentityService.GetId", {}, headers={"Authorization": ""}),
    ],
)
def test_a_json_call_s_app_is_the_one_moto_picks(aws: LocalAws, environ: dict) -> None:
    dispatcher = request_path.Dispatcher(create_backend_app)
    for _ in range(2):  # the second time from the apps kept
        try:
            expected = dispatcher.get_application(dict(environ))
        except Exception as error:
            with pytest.raises(type(error)):
                dispatcher._json_app(dict(environ))
            continue
        assert dispatcher._json_app(dict(environ)) is expected


@pytest.mark.parametrize("query", ["", "a=1&b=%2F"])
@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost:5000", None])
def test_a_request_s_url_is_moto_s(query: str, host: str | None) -> None:
    from moto.moto_server.werkzeug_app import BackendRequest

    view = request_path._JsonView.of(create_backend_app("dynamodb"))
    assert view is not None
    environ = _call("DynamoDB_20120810.ListTables", {}, query=query)
    if host is None:
        del environ["HTTP_HOST"]
    for _ in range(2):
        request = BackendRequest(dict(environ))
        assert view._raw_url(request) == request.raw_url


def test_a_recorded_json_call_is_recorded_as_flask_records_it(
    aws: LocalAws, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's recorder reads the body from the environ's stream before moto does."""
    from moto.moto_api import recorder
    call = ("DynamoDB_20120810.GetItem", {"TableName": "missing", "Key": {"pk": {"S": "é"}}})
    dispatcher = request_path.Dispatcher(create_backend_app)
    flask_app = dispatcher.get_application(_call(*call))
    recorded = []
    for app in (dispatcher, flask_app):
        monkeypatch.setattr(recorder, "_location", str(tmp_path / f"{len(recorded)}.jsonl"))
        recorder.start_recording()
        try:
            answer = _answer(app, _call(*call))
        finally:
            recorder.stop_recording()
        recorded.append((answer, (tmp_path / f"{len(recorded)}.jsonl").read_text()))
    assert recorded[0] == recorded[1]
    entry = json.loads(recorded[0][1])
    assert entry["body_encoded"] and base64.b64decode(entry["body"]) == json.dumps(call[1]).encode()
