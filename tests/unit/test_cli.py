"""The CLI's parsing and offline commands (no AWS)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli.errors import BadInput
from itest.cli.main import cli, parse_vars
from itest.cli.run_ids import new_run_id
from itest.cli.scenarios import collect

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["status"], ["logs"], ["list"], ["validate"], ["schema"], ["upload"],
     ["synth"], ["deploy"], ["local"],
     ["local", "up"], ["local", "down"], ["local", "status"]],
)
def test_help_for_every_command(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_parse_vars():
    assert parse_vars(("a=1", "b=x=y", "c=")) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(BadInput, match="expected KEY=VALUE"):
        parse_vars(("novalue",))


def test_run_id_is_a_valid_unique_execution_name():
    now = datetime(2026, 11, 21, 23, 21, 0, tzinfo=UTC)
    run_id = new_run_id("orders-happy-path", now)
    assert re.fullmatch(r"orders-happy-path-20261121T232100-[0-9a-f]{6}", run_id)
    assert new_run_id("orders-happy-path", now) != run_id
    assert len(new_run_id("x" * 200, now)) == 80


def test_collect_finds_scenarios_in_folders(tmp_path):
    (tmp_path / "a.yaml").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("x")
    (tmp_path / "itest_local.py").write_text("x")
    assert collect((tmp_path,)) == [tmp_path / "a.yaml", tmp_path / "sub" / "b.json"]
    with pytest.raises(BadInput, match="no such file"):
        collect((tmp_path / "missing.yaml",))


def test_validate_accepts_the_shipped_scenarios():
    result = CliRunner().invoke(cli, ["validate", str(SCENARIOS)])
    assert result.exit_code == 0, result.output
    assert "orders-happy-path" in result.output


def test_validate_names_file_field_and_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad Name\nsteps:\n  - name: a\n    action: nope\n")
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output
    assert "name" in result.output and "nope" in result.output
    assert "Traceback" not in result.output


def test_run_with_a_bad_file_starts_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [")
    result = CliRunner().invoke(cli, ["run", str(bad), "--local"])
    assert result.exit_code == 2
    assert str(bad) in result.output
    assert "Traceback" not in result.output


def test_duplicate_scenario_names_are_bad_input(tmp_path):
    text = (SCENARIOS / "lambda-pricing.yaml").read_text()
    (tmp_path / "one.yaml").write_text(text)
    (tmp_path / "two.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "already used" in result.output


def test_schema_is_json_schema():
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "steps" in schema["$defs"]["Scenario"]["properties"]
    assert "matrix" in schema["$defs"]["Scenario"]["properties"]
    assert schema["then"] == {"$ref": "#/$defs/Fragment"}


def test_the_command_imports_nothing_heavy_until_a_command_runs():
    """`itest --help` stays fast: AWS SDKs, rich, moto, CDK and the model load lazily."""
    import subprocess
    import sys

    heavy = ("boto3", "botocore", "rich", "moto", "aws_cdk", "pydantic", "lambdas", "yaml")
    code = (
        "import sys; from cli.main import cli; "
        "from click.testing import CliRunner; CliRunner().invoke(cli, ['run', '--help']); "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_local_commands_without_a_local_aws(monkeypatch, tmp_path):
    from itest.cli.local import background

    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path))
    down = CliRunner().invoke(cli, ["local", "down"])
    assert (down.exit_code, down.output) == (0, "no local AWS was running\n")
    status = CliRunner().invoke(cli, ["local", "status", "--format", "json"])
    assert status.exit_code == 3 and json.loads(status.output) == {"state": "down"}

    def fails(**kwargs):
        raise background.BackgroundError("the local AWS failed to start: port taken")

    monkeypatch.setattr(background, "up", fails)
    up = CliRunner().invoke(cli, ["local", "up", "--port", "4566"])
    assert up.exit_code == 3
    assert up.output == "Error: the local AWS failed to start: port taken\n"


def test_run_writes_the_report_file_and_the_table(monkeypatch, tmp_path):
    from itest.cli import commands
    from itest.cli.reports import Outcome, Report

    def run(where, paths, **kwargs):
        assert where.local and kwargs["wait"] and kwargs["parallel"] == 3
        assert kwargs["tags"] == ("smoke",) and kwargs["overrides"] == {"a": "1"}
        return Outcome([Report("orders", "failed", run_id="orders-1", reason="boom")])

    monkeypatch.setattr(commands, "run", run)
    report = tmp_path / "out" / "report.xml"
    result = CliRunner().invoke(cli, ["run", str(SCENARIOS), "--local", "--parallel", "3",
                                      "--tag", "smoke", "--var", "a=1", "--format", "junit",
                                      "--output", str(report)])
    assert result.exit_code == 1
    assert "orders  FAILED  orders-1" in result.stdout
    assert f"junit report written to {report}" in result.stderr
    assert '<testsuite name="orders"' in report.read_text()
