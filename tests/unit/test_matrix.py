"""Data-driven scenarios: a matrix gives one execution per combination."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli.main import cli
from itest.cli.matrix import label, run_prefix
from itest.cli.run_ids import EXECUTION_NAME_MAX, new_run_id
from itest.cli.scenarios import load

STEPS = "steps:\n  - {name: s, action: wait, with: {seconds: 1}}\n"


def write(tmp_path: Path, matrix: str, name: str = "orders") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nmatrix: {matrix}\n{STEPS}")
    return path


def test_lists_give_every_combination_in_order(tmp_path: Path) -> None:
    loaded = load((write(tmp_path, "{qty: [1, 3], region: [eu, us]}"),))

    assert [item.label for item in loaded] == [
        "orders[qty=1,region=eu]", "orders[qty=1,region=us]",
        "orders[qty=3,region=eu]", "orders[qty=3,region=us]",
    ]  # fmt: skip
    assert loaded[1].variant == {"qty": 1, "region": "us"}
    assert all(item.scenario.name == "orders" for item in loaded)
    assert "matrix" not in loaded[0].scenario.to_json()  # the engine gets a plain scenario


def test_rows_give_one_execution_each(tmp_path: Path) -> None:
    matrix = "{rows: [{qty: 1, note: 'a b'}, {qty: 2, note: {x: 1}}]}"
    loaded = load((write(tmp_path, matrix),))

    labels = [item.label for item in loaded]
    assert labels == ["orders[qty=1,note=a b]", 'orders[qty=2,note={"x":1}]']


def test_run_ids_are_valid_execution_names() -> None:
    variant = {"region": "eu west/1", "tags": ["a", "b"], "n": 3.5}
    prefix = run_prefix("orders", variant)
    assert prefix == "orders-region-eu-west-1-tags-a-b-n-3-5"
    run_id = new_run_id(run_prefix("x" * 80, variant))
    assert len(run_id) <= EXECUTION_NAME_MAX
    assert all(c.isalnum() or c in "-_" for c in run_id)
    assert label("orders", {}) == "orders" and run_prefix("orders", {}) == "orders"


@pytest.mark.parametrize(
    ("matrix", "where", "message"),
    [
        ("[1, 2]", "matrix", "expected {name: [values...], ...} or {rows:"),
        ("{qty: []}", "matrix.qty", "expected a non-empty list of values"),
        ("{qty: 3}", "matrix.qty", "expected a non-empty list of values"),
        ("{rows: [{qty: 1}], qty: [2]}", "matrix", "give either rows or lists of values"),
        ("{rows: [{qty: 1}, 5]}", "matrix.rows[1]", "expected a non-empty mapping"),
        ("{rows: [{qty: 1}, {qty: 1}]}", "matrix.rows[1]", "the combination [qty=1] comes twice"),
        ("{'order-id': [1]}", "matrix", "must be identifiers: 'order-id'"),
        ("{a: [1,2,3,4,5,6,7,8,9,10,11], b: [1,2,3,4,5,6,7,8,9,10]}", "matrix",
         "110 combinations; a matrix may give at most 100"),
    ],
)  # fmt: skip
def test_a_bad_matrix_is_exit_2_with_file_field_and_reason(
    tmp_path: Path, matrix: str, where: str, message: str
) -> None:
    path = write(tmp_path, matrix)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}: {where}: " in result.output and message in result.output, result.output


def test_a_var_that_the_matrix_sets_is_bad_input(tmp_path: Path) -> None:
    path = write(tmp_path, "{qty: [1, 3]}")
    result = CliRunner().invoke(cli, ["upload", str(path), "--var", "qty=2", "--stack", "x"])
    assert result.exit_code == 2, result.output
    assert "matrix: --var qty would replace the matrix's qty" in result.output


def test_validate_and_list_show_each_combination(tmp_path: Path) -> None:
    path = write(tmp_path, "{qty: [1, 3]}")
    listed = CliRunner().invoke(cli, ["list", str(path), "--format", "json", "--no-executions"])
    validated = CliRunner().invoke(cli, ["validate", str(path)])

    assert listed.exit_code == 0, listed.output
    names = [s["name"] for s in json.loads(listed.output)["scenarios"]]
    assert names == ["orders[qty=1]", "orders[qty=3]"]
    assert validated.exit_code == 0, validated.output
    assert "(orders[qty=3], 1 steps)" in validated.output
