"""`itest init`: the starter it writes is valid, points editors at the schema, and keeps
what a team already has."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from itest.cli.local.targets import LOCAL_TARGET_TEMPLATE
from itest.cli.main import cli
from itest.cli.scenarios import load
from itest.lambdas.scenario.schema import scenario_json_schema


def test_init_writes_a_starter_that_validates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    example = tmp_path / "scenarios" / "example.yaml"
    assert example.is_file() and (tmp_path / "scenarios" / "itest_local.py").is_file()
    [loaded] = load((Path("scenarios"),))  # the schema file is not among the scenarios
    assert loaded.scenario.name == "example"

    first_line = example.read_text().splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    schema_path = example.parent / first_line.split("=", 1)[1]  # relative to the file
    assert json.loads(schema_path.read_text()) == scenario_json_schema()

    validated = CliRunner().invoke(cli, ["validate", "scenarios/"])
    assert validated.exit_code == 0, validated.output


def test_the_local_target_is_the_documented_template(tmp_path):
    CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert (tmp_path / "scenarios" / "itest_local.py").read_text() == LOCAL_TARGET_TEMPLATE


def test_init_keeps_existing_files_and_renews_the_schema(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "example.yaml").write_text("name: mine\n")
    (tmp_path / ".itest-schema.json").write_text("{}")
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"kept   {scenarios / 'example.yaml'}" in result.output
    assert f"wrote  {scenarios / 'itest_local.py'}" in result.output
    assert (scenarios / "example.yaml").read_text() == "name: mine\n"
    assert json.loads((tmp_path / ".itest-schema.json").read_text()) == scenario_json_schema()


def test_init_into_a_file_is_exit_2(tmp_path):
    (tmp_path / "taken").write_text("")
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "taken")])
    assert result.exit_code == 2
