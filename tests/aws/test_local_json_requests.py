"""JSON-protocol requests are parsed as moto's parser parses them (cli/local/json_requests.py).

Every request body of tests/aws/test_dynamodb_fast.py's session, Step Functions'
requests and bodies of the wrong shape are parsed both ways: by moto's parser
and by the compiled walk; the results (types included) or the errors must be
the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from itest.cli.local import json_requests
from moto.core.parse import JSONParser, XFormedDict
from moto.core.utils import get_service_model

from tests.aws.test_dynamodb_fast import SESSION

STATES = [
    ("StartExecution", {"stateMachineArn": "arn:x", "name": "n", "input": "{}"}),
    ("ListExecutions", {"stateMachineArn": "arn:x", "statusFilter": "RUNNING", "maxResults": 2}),
    ("CreateStateMachine", {"name": "m", "definition": "{}", "roleArn": "r",
                            "tags": [{"key": "k", "value": "v"}], "publish": True,
                            "loggingConfiguration": {"level": "ALL",
                                                     "includeExecutionData": False}}),
]  # fmt: skip
ODD = [  # bodies of the wrong shape: the same result, or the same error
    ("GetItem", b""),
    ("GetItem", b"null"),
    ("GetItem", b"{not json"),
    ("GetItem", b'{"TableName": "t", "Key": "not a map"}'),
    ("GetItem", b'{"TableName": "t", "Key": {"pk": "not a structure"}}'),
    ("GetItem", b'{"TableName": "t", "Key": {"pk": {"S": null, "N": "1"}}}'),
    ("PutItem", b'{"TableName": "t", "Item": [1, 2]}'),
    ("PutItem", b'{"TableName": "t", "Item": {"b": {"B": "bm90IHBhZGRlZA"}}}'),
    ("PutItem", b'{"TableName": "t", "Item": {"b": {"B": 12}}}'),
    ("PutItem", b'{"TableName": "t", "Item": {"l": {"L": 3}}}'),
    ("Query", b'{"TableName": "t", "Limit": "ten"}'),
    ("Query", b'{"TableName": "t", "Limit": 2.5, "ExclusiveStartKey": {}}'),
    ("Scan", b'{"TableName": "t", "Segment": true, "TotalSegments": "4"}'),
    ("UpdateTimeToLive", b'{"TableName": "t", "TimeToLiveSpecification": {"Enabled": 1}}'),
    ("DescribeTable", b'["TableName"]'),
]
CASES = [("dynamodb", target, json.dumps(body).encode()) for _, target, body in SESSION]
CASES += [("stepfunctions", op, json.dumps(body).encode()) for op, body in STATES]
CASES += [("dynamodb", op, body) for op, body in ODD]


@pytest.fixture(scope="module", autouse=True)
def installed() -> Iterator[None]:
    undo = json_requests.install()
    yield
    undo()


@pytest.mark.parametrize("map_type", [dict, XFormedDict])
@pytest.mark.parametrize(("service", "operation", "body"), CASES)
def test_a_request_is_parsed_as_moto_parses_it(
    service: str, operation: str, body: bytes, map_type: type
) -> None:
    model = get_service_model(service).operation_model(operation)
    request = {"body": body, "headers": {}, "method": "POST", "url_path": "/",
               "url_params": {}, "values": {}}  # fmt: skip
    moto_s = JSONParser._do_parse.__wrapped__
    assert JSONParser._do_parse is not moto_s  # installed
    assert json_requests._compiled(JSONParser(model, map_type=map_type), model.input_shape)

    def parsed(parse: Any) -> Any:
        try:
            return _typed(parse(JSONParser(model, map_type=map_type), request, model.input_shape))
        except Exception as error:
            return ("raised", type(error), str(error))

    assert parsed(JSONParser._do_parse) == parsed(moto_s)


def test_a_parser_of_another_kind_is_left_to_moto() -> None:
    class Other(JSONParser):
        def _parse_structure(self, shape: Any, value: Any) -> Any:
            return "other"

    model = get_service_model("dynamodb").operation_model("GetItem")
    request = {"body": b'{"TableName": "t"}'}
    assert Other(model).parse(request) == "other"  # type: ignore[arg-type]


def _typed(value: Any) -> Any:
    """A value with the type of every part in it (1 == 1.0 == True otherwise)."""
    if isinstance(value, dict):
        return type(value), [(_typed(k), _typed(v)) for k, v in value.items()]
    if isinstance(value, XFormedDict):  # its keys as given, and as looked up
        return XFormedDict, [(k, given, _typed(v)) for k, (given, v) in value._store.items()]
    if isinstance(value, list):
        return list, [_typed(item) for item in value]
    return type(value), value
