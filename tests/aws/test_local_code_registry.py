"""The local AWS runs only registered Lambda code (cli/local/code_registry.py).

Through the front door with the owner's valid credentials, as a scenario's
`aws.lambda.*` call or anything holding them would: creating a function is
allowed, running its code is not unless the owner registered it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from itest.cli.local.server import LocalAws

from tests.aws.lambda_zip import zip_files


def _handler(marker: Path) -> str:
    """Code that leaves a file behind if it ever runs (at import or when called)."""
    return (
        f"open({str(marker)!r}, 'a').write('imported')\n"
        "def handler(event, context):\n"
        "    return {'ran': True}\n"
    )


def _create(aws: LocalAws, role: str, name: str, code: bytes, **config: Any) -> None:
    aws.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": code}, **config,
    )  # fmt: skip


def _refused(aws: LocalAws, name: str) -> str:
    with pytest.raises(ClientError) as refused:
        aws.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AccessDeniedException"
    return error["Error"]["Message"]


def test_a_function_with_unregistered_code_is_refused_and_nothing_runs(
    aws: LocalAws, role: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    _create(aws, role, "intruder", zip_files({"index.py": _handler(marker)}))

    message = _refused(aws, "intruder")

    assert "function intruder runs code that was not registered (code)" in message
    assert 'aws.register_code(zip_bytes)' in message  # how to register it
    assert not marker.exists()  # no process ran it, not even its import


def test_new_code_for_a_registered_function_must_be_registered_too(
    aws: LocalAws, role: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    _create(aws, role, "swapped", aws.register_code(zip_files({"index.py": _handler(marker)})))
    assert json.loads(aws.client("lambda").invoke(FunctionName="swapped")["Payload"].read()) == {
        "ran": True
    }
    marker.unlink()

    aws.client("lambda").update_function_code(
        FunctionName="swapped", ZipFile=zip_files({"index.py": _handler(marker) + "# other\n"})
    )

    assert "swapped runs code that was not registered" in _refused(aws, "swapped")
    assert not marker.exists()


def test_an_unregistered_layer_is_refused(aws: LocalAws, role: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    lam = aws.client("lambda")
    layer = lam.publish_layer_version(
        LayerName="sneaky", Content={"ZipFile": zip_files({"python/sitecustomize.py": "x = 1\n"})}
    )["LayerVersionArn"]
    _create(aws, role, "layered", aws.register_code(zip_files({"index.py": _handler(marker)})),
            Layers=[layer])  # fmt: skip

    assert f"(layer {layer})" in _refused(aws, "layered")
    assert not marker.exists()


def test_inline_code_of_a_stack_created_through_the_api_is_refused(
    aws: LocalAws, role: str, tmp_path: Path
) -> None:
    """Only `deploy()` (the owner's deploy of a template) registers inline code."""
    marker = tmp_path / "ran"
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": "inline", "Runtime": "python3.12", "Handler": "index.handler",
        "Role": role, "Code": {"ZipFile": _handler(marker)}}}}}  # fmt: skip
    aws.client("cloudformation").create_stack(StackName="inline", TemplateBody=json.dumps(template))

    assert "function inline runs code that was not registered" in _refused(aws, "inline")
    assert not marker.exists()


def test_a_state_machine_task_cannot_run_unregistered_code(aws: LocalAws, role: str) -> None:
    """Through moto's Step Functions interpreter: the task fails, naming the refusal."""
    _create(aws, role, "tasked", zip_files({"index.py": "def handler(e, c):\n    return 1\n"}))
    arn = aws.client("lambda").get_function(FunctionName="tasked")["Configuration"]["FunctionArn"]
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload": {}}, "End": True}}}  # fmt: skip
    machine = sfn.create_state_machine(
        name="tasked", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]

    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end in 60 s"
        time.sleep(0.1)

    assert described["status"] == "FAILED"
    assert "not registered" in (described.get("cause") or "") + (described.get("error") or "")


def test_code_registered_by_another_process_of_the_owner_runs(aws: LocalAws, role: str) -> None:
    """As the CLI entering a local target against the background local AWS: another
    LocalAws object from the same endpoint and credentials (the state file's)."""
    elsewhere = LocalAws(endpoint_url=aws.endpoint_url, credentials=aws.credentials)
    code = elsewhere.register_code(zip_files({"index.py": "def handler(e, c):\n    return 7\n"}))
    _create(elsewhere, role, "registered-elsewhere", code)

    response = aws.client("lambda").invoke(FunctionName="registered-elsewhere")

    assert json.loads(response["Payload"].read()) == 7
