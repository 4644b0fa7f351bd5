"""The scenario model: good files load, bad ones list every problem precisely."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from itest.lambdas.actions.registry import ACTIONS
from itest.lambdas.errors import ScenarioError
from itest.lambdas.matchers import MATCHERS
from itest.lambdas.scenario.expectation import Expectation
from itest.lambdas.scenario.loading import load_scenario, load_scenario_file
from itest.lambdas.scenario.models import Capture, Scenario
from itest.lambdas.scenario.schema import scenario_json_schema

GOOD = """
name: orders-happy-path
description: Create an order and follow it
tags: [smoke, orders]
timeout_seconds: 300
vars:
  api: "{{ vars.api_url }}"
  order_id: "itest-{{ run_id }}"
  when: 2024-01-01
secrets:
  token: ssm:/orders/api-token
steps:
  - name: create order
    action: http
    with:
      method: post
      url: "{{ vars.api }}/orders"
      headers: {Authorization: "Bearer {{ secret.token }}"}
      json: {id: "{{ vars.order_id }}", qty: 2}
      timeout: "{{ vars.timeout }}"
    expect:
      - {path: status, equals: 201}
      - {path: json, subset: {id: "{{ vars.order_id }}"}}
      - {path: json.note, equals: null}
    capture:
      created_at: json.created_at
  - name: order stored
    action: dynamodb.get_item
    with: {table: orders, key: {pk: "{{ vars.order_id }}"}}
    expect:
      - {path: item.status, equals: PENDING}
    retry: {timeout_seconds: 60, interval_seconds: 2, backoff: 1.5}
    stop_if:
      - {path: item.status, equals: FAILED}
    cleanup:
      action: dynamodb.delete_item
      with: {table: orders, key: {pk: "{{ vars.order_id }}"}}
assertions:
  - {path: vars.created_at, exists: true}
cleanup:
  - action: http
    with: {method: DELETE, url: "{{ vars.api }}/orders/{{ vars.order_id }}"}
"""


def problems_of(text: str, source: str = "s.yaml") -> list[dict[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(text, source=source)
    assert all(p["file"] == source for p in caught.value.problems)
    return caught.value.problems


def messages(problems: list[dict[str, str]]) -> dict[str, str]:
    return {p["location"]: p["message"] for p in problems}


def with_steps(steps: str, extra: str = "") -> str:
    return f"name: t\n{extra}steps:\n{steps}"


def test_good_scenario_loads_with_its_details() -> None:
    scenario = load_scenario(GOOD, source="good.yaml")

    assert scenario.name == "orders-happy-path"
    assert list(scenario.vars) == ["api", "order_id", "when"]
    assert scenario.vars["when"] == "2024-01-01"  # YAML dates stay text
    first, second = scenario.steps
    assert first.with_["method"] == "post"
    assert first.expect[0].matchers() == {"equals": 201}
    assert first.expect[2].matchers() == {"equals": None}  # null is a real expectation
    assert first.capture == {"created_at": Capture(path="json.created_at")}
    assert second.retry is not None and second.retry.backoff == 1.5
    assert second.cleanup is not None and second.cleanup.action == "dynamodb.delete_item"
    assert scenario.step_names == ["create order", "order stored"]


def test_normalized_json_round_trips() -> None:
    scenario = load_scenario(GOOD, source="good.yaml")

    text = scenario.to_json()
    again = load_scenario(text, source="s3://bucket/key.json")

    assert again == scenario
    assert again.to_json() == text
    data = json.loads(text)
    assert data["steps"][0]["with"]["json"] == {"id": "{{ vars.order_id }}", "qty": 2}
    assert data["steps"][0]["expect"][2] == {"path": "json.note", "equals": None}
    assert "not_equals" not in data["steps"][0]["expect"][0]


def test_json_input_is_accepted() -> None:
    text = json.dumps(
        {"name": "j", "steps": [{"name": "a", "action": "http", "with": {"url": "http://x"}}]}
    )
    assert load_scenario(text, source="j.json").steps[0].with_ == {"url": "http://x"}


def test_file_loader_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: UPPER\nsteps: []\n")

    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)

    assert {p["file"] for p in caught.value.problems} == {str(path)}
    assert str(path) in str(caught.value)


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("   \n\n", "the file is empty"),
        ("# only a comment\n", "holds no scenario"),
        ("# comment\n---\n", "holds no scenario"),
        ("- a\n- b\n", "got array"),
        ("just text", "got string"),
        ("name: [1\n", "invalid YAML"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ('{"name": "x",}', "invalid JSON"),
        ('{"name": "x", "name": "y"}', "duplicate key 'name'"),
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "nests more than 64 levels"),
        ("a: " + "[" * 5000 + "]" * 5000, "nests more than 64 levels"),
        ("n: " + "9" * 5000, "invalid YAML: Exceeds the limit (4300 digits)"),
    ],
)
def test_unparseable_input_is_a_scenario_error(text: str, fragment: str) -> None:
    problems = problems_of(text, "s.json" if text.startswith("{") else "s.yaml")
    assert len(problems) == 1
    assert fragment in problems[0]["message"]


def test_yaml_errors_point_at_line_and_column() -> None:
    (problem,) = problems_of("name: x\nsteps:\n  - name: [a\n")
    assert problem["location"].startswith("line ")


def test_every_problem_is_reported_with_its_location() -> None:
    text = with_steps(
        """\
  - name: create order
    action: htp
  - name: second
    action: http
    with: {methd: POST, timeout: abc}
    expct: []
    expect:
      - {path: "status[", equals: 1}
      - {path: status}
      - {path: status, gt: [1]}
    retry: {timeout_seconds: -1}
    capture: {a: "json.["}
""",
    ).replace("name: t", "name: Bad_Name")

    found = messages(problems_of(text))

    assert "expected text matching" in found["name"]
    assert "unknown action 'htp' (did you mean 'http'?)" in found["steps['create order'].action"]
    assert "known actions: dynamodb.delete_item" in found["steps['create order'].action"]
    assert "incomplete" in found["steps['second'].expect[0].path"]
    assert "has no matcher" in found["steps['second'].expect[1]"]
    assert "number or a string" in found["steps['second'].expect[2].gt"]
    assert "incomplete" in found["steps['second'].capture.a"]
    assert "> 0" in found["steps['second'].retry.timeout_seconds"]
    assert "did you mean 'expect'?" in found["steps['second']"]
    assert found["steps['second'].with.timeout"] == "expected a number, got string 'abc'"


def test_unknown_param_and_missing_required_param_are_both_reported() -> None:
    text = with_steps("  - {name: a, action: http, with: {methd: POST}}\n")

    found = [p["message"] for p in problems_of(text) if p["location"] == "steps['a'].with"]

    assert "'url' is required" in found
    assert any(m.startswith("unknown field 'methd'; did you mean 'method'?") for m in found)


def test_templated_params_are_type_checked_only_after_rendering() -> None:
    text = with_steps(
        "  - name: a\n    action: http\n"
        '    with: {url: "{{ vars.u }}", timeout: "{{ vars.t }}", headers: "{{ vars.h }}"}\n'
    )
    assert load_scenario(text, source="s.yaml").steps[0].with_["timeout"] == "{{ vars.t }}"


def test_bad_url_literal_is_caught_before_the_run() -> None:
    text = with_steps("  - {name: a, action: http, with: {url: example.com/x}}\n")
    assert "absolute http://" in messages(problems_of(text))["steps['a'].with.url"]


def test_duplicate_step_names_are_located_by_index() -> None:
    text = with_steps(
        "  - {name: a, action: http, with: {url: 'http://x'}}\n"
        "  - {name: a, action: http, with: {url: 'http://x'}}\n"
    )
    assert messages(problems_of(text))["steps[1].name"] == "duplicate step name 'a' (also steps[0])"


def test_retry_needs_expect() -> None:
    text = with_steps(
        "  - {name: a, action: dynamodb.get_item, with: {table: t, key: {pk: x}},"
        " retry: {timeout_seconds: 5}}\n"
    )
    assert "add 'expect'" in messages(problems_of(text))["steps['a'].retry"]


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ vars.x", "not closed"),
        ("{{ }}", "empty template"),
        ("{{ vars.[ }}", "invalid expression"),
        ("{{ var.x }}", "unknown name 'var'"),
        ("{{ secret.nope }}", "secret 'nope' is not in 'secrets'"),
    ],
)
def test_bad_templates_are_caught(template: str, fragment: str) -> None:
    text = with_steps(f'  - {{name: a, action: http, with: {{url: "http://x/{template}"}}}}\n')
    assert fragment in messages(problems_of(text))["steps['a'].with.url"]


def test_vars_cannot_use_secrets_or_steps() -> None:
    text = with_steps(
        "  - {name: a, action: http, with: {url: 'http://x'}}\n",
        extra='vars:\n  a: "{{ secret.token }}"\n  b: "{{ steps.a }}"\n',
    )
    found = messages(problems_of(text))
    assert "templates here can use run_id, vars, now" in found["vars.a"]
    assert "unknown name 'steps'" in found["vars.b"]


def test_a_step_names_only_earlier_steps_and_the_reads_follow_the_names() -> None:
    text = with_steps(
        '  - {name: a, action: http, with: {url: "http://x/{{ steps.b.status }}"}}\n'
        '  - {name: b, action: http, with: {url: "http://x/{{ steps.a.result.json.id }}"}}\n'
        '  - {name: c, action: http, with: {url: "http://x/{{ join(\',\', keys(steps)) }}"}}\n'
    )
    found = messages(problems_of(text))
    assert found == {
        "steps['a'].with.url": "{{ steps.b.status }}: no earlier step is named 'b' (a step "
        "sees the steps before it: none)"
    }
    fixed = load_scenario(text.replace("steps.b.status", "vars.x || ''"), source="t.yaml")
    assert [fixed.steps_read_by(i) for i in range(3)] == [[], [0], None]  # None: all


def test_templates_in_expectations_cleanups_and_assertions_are_checked() -> None:
    text = with_steps(
        "  - name: a\n    action: http\n    with: {url: 'http://x'}\n"
        '    expect: [{path: status, equals: "{{ nope }}"}]\n'
        '    cleanup: {action: http, with: {url: "{{ vars.u"}}\n',
        extra="",
    ) + (
        'assertions: [{path: vars.a, equals: "{{ vars.[ }}"}]\n'
        'cleanup: [{action: http, with: {url: "{{ bad }}"}}]\n'
    )
    found = messages(problems_of(text))
    assert "unknown name 'nope'" in found["steps['a'].expect[0].equals"]
    assert "not closed" in found["steps['a'].cleanup.with.url"]
    assert "invalid expression" in found["assertions[0].equals"]
    assert "unknown name 'bad'" in found["cleanup[0].with.url"]


def test_secret_specs_and_names_are_checked() -> None:
    text = with_steps(
        "  - {name: a, action: http, with: {url: 'http://x'}}\n",
        extra="secrets:\n  token: /orders/token\n",
    )
    assert "ssm:<parameter name>" in messages(problems_of(text))["secrets"]


def test_matcher_values_are_checked() -> None:
    text = with_steps(
        "  - name: a\n    action: http\n    with: {url: 'http://x'}\n    expect:\n"
        "      - {path: status, exists: yes-please}\n"
        "      - {path: status, type: text}\n"
        "      - {path: status, length: -1}\n"
        "      - {path: status, one_of: 3}\n"
        "      - {path: status, matches: '('}\n"
        "      - {path: status, equal: 3}\n"
    )
    found = messages(problems_of(text))
    assert "true or false" in found["steps['a'].expect[0].exists"]
    assert "'string'" in found["steps['a'].expect[1].type"]
    assert ">= 0" in found["steps['a'].expect[2].length"]
    assert "list of choices" in found["steps['a'].expect[3].one_of"]
    assert "invalid regular expression" in found["steps['a'].expect[4].matches"]
    assert "did you mean 'equals'?" in found["steps['a'].expect[5]"]


def test_non_json_yaml_values_are_rejected() -> None:
    text = with_steps("  - {name: a, action: http, with: {url: 'http://x', 1: b}}\n")
    assert "keys must be text" in messages(problems_of(text))["steps['a'].with"]


def test_no_steps_is_an_error() -> None:
    assert "at least 1" in messages(problems_of("name: t\nsteps: []\n"))["steps"]


def test_the_expectation_model_has_a_field_for_each_registered_matcher() -> None:
    properties = Expectation.model_json_schema(by_alias=True)["properties"]
    assert list(properties) == ["path", *MATCHERS]


def test_json_schema_enumerates_actions_and_uses_aliases() -> None:
    schema = scenario_json_schema()

    step = schema["$defs"]["Step"]["properties"]
    names, aws = step["action"]["anyOf"]
    assert names["enum"] == sorted(ACTIONS)
    assert aws["pattern"].startswith("^aws")
    assert "with" in step and "with_" not in step
    assert "schema" in schema["$defs"]["Expectation"]["properties"]
    assert schema["required"] == ["name", "steps"]
    json.dumps(schema)  # serializable as is


def test_json_schema_checks_the_keys_of_each_action() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = scenario_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    good = json.loads(load_scenario(GOOD, source="good.yaml").to_json())
    bad = copy.deepcopy(good)
    bad["steps"][0]["with"]["methd"] = "POST"
    del bad["steps"][1]["with"]["key"]

    assert list(validator.iter_errors(good)) == []
    errors = {e.message for e in validator.iter_errors(bad)}
    assert any("'methd' was unexpected" in m for m in errors)
    assert any("'key' is a required property" in m for m in errors)


def test_model_accepts_python_names_too() -> None:
    scenario = Scenario.model_validate(
        {"name": "p", "steps": [{"name": "a", "action": "http", "with_": {"url": "http://x"}}]}
    )
    assert scenario.steps[0].with_ == {"url": "http://x"}


def test_a_yaml_file_may_be_one_flow_mapping() -> None:
    text = "{name: flow, steps: [{name: a, action: wait, with: {seconds: 1}}]}"
    assert load_scenario(text, source="s.yaml").name == "flow"
    assert "invalid JSON" in problems_of(text, "s.json")[0]["message"]


def test_the_json_schema_accepts_every_shipped_file_and_names_aws_calls() -> None:
    """`itest schema` covers what people write: scenarios with matrix and include
    steps, and fragment files."""
    import yaml
    from itest.cli.authoring import authoring_schema

    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(authoring_schema())
    shipped = sorted((Path(__file__).parents[2] / "scenarios").rglob("*.yaml"))
    assert any(p.parent.name == "fragments" for p in shipped)
    for path in shipped:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path.name, [e.message for e in errors])
    bad = {"name": "x", "steps": [{"name": "a", "action": "aws.SQS", "with": {}}]}
    assert list(validator.iter_errors(bad))
    bad_matrix = {"name": "x", "matrix": {"qty": []}, "steps": [{"include": "f.yaml"}]}
    assert list(validator.iter_errors(bad_matrix))
    bad_fragment = {"kind": "fragment", "params": {"a": {"defualt": 1}}, "steps": []}
    assert len(list(validator.iter_errors(bad_fragment))) >= 2
