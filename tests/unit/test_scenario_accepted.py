"""A later state reads the object Prepare checked into its model only, and a text the
model refuses after all is reported as `load_scenario` reports it."""

from __future__ import annotations

import json

import pytest
from itest.lambdas.errors import ScenarioError
from itest.lambdas.scenario.loading import load_accepted, load_scenario

SCENARIO = {
    "name": "accepted",
    "vars": {"base": "http://127.0.0.1:1"},
    "steps": [
        {"name": "create", "action": "http",
         "with": {"method": "POST", "url": "{{ vars.base }}/items", "json": {"n": 1}},
         "expect": [{"path": "status", "equals": 201},
                    {"path": "json.n", "one_of": [1, 2], "type": "number"}],
         "capture": {"id": "json.id"}},
        {"name": "read", "action": "http", "with": {"url": "{{ vars.base }}/{{ vars.id }}"},
         "expect": [{"path": 'json."n"', "equals": '{{ steps."create".result.json.n }}'}],
         "retry": {"timeout_seconds": 30}},
    ],
    "assertions": [{"path": 'steps."read".status', "equals": "passed"}],
}  # fmt: skip


def test_an_accepted_scenario_reads_into_the_same_model() -> None:
    text = load_scenario(json.dumps(SCENARIO), source="s.json").to_json()  # as the CLI uploads

    accepted = load_accepted(text, source="s3://b/scenarios/accepted/x.json")

    assert accepted == load_scenario(text, source="s3://b/scenarios/accepted/x.json")
    expected = '{{ steps."create".result.json.n }}'
    assert accepted.steps[1].expect[0].matchers() == {"equals": expected}
    assert accepted.steps_read_by(1) == [0]


def test_a_text_the_model_refuses_is_reported_in_full() -> None:
    bad = {**SCENARIO, "steps": [{**SCENARIO["steps"][0], "action": "htp"}], "timeout_seconds": 0}

    with pytest.raises(ScenarioError) as accepted:
        load_accepted(json.dumps(bad), source="s3://b/k.json")
    with pytest.raises(ScenarioError) as checked:
        load_scenario(json.dumps(bad), source="s3://b/k.json")

    assert accepted.value.problems == checked.value.problems
    assert any(p["location"] == "timeout_seconds" for p in accepted.value.problems)


def test_a_yaml_object_is_read_as_load_scenario_reads_it() -> None:
    text = "name: yaml\nsteps:\n  - {name: wait, action: wait, with: {seconds: 1}}\n"

    assert load_accepted(text, source="s3://b/k.yaml").name == "yaml"
