"""The local AWS's speed fixes keep AWS's behaviour (cli/local/keep_alive.py, dynamodb_fast.py)."""

from __future__ import annotations

import http.client
import json
import logging
import time
from typing import Any

import pytest
from itest.cli.local.server import LocalAws

from tests.aws.tables import create_pk_sk_table, dynamodb_request

TABLE = "fast-paths"


@pytest.fixture(scope="module")
def table(aws: LocalAws) -> str:
    return create_pk_sk_table(aws.client("dynamodb"), TABLE)


def _request(
    connection: http.client.HTTPConnection, aws: LocalAws, target: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], str | None]:
    response = dynamodb_request(connection, aws, target, body)
    return response.status, json.loads(response.read()), response.getheader("Connection")


def test_one_connection_serves_many_requests_even_after_a_refused_one(
    aws: LocalAws, table: str
) -> None:
    host, port = aws.endpoint_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.connect()
    socket_before = connection.sock

    status, _, header = _request(connection, aws, "ListTables", {})
    assert (status, header) == (200, None)
    # refused at the front door, its body unread by moto: the next request still parses
    connection.request("POST", "/", body=b'{"padding": "' + b"x" * 5000 + b'"}')
    refused = connection.getresponse()
    refused.read()
    assert refused.status == 403
    status, listed, header = _request(connection, aws, "ListTables", {})

    assert (status, header) == (200, None)
    assert table in listed["TableNames"]
    assert connection.sock is socket_before  # never reconnected
    connection.close()


def test_sdk_calls_reuse_their_connection(
    aws: LocalAws, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = aws.client("dynamodb")
    client.list_tables()
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        for _ in range(5):
            client.describe_table(TableName=table)

    assert not [r for r in caplog.records if "connection" in r.getMessage().lower()]


def test_a_query_reads_its_partition_only_in_order(aws: LocalAws, table: str) -> None:
    dynamodb = aws.client("dynamodb")
    for pk in ("a", "b", "c"):
        for sk in ("step#0002", "run", "step#0000", "step#0001"):
            dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}})

    def query(**kwargs: Any) -> list[str]:
        found = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :step)",
            ExpressionAttributeValues={":pk": {"S": "b"}, ":step": {"S": "step#"}},
            **kwargs,
        )
        return [(item["pk"]["S"], item["sk"]["S"]) for item in found["Items"]]

    assert query() == [("b", "step#0000"), ("b", "step#0001"), ("b", "step#0002")]
    assert query(ScanIndexForward=False, Limit=1) == [("b", "step#0002")]
    assert dynamodb.scan(TableName=table)["Count"] >= 12  # a scan still sees every partition


@pytest.mark.parametrize(
    ("expression", "section"),
    [
        ("SET a = :v SET b = :v", "SET"),
        ("ADD c :n ADD d :n", "ADD"),
        ("REMOVE a REMOVE b", "REMOVE"),
    ],
)
def test_an_update_with_a_section_twice_is_refused(
    aws: LocalAws, table: str, expression: str, section: str
) -> None:
    values = {":v": {"S": "x"}, ":n": {"N": "1"}}
    used = {name: value for name, value in values.items() if name in expression}
    with pytest.raises(Exception, match=f'The "{section}" section can only be used once'):
        aws.client("dynamodb").update_item(
            TableName=table,
            Key={"pk": {"S": "u"}, "sk": {"S": "run"}},
            UpdateExpression=expression,
            **({"ExpressionAttributeValues": used} if used else {}),
        )


def test_an_update_with_many_actions_applies_them_all(aws: LocalAws, table: str) -> None:
    dynamodb = aws.client("dynamodb")
    key = {"pk": {"S": "u"}, "sk": {"S": "step#0000"}}
    dynamodb.put_item(TableName=table, Item={**key, "gone": {"S": "x"}, "kept": {"S": "old"}})

    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET a = :v, b = :v, kept = if_not_exists(kept, :v) "
        "ADD n :one REMOVE gone",
        ExpressionAttributeValues={":v": {"S": "new"}, ":one": {"N": "1"}},
    )

    item = dynamodb.get_item(TableName=table, Key=key)["Item"]
    assert item == {**key, "a": {"S": "new"}, "b": {"S": "new"}, "kept": {"S": "old"},
                    "n": {"N": "1"}}  # fmt: skip


def test_a_definition_is_built_once_and_its_executions_share_the_program(
    aws: LocalAws,
) -> None:
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.parse.asl_parser import (
        AmazonStateLanguageParser,
        ASLParserException,
    )

    definition = json.dumps({"StartAt": "Echo", "States": {
        "Echo": {"Type": "Pass", "Parameters": {"seen.$": "$.n"}, "Next": "Task"},
        "Task": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": "f"}, "End": True,
                 "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]}}})  # fmt: skip
    first, tree = AmazonStateLanguageParser.parse(definition)
    second, same_tree = AmazonStateLanguageParser.parse(definition)
    assert (second, same_tree) == (first, tree)
    # every component named before the program is shared: no two executions draw two names
    retrier = first.states.states["Task"].retry.retriers[0]
    assert isinstance(retrier.max_attempts, EvalComponent)
    assert retrier.max_attempts._EvalComponent__heap_key is not None
    with pytest.raises(ASLParserException):  # a definition that does not parse still fails
        AmazonStateLanguageParser.parse('{"StartAt": "Echo", "States": {"Echo": {"Type": 1}}}')

    sfn = aws.client("stepfunctions")
    echo = json.dumps({"StartAt": "Echo", "States": {
        "Echo": {"Type": "Pass", "Parameters": {"seen.$": "$.n"}, "End": True}}})  # fmt: skip
    machine = sfn.create_state_machine(
        name="parsed-once", definition=echo,
        roleArn="arn:aws:iam::123456789012:role/parsed-once",
    )["stateMachineArn"]  # fmt: skip
    arns = [sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": n}))["executionArn"]
            for n in range(5)]  # fmt: skip
    outputs = [_output(sfn, arn) for arn in arns]
    assert outputs == [{"seen": n} for n in range(5)]


def _output(sfn: Any, arn: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            assert described["status"] == "SUCCEEDED", described
            return json.loads(described["output"])
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running after 60 s")
