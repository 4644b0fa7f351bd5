"""The names a template may use are the ones the engine gives it (one definition:
lambdas/template_context.py), for step templates and for vars and listeners."""

from __future__ import annotations

import json

import pytest
from itest.lambdas import states
from itest.lambdas.errors import ScenarioError, TemplateError
from itest.lambdas.expressions import render_vars
from itest.lambdas.results.records import RunContext
from itest.lambdas.scenario.loading import load_scenario
from itest.lambdas.template_context import START_NAMES, STEP_NAMES


def test_the_engine_builds_a_step_context_of_exactly_the_names_validation_allows() -> None:
    earlier: RunContext = {"vars": {}, "steps": {}, "started_at": None, "captured_bytes": 0}
    context = states.run_context("r-1", {}, 0.0, earlier, attempt_id="a-1")
    assert tuple(context) == STEP_NAMES


def test_vars_see_the_start_names_and_no_other() -> None:
    rendered = render_vars({n: f"{{{{ {n} }}}}" for n in START_NAMES if n != "vars"}, {},
                           run_id="r-1", now="2026-01-01T00:00:00Z")  # fmt: skip
    assert rendered["run_id"] == "r-1"
    for name in set(STEP_NAMES) - set(START_NAMES):
        with pytest.raises(TemplateError):
            render_vars({"x": f"{{{{ {name}.a }}}}"}, {}, run_id="r-1", now="now")


def scenario(**fields: object) -> str:
    step = {"name": "get", "action": "http", "with": {"url": "https://example.com"}}
    return json.dumps({"name": "names", "steps": [step], **fields})


def templates(names: tuple[str, ...]) -> dict[str, str]:
    return {name: f"{{{{ {name} }}}}" for name in names}


def test_validation_allows_the_step_names_in_a_step_and_the_start_names_in_vars() -> None:
    body = {"method": "POST", "url": "https://example.com", "json": templates(STEP_NAMES)}
    step = {"name": "get", "action": "http", "with": body}
    load_scenario(json.dumps({"name": "names", "steps": [step]}), source="t.json")
    load_scenario(scenario(vars=templates(START_NAMES)), source="t.json")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario(vars={"x": "{{ attempt_id }}"}), source="t.json")
    (problem,) = caught.value.problems
    assert f"templates here can use {', '.join(START_NAMES)}" in problem["message"]
