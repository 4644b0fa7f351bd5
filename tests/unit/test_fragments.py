"""Shared steps: includes expanded by the CLI into a plain scenario before upload."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli.authoring import load_file
from itest.cli.main import cli
from itest.lambdas.errors import ScenarioError
from itest.lambdas.scenario.models import Scenario


def load_expanded(path: Path) -> Scenario | None:
    found = load_file(path)
    return found[0] if found else None


FRAGMENT = """\
kind: fragment
params:
  order_id: {}
  qty: {default: 1}
steps:
  - name: create order
    action: http
    with:
      method: POST
      url: "{{ vars.api_url }}/orders?qty={{ params.qty }}"
      json: {id: "{{ params.order_id }}", qty: "{{ params.qty }}"}
    expect:
      - {path: json.qty, gte: "{{ params.qty }}"}
      - {path: json.qty, one_of: "{{ [params.qty] }}"}
    capture: {created_at: json.created_at}
    cleanup:
      action: dynamodb.delete_item
      with: {table: orders, key: {pk: "{{ params.order_id }}"}}
  - name: order stored
    action: dynamodb.get_item
    with: {table: orders, key: {pk: '{{ steps."create order".result.json.id }}'}}
"""


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def scenario(*includes: str) -> str:
    steps = "".join(f"  - {line}\n" for line in includes)
    return f"name: uses\nsteps:\n  - {{name: first, action: wait, with: {{seconds: 1}}}}\n{steps}"


def test_an_include_becomes_the_fragments_steps(tmp_path: Path) -> None:
    write(tmp_path, {
        "fragments/create-order.yaml": FRAGMENT,
        "orders/uses.yaml": scenario(
            "{include: ../fragments/create-order.yaml, with: {order_id: '{{ vars.id }}', qty: 3}}",
            "{include: ../fragments/create-order.yaml, name: again, with: {order_id: o-2}}",
        ),
    })  # fmt: skip

    loaded = load_expanded(tmp_path / "orders/uses.yaml")

    assert loaded is not None
    assert loaded.step_names == [
        "first", "create-order/create order", "create-order/order stored",
        "again/create order", "again/order stored",
    ]  # fmt: skip
    create, stored = loaded.steps[1], loaded.steps[2]
    assert create.with_["json"] == {"id": "{{ vars.id }}", "qty": 3}  # a param alone keeps its type
    assert create.with_["url"] == "{{ vars.api_url }}/orders?qty=3"  # inside text: its text
    assert create.expect[0].gte == 3
    assert create.expect[1].one_of == "{{ [`3`] }}"  # inside an expression: a JMESPath literal
    assert create.cleanup is not None and create.cleanup.with_["key"] == {"pk": "{{ vars.id }}"}
    assert create.capture["created_at"].path == "json.created_at"
    assert stored.with_["key"]["pk"] == '{{ steps."create-order/create order".result.json.id }}'
    assert loaded.steps[3].with_["json"] == {"id": "o-2", "qty": 1}  # the default
    assert "include" not in loaded.to_json() and "params" not in loaded.to_json()


def test_a_fragment_may_include_another(tmp_path: Path) -> None:
    write(tmp_path, {
        "fragments/create-order.yaml": FRAGMENT,
        "fragments/setup.yaml": "kind: fragment\nparams: {id: {}}\nsteps:\n"
        "  - {include: create-order.yaml, name: order, with: {order_id: '{{ params.id }}'}}\n",
        "uses.yaml": scenario("{include: fragments/setup.yaml, with: {id: o-9}}"),
    })  # fmt: skip

    loaded = load_expanded(tmp_path / "uses.yaml")

    assert loaded is not None
    assert loaded.step_names[1:] == ["setup/order/create order", "setup/order/order stored"]
    assert loaded.steps[1].with_["json"]["id"] == "o-9"
    pk = loaded.steps[2].with_["key"]["pk"]
    assert pk == '{{ steps."setup/order/create order".result.json.id }}'


def test_a_fragment_file_is_not_a_scenario(tmp_path: Path) -> None:
    write(tmp_path, {"create-order.yaml": FRAGMENT})
    assert load_expanded(tmp_path / "create-order.yaml") is None


def test_validate_on_a_folder_checks_fragments_through_their_uses(tmp_path: Path) -> None:
    write(tmp_path, {
        "fragments/create-order.yaml": FRAGMENT.replace("table: orders, key", "tabel: orders, key"),
        "uses.yaml": scenario("{include: fragments/create-order.yaml, with: {order_id: o-1}}"),
    })  # fmt: skip

    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])

    assert result.exit_code == 2, result.output
    fragment = tmp_path / "fragments/create-order.yaml"
    assert f"{tmp_path / 'uses.yaml'}: steps['create-order/order stored'].with: " in result.output
    assert "unknown field 'tabel'" in result.output
    assert f"(from {fragment}, included by {tmp_path / 'uses.yaml'} steps[1])" in result.output
    assert result.output.count("problem") == 1  # the fragment was not loaded as a scenario


def test_a_good_folder_validates_and_lists_only_scenarios(tmp_path: Path) -> None:
    write(tmp_path, {
        "fragments/create-order.yaml": FRAGMENT,
        "uses.yaml": scenario("{include: fragments/create-order.yaml, with: {order_id: o-1}}"),
    })  # fmt: skip

    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "uses" in result.output and "create-order.yaml  (" not in result.output


@pytest.mark.parametrize(
    ("with_", "message"),
    [
        ("{}", "needs param 'order_id'"),
        ("{order_id: o, qtty: 2}", "unknown key 'qtty'"),
        ("[o-1]", "expected a mapping of"),
    ],
)
def test_params_are_checked_against_the_fragment(tmp_path: Path, with_: str, message: str) -> None:
    write(tmp_path, {
        "create-order.yaml": FRAGMENT,
        "uses.yaml": scenario(f"{{include: create-order.yaml, with: {with_}}}"),
    })  # fmt: skip

    with pytest.raises(ScenarioError) as raised:
        load_expanded(tmp_path / "uses.yaml")

    (problem,) = raised.value.problems
    assert problem["location"] == "steps[1].with"
    assert message in problem["message"] and "create-order.yaml" in problem["message"]


def test_a_scenario_including_itself_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, {"loop.yaml": "kind: fragment\nsteps:\n  - {include: loop.yaml}\n",
                     "uses.yaml": scenario("{include: loop.yaml}")})  # fmt: skip

    with pytest.raises(ScenarioError, match=r"include cycle: .*uses.yaml -> .*loop.yaml -> .*loop"):
        load_expanded(tmp_path / "uses.yaml")


def test_a_param_that_is_a_template_cannot_go_inside_an_expression(tmp_path: Path) -> None:
    write(tmp_path, {
        "f.yaml": "kind: fragment\nparams: {n: {}}\nsteps:\n"
        "  - {name: s, action: wait, with: {seconds: '{{ params.n + `1` }}'}}\n",
        "uses.yaml": scenario("{include: f.yaml, with: {n: '{{ vars.n }}'}}"),
    })  # fmt: skip

    with pytest.raises(ScenarioError, match="can only stand alone"):
        load_expanded(tmp_path / "uses.yaml")
