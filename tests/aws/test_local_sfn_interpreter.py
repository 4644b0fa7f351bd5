"""moto's Step Functions interpreter made cheap keeps its answers (cli/local/fast_paths.py's one
program per definition and states run in their caller's thread, cli/local/sfn_copy.py's copies,
cli/local/sfn_uncopied.py's values read uncopied): executions of the orchestrator's shape
(retries, a Map whose step loops through a Wait, a failing step caught, a failing cleanup) run
at once, with and without the patches, end with the same outputs and the same histories; so do
small machines for paths that select nothing and Map inputs."""

from __future__ import annotations

import copy
import importlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from itest.cli.local.server import LocalAws

from tests.aws.lambda_zip import zip_files

HANDLER = """
import os


class TransientError(Exception):
    pass


class Boom(Exception):
    pass


def handler(event, context):
    flaky = event.get("flaky")
    if flaky and not os.path.exists(flaky):  # fails once per marker file
        open(flaky, "w").close()
        raise TransientError("try again")
    role = event.get("role")
    if role == "prepare":
        steps = [{"name": name} for name in event["input"]["steps"]]
        return {**event["input"], "steps": steps, "deadline": 99}
    if role == "cleanup":
        if event["state"].get("break_cleanup"):
            raise Boom("cleanup broke")
        return {"status": "failed" if "error" in event["state"] else "passed",
                "reason": event["state"].get("error", {}).get("Cause", "")}
    name, attempt = event["name"], event["attempt"]
    if name == "boom":
        raise Boom(f"step {event['index']} exploded")
    if name == "slow" and attempt < 2:
        return {**event, "outcome": "retry", "wait_seconds": 0, "attempt": attempt + 1}
    if name == "bad":
        return {"outcome": "failed", "reason": f"{event['run_id']} step {event['index']} bad"}
    return {"outcome": "passed", "seen": {"index": event["index"], "name": name}}
"""

RETRY = [
    {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 1, "MaxAttempts": 2},
    {"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1},
]
CATCH = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Cleanup"}]


def _task(function: str, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, **payload},
        "Retry": RETRY,
        **fields,
    }


def orchestrator_shape(function: str) -> str:
    """The orchestrator's workflow (infra/workflow.py) in small, with one-second retries."""
    action = _task(function, {"Payload.$": "$"}, OutputPath="$.Payload", Next="CheckOutcome")
    payload = {"role": "prepare", "input.$": "$", "run_id.$": "$$.Execution.Name"}
    cleanup = {"role": "cleanup", "state.$": "$", "run_id.$": "$$.Execution.Name"}
    return json.dumps({
        "StartAt": "Prepare",
        "States": {
            "Prepare": _task(function, {"Payload": {**payload, "flaky.$": "$.flaky"}},
                             OutputPath="$.Payload", Catch=CATCH, Next="RunSteps"),
            "RunSteps": {
                "Type": "Map", "ResultPath": None, "Next": "Cleanup", "Catch": CATCH,
                "ItemsPath": "$.steps", "MaxConcurrency": 1,
                "ItemSelector": {
                    "run_id.$": "$$.Execution.Name", "index.$": "$$.Map.Item.Index",
                    "name.$": "$$.Map.Item.Value.name", "attempt": 0,
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Action",
                    "States": {
                        "Action": action,
                        "Backoff": {"Type": "Wait", "SecondsPath": "$.wait_seconds",
                                    "Next": "Action"},
                        "CheckOutcome": {
                            "Type": "Choice",
                            "Choices": [
                                {"Variable": "$.outcome", "StringEquals": "retry",
                                 "Next": "Backoff"},
                                {"Variable": "$.outcome", "StringEquals": "failed",
                                 "Next": "StepFailed"},
                            ],
                            "Default": "StepPassed",
                        },
                        "StepPassed": {"Type": "Succeed"},
                        "StepFailed": {"Type": "Fail", "Error": "StepFailed",
                                       "CausePath": "$.reason"},
                    },
                },
            },
            "Cleanup": _task(function, {"Payload": cleanup}, OutputPath="$.Payload",
                             Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.cleanup",
                                     "Next": "CleanupFailed"}], Next="Verdict"),
            "Verdict": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.status", "StringEquals": "passed", "Next": "Passed"}],
                "Default": "Failed",
            },
            "Passed": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "ScenarioFailed", "CausePath": "$.reason"},
            "CleanupFailed": {"Type": "Fail", "Error": "CleanupFailed",
                              "CausePath": "$.cleanup.Cause"},
        },
    })  # fmt: skip


# what each execution does: its steps, whether Prepare fails once first, whether cleanup breaks
CASES = {
    "passes": {"steps": ["a", "b", "c"]},
    "loops": {"steps": ["a", "slow", "c"]},
    "retried": {"steps": ["a", "b"], "flaky": True},
    "step-fails": {"steps": ["a", "bad", "never"]},
    "step-raises": {"steps": ["a", "boom", "never"]},
    "cleanup-breaks": {"steps": ["a"], "break_cleanup": True},
}


@pytest.fixture(scope="module")
def machine(aws: LocalAws, role: str) -> str:
    function = aws.client("lambda").create_function(
        FunctionName="orchestrator-shape",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": aws.register_code(zip_files({"index.py": HANDLER}))},
        Timeout=60,  # not moto's 3 s: six executions at once queue for workers when slow
    )["FunctionArn"]
    return aws.client("stepfunctions").create_state_machine(
        name="orchestrator-shape", definition=orchestrator_shape(function), roleArn=role
    )["stateMachineArn"]


def _run_all(aws: LocalAws, machine: str, prefix: str, markers: Path) -> dict[str, Any]:
    """Start every case at once; each one's status, output or cause, and history."""
    sfn = aws.client("stepfunctions")
    arns = {}
    for case, given in CASES.items():
        flaky = str(markers / f"{prefix}-{case}") if given.get("flaky") else ""
        arns[case] = sfn.start_execution(
            stateMachineArn=machine,
            name=f"{prefix}-{case}",
            input=json.dumps({**given, "flaky": flaky}),
        )["executionArn"]
    return {case: _ended(sfn, arn, prefix) for case, arn in arns.items()}


def _ended(sfn: Any, arn: str, prefix: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} did not end"
        time.sleep(0.1)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    for event in events:
        del event["timestamp"]
    ended = {key: described.get(key) for key in ("status", "output", "error", "cause")}
    return json.loads(_anonymous(json.dumps({**ended, "history": events}), prefix))


def _anonymous(text: str, prefix: str) -> str:
    """`text` without what differs from run to run: the execution's name, ids drawn at random."""
    text = text.replace(prefix, "<run>")
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)


def _unpatched(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """moto as it comes: its own deep copies, a program built per execution, its event
    details written from copies, each Task and each program evaluated in a thread of its
    own, its threads kept (in the list returned)."""
    from itest.cli.local import sfn_copy, sfn_uncopied
    from itest.cli.local.fast_paths import Unkept
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    for name in sfn_copy.INTERPRETER_MODULES:
        monkeypatch.setattr(importlib.import_module(name), "copy", copy)
    for owner, name in sfn_uncopied.patched_methods():
        monkeypatch.setattr(owner, name, owner.__dict__[name].__wrapped__)
    monkeypatch.setattr(Program, "eval", Program.eval.__wrapped__)
    monkeypatch.setattr(EvalComponent, "eval", EvalComponent.eval.__wrapped__)
    evaluate = ExecutionState._evaluate_with_timeout
    monkeypatch.setattr(ExecutionState, "_evaluate_with_timeout", evaluate.__wrapped__)
    threads: list[Any] = []
    for module in list(sys.modules.values()):
        if isinstance(getattr(module, "TMP_THREADS", None), Unkept):
            monkeypatch.setattr(module, "TMP_THREADS", threads)
    kept = AmazonStateLanguageParser.parse

    def parse(definition: str) -> tuple[Any, Any]:
        tree = kept(definition)[1]
        return Preprocessor().visit(tree), tree

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(parse))
    return threads


def test_executions_at_once_end_as_they_do_on_moto_unpatched(
    aws: LocalAws, machine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.stepfunctions.parser import utils

    patched = _run_all(aws, machine, "patched", tmp_path)
    assert list(utils.TMP_THREADS) == []  # no thread of theirs kept
    with monkeypatch.context() as unpatch:
        threads = _unpatched(unpatch)
        unpatched = _run_all(aws, machine, "unpatched", tmp_path)

    assert patched == unpatched
    assert len(threads) >= len(CASES) * 3  # moto keeps each execution's, Map's, Task's
    # each execution ended its own way, though all ran one program at the same time
    assert {case: ended["status"] for case, ended in patched.items()} == {
        "passes": "SUCCEEDED", "loops": "SUCCEEDED", "retried": "SUCCEEDED",
        "step-fails": "FAILED", "step-raises": "FAILED", "cleanup-breaks": "FAILED",
    }  # fmt: skip
    assert "<run>-step-fails step 1 bad" in patched["step-fails"]["cause"]
    assert "step 1 exploded" in patched["step-raises"]["cause"]
    assert patched["cleanup-breaks"]["error"] == "CleanupFailed"
    retried = [e["type"] for e in patched["retried"]["history"]]
    assert retried.count("LambdaFunctionFailed") + retried.count("TaskFailed") == 1
    looped = [e for e in patched["loops"]["history"] if e["type"] == "WaitStateEntered"]
    assert len(looped) == 2


def test_a_lambda_task_whose_timeout_can_pass_first_still_times_out(
    aws: LocalAws, role: str
) -> None:
    """A Lambda task runs in its state's own thread only when its timeout cannot pass
    before the invocation ends; one with `TimeoutSeconds: 1` keeps moto's thread, whose
    wait gives up after a second while the function still runs."""
    function = aws.client("lambda").create_function(
        FunctionName="sleeps",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Timeout=30,
        Code={"ZipFile": aws.register_code(zip_files({"index.py": SLEEPS}))},
    )["FunctionArn"]
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
            "Parameters": {"FunctionName": function, "Payload.$": "$"}}  # fmt: skip
    definition = {"StartAt": "Slow", "States": {"Slow": {**task, "TimeoutSeconds": 1}}}
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="times-out", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input='{"sleep": 20}')["executionArn"]

    ended = _ended(sfn, arn, "times-out")

    assert (ended["status"], ended["error"]) == ("FAILED", "States.Timeout")
    assert "TaskTimedOut" in [event["type"] for event in ended["history"]]


SLEEPS = """
import time


def handler(event, context):
    time.sleep(event["sleep"])
    return "late"
"""


def _pass(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", **fields}


# small machines for what the orchestrator's shape does not reach: paths that select
# nothing (InputPath, OutputPath, a Map's ItemSelector and Parameters), a Map with
# Parameters, states that set their ResultPath, Result and OutputPath, outputs near the
# size quota
EDGES = {
    "input-path-missing": {"StartAt": "A", "States": {"A": _pass(InputPath="$.nope", End=True)}},
    "output-path-missing": {"StartAt": "A",
                            "States": {"A": _pass(OutputPath="$.nope", End=True)}},
    "paths": {"StartAt": "A", "States": {
        "A": _pass(InputPath="$.deep", Result={"r": [1, {"s": 2}]}, ResultPath="$.got",
                   Next="B"),
        "B": _pass(OutputPath="$.got.r", Next="C"),
        "C": _pass(Parameters={"first.$": "$[1]", "all.$": "$", "ctx.$": "$$.State.Name"},
                   End=True)}},
    "map-parameters": {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True, "MaxConcurrency": 1,
        "Parameters": {"item.$": "$$.Map.Item.Value", "tag.$": "$.tag", "fixed": [1, 2]},
        "ItemProcessor": {"StartAt": "Inner", "States": {
            "Inner": _pass(ResultPath="$.seen", Result={"ok": True}, End=True)}}}}},
    # outputs near the 256 KB quota (inputs in QUOTA_INPUTS): two copies of a 100 KB
    # string (within), of 60000 zeros (within written compact, over with moto's spaces)
    "quota-near": {"StartAt": "A", "States": {"A": _pass(
        Parameters={"a.$": "$.s", "b.$": "$.s"}, End=True)}},
    "quota-over": {"StartAt": "A", "States": {"A": _pass(
        Parameters={"a.$": "$.zeros", "b.$": "$.zeros"}, End=True)}},
    "map-selector-missing": {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True, "MaxConcurrency": 1,
        "ItemSelector": {"missing.$": "$.nope"},
        "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": _pass(End=True)}}}}},
}  # fmt: skip
EDGE_INPUT = {"deep": {"x": 1}, "items": [{"n": 1}, {"n": 2}, {"n": 3}], "tag": "t"}
QUOTA_INPUTS = {"quota-near": {"s": "x" * 100_000}, "quota-over": {"zeros": [0] * 60_000}}


def _run_edges(aws: LocalAws, role: str, prefix: str) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    arns = {}
    for case, definition in EDGES.items():
        machine = sfn.create_state_machine(
            name=f"{prefix}-{case}", definition=json.dumps(definition), roleArn=role
        )["stateMachineArn"]
        arns[case] = sfn.start_execution(
            stateMachineArn=machine,
            name=prefix,
            input=json.dumps(QUOTA_INPUTS.get(case, EDGE_INPUT)),
        )["executionArn"]
    return {case: _ended(sfn, arn, prefix) for case, arn in arns.items()}


def test_paths_and_map_inputs_end_as_they_do_on_moto_unpatched(
    aws: LocalAws, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    patched = _run_edges(aws, role, "edges-patched")
    with monkeypatch.context() as unpatch:
        _unpatched(unpatch)
        unpatched = _run_edges(aws, role, "edges-unpatched")

    assert patched == unpatched
    statuses = {case: ended["status"] for case, ended in patched.items()}
    assert statuses == {
        "input-path-missing": "FAILED", "output-path-missing": "FAILED", "paths": "SUCCEEDED",
        "map-parameters": "SUCCEEDED", "map-selector-missing": "FAILED",
        "quota-near": "SUCCEEDED", "quota-over": "FAILED",
    }  # fmt: skip
    assert patched["quota-over"]["error"] == "States.DataLimitExceeded"
    assert "Invalid path '$.nope'" in patched["input-path-missing"]["cause"]
    assert json.loads(patched["paths"]["output"]) == {
        "first": {"s": 2}, "all": [1, {"s": 2}], "ctx": "C",
    }  # fmt: skip
    items = json.loads(patched["map-parameters"]["output"])
    assert items[2] == {"item": {"n": 3}, "tag": "t", "fixed": [1, 2], "seen": {"ok": True}}
