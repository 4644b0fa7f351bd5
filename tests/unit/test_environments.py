"""Environments: itest.yaml found upwards, --env applied, the command line winning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from itest.cli import commands
from itest.cli.environments import load_environment
from itest.cli.errors import BadInput
from itest.cli.main import cli

CONFIG = """\
environments:
  staging:
    region: eu-west-1
    stack: itest-staging
    vars: {api_url: "cfn:orders-staging/ApiUrl", qty: 3, env: staging}
  prod: {vars: {env: prod}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "itest.yaml").write_text(CONFIG)
    (tmp_path / "tests" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "tests" / "deep")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("ITEST_STACK", raising=False)
    return tmp_path


def test_the_nearest_itest_yaml_gives_the_environment(project: Path) -> None:
    staging = load_environment("staging")
    assert staging.source == project / "itest.yaml"
    assert (staging.region, staging.stack) == ("eu-west-1", "itest-staging")
    assert staging.vars == {"api_url": "cfn:orders-staging/ApiUrl", "qty": 3, "env": "staging"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (CONFIG, "no environment 'stagin' (did you mean 'staging'?); it has prod, staging"),
        ("environments: {stagin: {vars: {}, regoin: x}}", "unknown key 'regoin'; did you mean"),
        ("environments: {stagin: {vars: [a]}}", "environments.stagin.vars: expected a mapping"),
        ("environments: {stagin: {vars: {u: 'cfn:nope'}}}", "expected cfn:<StackName>/<OutputKey>"),
        ("envs: {}", "unknown key 'envs'; expected 'environments'"),
        ("environments: [", "invalid YAML"),
    ],
)  # fmt: skip
def test_bad_environments_are_exit_2_naming_file_and_field(
    project: Path, config: str, message: str
) -> None:
    (project / "itest.yaml").write_text(config)
    with pytest.raises(BadInput) as raised:
        load_environment("stagin")
    assert str(project / "itest.yaml") in str(raised.value)
    assert message in str(raised.value)
    assert raised.value.exit_code == 2


def test_no_itest_yaml_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match=r"no itest\.yaml in"):
        load_environment("staging")


def test_env_applies_vars_region_and_stack_and_the_command_line_wins(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Any, dict[str, Any]]] = []

    def fake_upload(where: Any, paths: Any, *, overrides: dict[str, Any], **_: Any) -> list:
        seen.append((where, overrides))
        return []

    monkeypatch.setattr(commands, "upload", fake_upload)
    runner = CliRunner()
    assert runner.invoke(cli, ["upload", "x.yaml", "--env", "staging", "--var", "qty=5"],
                         env={"AWS_REGION": "us-east-2"}).exit_code == 0  # fmt: skip
    assert runner.invoke(cli, ["upload", "x.yaml", "--env", "staging", "--region", "ap-south-1",
                               "--stack", "mine"]).exit_code == 0  # fmt: skip

    (where, overrides), (typed, _) = seen
    assert (where.region, where.stack) == ("eu-west-1", "itest-staging")  # over AWS_REGION
    assert overrides == {"api_url": "cfn:orders-staging/ApiUrl", "qty": "5", "env": "staging"}
    assert (typed.region, typed.stack) == ("ap-south-1", "mine")  # flags win
