"""`itest synth` and `itest deploy` at the boundary: bad input is exit 2, a missing
tool or credentials exit 3, each one line and before anything starts; deploy runs
the CDK CLI on the installed app."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli.main import cli

FAKE_CDK = """#!{python}
import json, os, sys
with open({record!r}, "w") as f:
    json.dump({{"argv": sys.argv[1:], "region": os.environ.get("AWS_REGION")}}, f)
sys.exit(int(os.environ.get("FAKE_CDK_EXIT", "0")))
"""


@pytest.fixture(autouse=True)
def no_aws_config(monkeypatch, tmp_path):
    """No profile, region or credentials from the machine; the current folder is empty."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ITEST_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)


def _fake_tools(monkeypatch, tmp_path: Path, names: tuple[str, ...], path: str) -> Path:
    """`names` in a folder put before `path`, each recording how it was called;
    credentials in the environment."""
    bin_dir, record = tmp_path / "bin", tmp_path / "cdk-call.json"
    bin_dir.mkdir()
    for name in names:
        script = bin_dir / name
        script.write_text(FAKE_CDK.format(python=sys.executable, record=str(record)))
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{path}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    return record


@pytest.fixture
def fake_cdk(monkeypatch, tmp_path) -> Path:
    """A `cdk` first on PATH."""
    return _fake_tools(monkeypatch, tmp_path, ("cdk",), os.environ["PATH"])


def test_without_cdk_on_path_deploy_runs_it_through_npx(monkeypatch, tmp_path):
    record = _fake_tools(monkeypatch, tmp_path, ("npx", "node"), str(tmp_path / "nothing"))
    result = invoke("deploy", "--region", "eu-west-1")
    assert result.exit_code == 0, result.output
    argv = json.loads(record.read_text())["argv"]
    assert argv[:3] == ["--yes", "aws-cdk@2", "deploy"] and argv[-1] == "Itest"


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    return result


def test_deploy_runs_the_cdk_cli_on_the_installed_app(fake_cdk):
    Path("cdk.json").write_text(json.dumps({"context": {"itest:stackName": "ItestQa"}}))
    result = invoke("deploy", "--region", "eu-west-1", "-c", "itest:resultsTtlDays=7",
                    "--", "--require-approval", "never")
    assert result.exit_code == 0, result.output
    call = json.loads(fake_cdk.read_text())
    assert call["argv"] == [
        "deploy", "--app", f"{sys.executable} -m itest.infra.app",
        "--context", "itest:resultsTtlDays=7", "--require-approval", "never", "ItestQa",
    ]  # the CDK CLI reads ./cdk.json's context itself; the stack named there is deployed
    assert call["region"] == "eu-west-1"
    assert "deployed ItestQa" in result.output


def test_a_failed_cdk_deploy_is_exit_3(fake_cdk, monkeypatch):
    monkeypatch.setenv("FAKE_CDK_EXIT", "1")
    result = invoke("deploy", "--region", "eu-west-1")
    assert result.exit_code == 3
    assert "cdk deploy of Itest failed (exit 1)" in result.output


def test_deploy_without_credentials_is_exit_3_before_the_cdk_cli(fake_cdk, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    result = invoke("deploy", "--region", "eu-west-1")
    assert result.exit_code == 3
    assert "no AWS credentials found" in result.output
    assert not fake_cdk.exists()


def test_deploy_without_a_region_is_exit_2(fake_cdk):
    result = invoke("deploy")
    assert result.exit_code == 2
    assert "no AWS region" in result.output
    assert not fake_cdk.exists()


def test_deploy_without_node_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = invoke("deploy", "--region", "eu-west-1")
    assert result.exit_code == 3
    assert "needs Node.js 18 or later" in result.output
    assert "npx" in result.output


def test_synth_without_node_says_so_before_loading_the_cdk(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("JSII_NODE", raising=False)
    result = invoke("synth")
    assert result.exit_code == 3
    assert "the AWS CDK needs Node.js 18 or later and there is no `node` on PATH" in result.output


@pytest.mark.parametrize(
    ("cdk_json", "message"),
    [
        ("{not json", "cdk.json: not readable as JSON"),
        ('{"context": []}', "cdk.json: `context` must be a JSON object"),
    ],
)
def test_a_bad_cdk_json_is_exit_2(cdk_json, message):
    Path("cdk.json").write_text(cdk_json)
    for command in (["synth"], ["deploy", "--region", "eu-west-1"]):
        result = invoke(*command)
        assert result.exit_code == 2
        assert message in result.output


def test_a_context_pair_without_a_value_is_exit_2():
    result = invoke("synth", "-c", "itest:stackName")
    assert result.exit_code == 2
    assert "-c 'itest:stackName': expected KEY=VALUE" in result.output
