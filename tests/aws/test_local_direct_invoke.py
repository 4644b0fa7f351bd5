"""A state machine's Lambda task on the local AWS answers as over the Invoke API
(cli/local/direct_invoke.py): the payload, a function's error, a missing function."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
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
