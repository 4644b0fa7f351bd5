"""The local AWS's Step Functions answers are moto's own (cli/local/stepfunctions_answers.py).

One session of Step Functions requests — what the CLI sends (StartExecution,
ListExecutions, DescribeExecution, GetExecutionHistory, DescribeStateMachine...)
about running, succeeded, failed and stopped executions, and their error cases
— goes to a local AWS whose every answer is written both ways, by moto's
serializer and by the compiled walk, from the same result: they must be equal
(status, headers, body), and the bytes the client gets must be moto's.
"""

from __future__ import annotations

import datetime
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from itest.cli.local import dynamodb_json
from itest.cli.local.server import LocalAws
from moto.core.responses import BaseResponse
from moto.stepfunctions.responses import StepFunctionResponse

from tests.aws.tables import json_request

ONE_HOUR = datetime.timedelta(hours=1)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:answers"
MISSING = "arn:aws:states:us-east-1:123456789012:execution:answers:nobody"
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
CHOOSE = {  # succeeds with its output, or fails with an error and a cause
    "StartAt": "C",
    "States": {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "F"}],
            "Default": "P",
        },
        "P": {"Type": "Pass", "Result": {"ok": True, "n": 1.5}, "End": True},
        "F": {"Type": "Fail", "Error": "Boom", "Cause": "asked to fail"},
    },
}


def _execution(name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:answers:{name}"


# fmt: off
SESSION: list[tuple[str, str, dict[str, Any]]] = [
    ("create", "CreateStateMachine", {"name": "answers", "definition": json.dumps(CHOOSE),
                                      "roleArn": "arn:aws:iam::123456789012:role/r"}),
    ("describe the machine", "DescribeStateMachine", {"stateMachineArn": MACHINE}),
    ("list machines", "ListStateMachines", {}),
    ("start, to succeed", "StartExecution", {"stateMachineArn": MACHINE, "name": "ok",
                                             "input": json.dumps({"fail": False})}),
    ("start, to fail", "StartExecution", {"stateMachineArn": MACHINE, "name": "ko",
                                          "input": json.dumps({"fail": True})}),
    ("start again: exists", "StartExecution", {"stateMachineArn": MACHINE, "name": "ok",
                                               "input": json.dumps({"fail": True})}),
    ("waiting machine", "UpdateStateMachine", {"stateMachineArn": MACHINE,
                                               "definition": json.dumps(WAIT)}),
    ("start, to run", "StartExecution", {"stateMachineArn": MACHINE, "name": "runs"}),
    ("start, to stop", "StartExecution", {"stateMachineArn": MACHINE, "name": "stops"}),
    ("stop", "StopExecution", {"executionArn": _execution("stops"), "error": "E", "cause": "c"}),
    ("list all", "ListExecutions", {"stateMachineArn": MACHINE}),
    ("list running", "ListExecutions", {"stateMachineArn": MACHINE, "statusFilter": "RUNNING"}),
    ("list a page", "ListExecutions", {"stateMachineArn": MACHINE, "maxResults": 2}),
    ("list of a missing machine", "ListExecutions", {"stateMachineArn": MACHINE + "x"}),
    ("list, bad arn", "ListExecutions", {"stateMachineArn": "arn:nothing"}),
    ("describe succeeded", "DescribeExecution", {"executionArn": _execution("ok")}),
    ("describe failed", "DescribeExecution", {"executionArn": _execution("ko")}),
    ("describe running", "DescribeExecution", {"executionArn": _execution("runs")}),
    ("describe stopped", "DescribeExecution", {"executionArn": _execution("stops")}),
    ("describe missing", "DescribeExecution", {"executionArn": MISSING}),
    ("history succeeded", "GetExecutionHistory", {"executionArn": _execution("ok")}),
    ("history failed, reversed", "GetExecutionHistory", {"executionArn": _execution("ko"),
                                                         "reverseOrder": True}),
    ("history running", "GetExecutionHistory", {"executionArn": _execution("runs")}),
    ("history missing", "GetExecutionHistory", {"executionArn": MISSING}),
    ("machine of an execution", "DescribeStateMachineForExecution",
     {"executionArn": _execution("ok")}),
    ("stop the runner", "StopExecution", {"executionArn": _execution("runs")}),
    ("delete", "DeleteStateMachine", {"stateMachineArn": MACHINE}),
    ("describe the deleted", "DescribeStateMachine", {"stateMachineArn": MACHINE}),
]
# fmt: on

Written = tuple[Any, ...] | None


@pytest.fixture(scope="module")
def answers(aws: LocalAws) -> Iterator[list[tuple[Written, Written, Written]]]:
    """Per request: what moto's serializer wrote, what the compiled walk wrote (both from
    the one result), and what the client got (status, error type, body)."""
    ours = StepFunctionResponse.serialized
    written: list[tuple[Written, Written]] = []

    def both_ways(self: StepFunctionResponse, action_result: Any) -> Any:
        moto_s = BaseResponse.serialized(self, action_result)
        answer = ours(self, action_result)
        written.append((_plain(moto_s), _plain(answer)))
        return answer

    host, port = aws.endpoint_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    each = []
    for _, target, body in SESSION:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(StepFunctionResponse, "serialized", both_ways)
            response = json_request(connection, aws, "states", f"AWSStepFunctions.{target}", body)
            client = response.status, response.getheader("X-Amzn-Errortype"), response.read()
        assert len(written) <= 1, f"{target}: {len(written)} answers written"
        each.append((*(written.pop() if written else (None, None)), client))
        ends = body.get("name") if target == "StartExecution" else body.get("executionArn")
        if target == "StopExecution" or ends in ("ok", "ko"):  # ends by itself, or stopped
            _settle(aws, ends)
    connection.close()
    yield each


def _plain(answer: tuple[int, dict[str, str], Any]) -> Written:
    status, headers, body = answer
    return int(status), dict(headers), body


def _settle(aws: LocalAws, execution: str) -> None:
    """Wait until an execution that ends by itself (Pass, Fail) or was stopped (its name
    or ARN) is no longer running: a loaded machine may not have ended or stopped it yet."""
    import time

    sfn = aws.client("stepfunctions")
    arn = execution if execution.startswith("arn:") else _execution(execution)
    deadline = time.monotonic() + 60
    while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still {status} after 60 s"
        time.sleep(0.02)


@pytest.mark.parametrize("index", range(len(SESSION)), ids=[name for name, _, _ in SESSION])
def test_each_answer_is_moto_s(answers: list[tuple[Written, Written, Written]], index: int) -> None:
    moto_s, ours, client = answers[index]
    assert ours == moto_s
    if moto_s is not None:  # else moto answered without its serializer (its errors)
        assert client == (moto_s[0], moto_s[1].get("X-Amzn-Errortype"), moto_s[2].encode())


def test_the_session_covers_each_state_and_error(
    answers: list[tuple[Written, Written, Written]],
) -> None:
    bodies = [json.loads(client[2]) for _, _, client in answers]
    by_name = {name: body for (name, _, _), body in zip(SESSION, bodies, strict=True)}
    assert {e["status"] for e in by_name["list all"]["executions"]} == {
        "RUNNING", "ABORTED", "FAILED", "SUCCEEDED"
    }  # fmt: skip
    assert by_name["list running"]["executions"][0]["name"] == "runs"
    assert by_name["list a page"]["nextToken"]
    assert json.loads(by_name["describe succeeded"]["output"]) == {"ok": True, "n": 1.5}
    assert by_name["describe failed"]["error"] == "Boom"
    assert all(moto_s is not None for moto_s, _, client in answers if client[0] == 200)
    errors = {client[1].rpartition("#")[2] for _, _, client in answers if client[1]}
    assert errors == {"ExecutionAlreadyExists", "StateMachineDoesNotExist", "InvalidArn",
                      "ExecutionDoesNotExist"}  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        0,
        1798609559.25,
        datetime.datetime(2026, 11, 30, 8, 0, 0),
        datetime.datetime(2026, 11, 30, 8, 0, 0, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.timezone(ONE_HOUR)),
        "2026-11-30T08:00:00.5Z",
    ],
)
def test_a_timestamp_is_written_as_moto_writes_it(value: Any) -> None:
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model

    service = get_service_model("stepfunctions")
    operation = service.operation_model("StartExecution")
    result = {"executionArn": _execution("t"), "startDate": value}
    context = ActionContext(service, operation, JSONSerializer, StepFunctionResponse())
    assert (
        dynamodb_json.serialize(operation, result)
        == ActionResult(result).execute_result(context)[2]
    )
