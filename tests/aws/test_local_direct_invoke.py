"""A state machine's Lambda task on the local AWS answers as over the Invoke API
(cli/local/direct_invoke.py): the payload, a function's error, a missing function."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from itest.cli.local.server import LocalAws

from tests.aws.lambda_zip import zip_files

HANDLER = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"doubled": event["n"] * 2}
"""


@pytest.fixture(scope="module")
def machine(aws: LocalAws) -> tuple[str, str]:
    """The state machine's ARN and the function's."""
    role = aws.client("iam").create_role(RoleName="direct", AssumeRolePolicyDocument="{}")
    arn = aws.client("lambda").create_function(
        FunctionName="double",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": aws.register_code(zip_files({"index.py": HANDLER}))},
    )["FunctionArn"]
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName.$": "$.function", "Payload.$": "$.payload"},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    machine_arn = aws.client("stepfunctions").create_state_machine(
        name="direct", definition=json.dumps(definition), roleArn=role["Role"]["Arn"]
    )["stateMachineArn"]
    return machine_arn, arn


def _run(aws: LocalAws, machine: str, function: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=machine, input=json.dumps({"function": function, "payload": payload})
    )["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.1)
    return described


def test_the_payload_comes_back(aws: LocalAws, machine: tuple[str, str]) -> None:
    machine_arn, function_arn = machine

    done = _run(aws, machine_arn, function_arn, {"n": 21})

    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"doubled": 42}


def test_a_function_error_fails_the_task_with_its_type(
    aws: LocalAws, machine: tuple[str, str]
) -> None:
    machine_arn, function_arn = machine

    done = _run(aws, machine_arn, function_arn, {"fail": True})

    assert done["status"] == "FAILED"
    assert done["error"] == "ValueError"
    assert json.loads(done["cause"])["errorMessage"] == "asked to fail"


def test_a_missing_function_fails_the_task_as_lambda_says(
    aws: LocalAws, machine: tuple[str, str]
) -> None:
    machine_arn, function_arn = machine

    done = _run(aws, machine_arn, function_arn.replace("double", "absent"), {"n": 1})

    assert done["status"] == "FAILED"
    assert done["error"] == "Lambda.ResourceNotFoundException"
    assert "absent" in done["cause"]


def _answer(invoke: Any, **parameters: Any) -> dict[str, Any]:
    """What an invoke answered, but what differs from call to call (request ids, durations
    in the log tail): the payload, the function error, whether a log tail came back."""
    uuid = rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    try:
        answer = invoke(**parameters)
    except ClientError as error:
        return {"error": error.response["Error"]["Code"], "status": error.response[
            "ResponseMetadata"]["HTTPStatusCode"]}  # fmt: skip
    return {
        "StatusCode": answer["StatusCode"],
        "FunctionError": answer.get("FunctionError"),
        "Payload": re.sub(uuid, b"<id>", answer["Payload"].read()),
        "tail": "END RequestId" in base64.b64decode(answer["LogResult"]).decode()
        if "LogResult" in answer
        else None,
    }


@pytest.mark.parametrize(
    "parameters",
    [
        {"Payload": b'{"n": 2}'},
        {"Payload": '{"n": 3}', "LogType": "Tail"},
        {"Payload": b'{"fail": true}', "LogType": "Tail"},
        {"Payload": b'{"n": 4}', "Qualifier": "$LATEST"},
        {"Payload": b""},  # moto's event is then the string "{}": the handler fails
    ],
)
def test_the_direct_client_answers_as_the_invoke_api(
    aws: LocalAws, machine: tuple[str, str], parameters: dict[str, Any]
) -> None:
    from itest.cli.local.direct_invoke import DirectLambda

    function_arn = machine[1]
    direct = DirectLambda(aws.account_id, aws.region)

    answered = _answer(direct.invoke, FunctionName=function_arn, **parameters)

    assert answered == _answer(aws.client("lambda").invoke, FunctionName=function_arn,
                               **parameters)  # fmt: skip
    missing = {"FunctionName": function_arn.replace("double", "absent"), **parameters}
    assert _answer(direct.invoke, **missing) == _answer(aws.client("lambda").invoke, **missing)
