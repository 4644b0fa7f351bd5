"""Every failure a user can meet is one line and exit code 2 or 3, never a traceback."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from itest.cli import commands
from itest.cli.connect import default_stack
from itest.cli.local import background
from itest.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
HAPPY = str(ROOT / "scenarios" / "orders-happy-path.yaml")
ARN = "arn:aws:states:eu-west-1:111122223333:execution:Itest-Machine:orders-20261121T232100-ab12cd"
LOCAL_ARN = "arn:aws:states:us-east-1:123456789012:execution:Itest-Machine:x-20261121T232100-ab12cd"


@pytest.fixture(autouse=True)
def no_aws_config(monkeypatch, tmp_path):
    """No profile, region or credentials from the developer's machine; no metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.startswith("ITEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path / "cache"))


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    return result


def one_line_error(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_no_region_is_bad_input():
    result = invoke("run", HAPPY, "--var", "api_url=http://x", "--var", "orders_table=t")
    assert result.exit_code == 2
    assert "no AWS region" in one_line_error(result)


def test_unknown_profile_is_bad_input():
    result = invoke("status", ARN, "--profile", "nope")
    assert result.exit_code == 2
    assert "nope" in one_line_error(result)


def test_no_credentials_is_an_infrastructure_error(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = invoke("status", ARN)
    assert result.exit_code == 3
    assert "no AWS credentials found" in one_line_error(result)


def test_no_stack_names_it(monkeypatch):
    class Stub:
        def describe_stacks(self, **kwargs):
            raise ClientError({"Error": {"Code": "ValidationError",
                                         "Message": "Stack with id Nope does not exist"}},
                              "DescribeStacks")

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setattr("itest.cli.aws.AwsSession.client", lambda self, service: Stub())
    result = invoke("list", "--stack", "Nope", "--no-executions")
    assert result.exit_code == 0  # nothing asked of AWS
    result = invoke("list", "--stack", "Nope", str(ROOT / "scenarios"))
    assert result.exit_code == 3
    assert "Error: no CloudFormation stack 'Nope' in eu-west-1" in result.output
    assert "orders-happy-path" in result.output  # the scenarios are still listed


def test_a_missing_var_is_caught_before_any_aws_call():
    result = invoke("run", HAPPY)  # no region, no credentials: never reached
    assert result.exit_code == 2
    assert "vars.api_url" in result.output and "--var" in result.output


def test_throttling_that_outlasts_the_retries(monkeypatch):
    def throttled(*args, **kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                          "DescribeExecution")

    monkeypatch.setattr(commands, "status", throttled)
    result = invoke("status", ARN)
    assert result.exit_code == 3
    assert "AWS throttled (DescribeExecution) even after retries" in one_line_error(result)


def test_ctrl_c_is_one_line_and_exit_3(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "status", interrupted)
    result = invoke("status", ARN)
    assert result.exit_code == 3
    assert one_line_error(result) == "Error: interrupted"


def test_an_unexpected_error_is_one_line(monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(commands, "status", bug)
    result = invoke("status", ARN)
    assert result.exit_code == 3
    assert "ZeroDivisionError: division by zero (ITEST_DEBUG=1" in one_line_error(result)


@pytest.mark.parametrize("kind", ["StartError", "DeployError", "BackgroundError"])
def test_every_local_aws_error_is_one_line_and_exit_3(monkeypatch, kind):
    from itest.cli.local import errors

    def fails(*args, **kwargs):
        raise getattr(errors, kind)(f"the local AWS: {kind} happened")

    monkeypatch.setattr(commands, "run", fails)
    result = invoke("run", HAPPY, "--local")
    assert result.exit_code == 3
    assert one_line_error(result) == f"Error: the local AWS: {kind} happened"


def test_a_dead_local_server(monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    background.write_state(background.LocalState(
        pid=os.getpid(), state="up", log_file="-", started_at="2026-11-21T23:21:00Z",
        endpoint=f"http://127.0.0.1:{port}",
        credentials={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s",
                     "AWS_SESSION_TOKEN": "t"},
        outputs={"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:M",
                 "BucketName": "b", "ResultsTableName": "t"},
    ))
    monkeypatch.setattr(background, "is_daemon", lambda pid: True)
    result = invoke("status", LOCAL_ARN)  # a local-account ARN finds the local AWS by itself
    assert result.exit_code == 3
    assert f"the local AWS at http://127.0.0.1:{port} is not answering" in one_line_error(result)


def test_local_flag_without_a_local_aws():
    result = invoke("status", "--local", LOCAL_ARN)
    assert result.exit_code == 3
    assert "the local AWS is down: start one with `itest local up`" in one_line_error(result)
    result = invoke("logs", "--local", "x-20261121T232100-ab12cd")  # a run id, the same
    assert result.exit_code == 3
    assert "the local AWS is down: start one with `itest local up`" in one_line_error(result)
    result = invoke("local", "status")
    assert result.exit_code == 3
    assert "down" in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["status", "arn:aws:s3:::bucket"], "is not an execution ARN"),
        (["status", "not/a/run"], "is neither a run id"),
        (["logs", ARN, "--since", "yesterday"], "--since 'yesterday'"),
        (["run", HAPPY, "--parallel", "4"], "--parallel needs --wait"),
        (["run", HAPPY, "--timeout", "30"], "--timeout needs --wait"),
        (["run", HAPPY, "--tag", "nope", "--wait"], "has the tag nope"),
        (["run", HAPPY, "--var", "novalue"], "expected KEY=VALUE"),
        (["run", HAPPY, "--wait", "--output", "/"], "--output"),
    ],
)
def test_usage_errors_exit_2(args, fragment):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output


def test_stack_default_from_env_then_cdk_json(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert default_stack() == "Itest"
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"itest:stackName": "ItestQa"}}))
    assert default_stack() == "ItestQa"
    monkeypatch.setenv("ITEST_STACK", "FromEnv")
    assert default_stack() == "FromEnv"


@pytest.mark.parametrize("command", ["status", "logs"])
def test_a_local_arn_while_the_local_aws_is_down_says_so_not_no_credentials(command):
    result = invoke(command, LOCAL_ARN)
    assert result.exit_code == 3
    error = one_line_error(result)
    assert error.startswith(f"Error: {LOCAL_ARN} is a run on the local AWS (account "
                            "123456789012), and the local AWS is down")
    assert "credentials" not in error


@pytest.mark.parametrize("command", ["status", "logs"])
def test_neither_a_run_id_nor_an_arn_is_bad_input(command):
    result = invoke(command, "--local", "not a run id!")
    assert result.exit_code == 2
    assert "'not a run id!' is neither a run id" in one_line_error(result)
