"""The local Lambda workers are a bounded pool: excess invocations queue, idle ones go."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.errors import LocalAwsError
from itest.cli.local.server import local_aws

from tests.aws import together
from tests.aws.lambda_zip import zip_files

if TYPE_CHECKING:
    from collections.abc import Iterator

    from itest.cli.local.server import LocalAws

HANDLER = """
import os
import time

from together import wait_together


def handler(event, context):
    wait_together(event)
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid()}
"""
FILES = {"index.py": HANDLER, together.MODULE: together.SOURCE}
WORKERS = 2
IDLE_SECONDS = 1.0


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITEST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("ITEST_LAMBDA_WORKERS", str(WORKERS))
        mp.setenv("ITEST_LAMBDA_IDLE_SECONDS", str(IDLE_SECONDS))
        with local_aws() as local:
            yield local


def _function(aws: LocalAws, name: str) -> str:
    role = aws.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": aws.register_code(zip_files(FILES))},
        Timeout=30,
    )
    return name


def _invoke(aws: LocalAws, name: str, event: dict[str, Any]) -> dict[str, Any]:
    response = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    assert "FunctionError" not in response
    return json.loads(response["Payload"].read())


def _workers_of(name: str) -> set[int]:
    """Live child processes of this process running `name`'s handler."""
    pids = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"AWS_LAMBDA_FUNCTION_NAME={name}\0".encode() in environ.read_bytes():
                stat = (environ.parent / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                    pids.add(int(environ.parent.name))
        except OSError:
            continue
    return pids


def test_excess_invocations_queue_for_a_bounded_number_of_workers(aws: LocalAws) -> None:
    name = _function(aws, "bounded")

    with ThreadPoolExecutor(5) as pool:
        served = list(pool.map(lambda _: _invoke(aws, name, {"sleep": 0.3})["pid"], range(5)))

    assert len(served) == 5  # every invocation answered...
    assert len(set(served)) <= WORKERS  # ...by at most WORKERS processes: the others queued
    assert len(_workers_of(name)) <= WORKERS


def test_idle_workers_are_reaped_but_one_stays_warm(aws: LocalAws, tmp_path: Path) -> None:
    name = _function(aws, "reaped")
    held = together.together(tmp_path, WORKERS)  # each waits until all are in one
    with ThreadPoolExecutor(WORKERS) as pool:
        served = set(pool.map(lambda _: _invoke(aws, name, held)["pid"], range(WORKERS)))
    assert len(served) == WORKERS  # a worker each, all alive until their idle time passes

    deadline = time.monotonic() + IDLE_SECONDS + 60
    while len(_workers_of(name)) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)

    (kept,) = _workers_of(name)
    assert kept in served
    assert _invoke(aws, name, {})["pid"] == kept  # the one left is warm and serves


def test_a_report_line_says_the_worker_s_peak_memory(aws: LocalAws) -> None:
    """Each invocation's REPORT line, as Lambda's, has the worker's peak resident memory."""
    import base64
    import re

    name = _function(aws, "memory")
    answer = aws.client("lambda").invoke(FunctionName=name, Payload="{}", LogType="Tail")
    (pid,) = _workers_of(name)
    status = Path(f"/proc/{pid}/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) // 1024

    report = base64.b64decode(answer["LogResult"]).decode().splitlines()[-1]
    assert report.startswith("REPORT RequestId:")
    assert re.search(r"\tMax Memory Used: (\d+) MB", report)[1] == str(peak)


def test_a_bad_pool_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from itest.cli.local.worker_pool import WorkerPool

    monkeypatch.setenv("ITEST_LAMBDA_WORKERS", "many")
    with pytest.raises(LocalAwsError, match="ITEST_LAMBDA_WORKERS='many': expected a whole"):
        WorkerPool({})


def test_a_function_a_stack_deploys_has_a_warm_worker_before_its_first_call(
    aws: LocalAws,
) -> None:
    role = aws.client("iam").create_role(RoleName="stacked", AssumeRolePolicyDocument="{}")
    aws.client("s3").create_bucket(Bucket="stacked")
    code = aws.register_code(zip_files(FILES))
    aws.client("s3").put_object(Bucket="stacked", Key="code.zip", Body=code)
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": "stacked", "Runtime": "python3.12", "Handler": "index.handler",
        "Role": role["Role"]["Arn"], "Timeout": 30,
        "Code": {"S3Bucket": "stacked", "S3Key": "code.zip"}}}}}  # fmt: skip
    aws.client("cloudformation").create_stack(StackName="s", TemplateBody=json.dumps(template))

    deadline = time.monotonic() + 60
    while not _workers_of("stacked") and time.monotonic() < deadline:
        time.sleep(0.1)

    (warm,) = _workers_of("stacked")  # started by the deploy, not by a call
    assert _invoke(aws, "stacked", {})["pid"] == warm


def test_a_stack_update_of_a_function_with_a_layer_deploys(aws: LocalAws) -> None:
    """moto hands an updated function its layers as objects (a Ref to a LayerVersion)."""
    role = aws.client("iam").create_role(RoleName="layered", AssumeRolePolicyDocument="{}")
    layer = {"Type": "AWS::Lambda::LayerVersion", "Properties": {
        "Content": {"S3Bucket": "layers", "S3Key": "layer.zip"}}}  # fmt: skip
    aws.client("s3").create_bucket(Bucket="layers")
    v2 = {**FILES, "index.py": HANDLER + "\n# v2\n"}
    for key, files in (("layer.zip", {"x.py": ""}), ("v1.zip", FILES), ("v2.zip", v2)):
        body = aws.register_code(zip_files(files))
        aws.client("s3").put_object(Bucket="layers", Key=key, Body=body)

    def template(code: str) -> str:
        function = {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "layered", "Runtime": "python3.12", "Handler": "index.handler",
            "Role": role["Role"]["Arn"], "Layers": [{"Ref": "Layer"}],
            "Code": {"S3Bucket": "layers", "S3Key": code}}}  # fmt: skip
        return json.dumps({"Resources": {"Layer": layer, "Fn": function}})

    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName="layered", TemplateBody=template("v1.zip"))
    cfn.update_stack(StackName="layered", TemplateBody=template("v2.zip"))  # the code changed

    (stack,) = cfn.describe_stacks(StackName="layered")["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert "pid" in _invoke(aws, "layered", {})
