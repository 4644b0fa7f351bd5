"""The action registry's traits: validation and the engine ask them, never an action's name."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from itest.lambdas.actions.http import FAILURE_STATUS
from itest.lambdas.actions.registry import (
    ACTIONS,
    FAMILIES,
    action,
    find_action,
    get_action,
)
from itest.lambdas.errors import ScenarioError
from itest.lambdas.matchers import MATCHERS
from itest.lambdas.scenario.expectation import Expectation
from itest.lambdas.scenario.loading import load_scenario
from itest.lambdas.scenario.schema import scenario_json_schema
from itest.lambdas.validation import Strict


class PauseParams(Strict):
    seconds: float
    listener: str


@pytest.fixture
def pause() -> Iterator[str]:
    """A made-up action that waits and names a listener, registered for one test."""
    name = "test.pause"
    action(name, params=PauseParams, waits=True, names_listener=True)(lambda params: {})
    get_action.cache_clear()
    yield name
    del ACTIONS[name]
    get_action.cache_clear()


def problems(text: str) -> dict[str, str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(text, source="s.yaml")
    return {p["location"]: p["message"] for p in caught.value.problems}


def test_a_new_waiting_action_gets_every_wait_rule_from_its_traits(pause: str) -> None:
    found = problems(f"""
name: t
timeout_seconds: 30
listeners: {{orders: {{sns: {{topic: "arn:aws:sns:eu-west-1:1:t"}}}}}}
steps:
  - name: p
    action: {pause}
    with: {{seconds: 60, listener: order}}
    retry: {{timeout_seconds: 5}}
cleanup:
  - action: {pause}
    with: {{seconds: 1, listener: orders}}
""")
    assert "a test.pause step takes no 'retry'" in found["steps['p'].retry"]
    assert found["steps['p'].with.seconds"].startswith("a test.pause window of 60 s")
    assert found["steps['p'].with.listener"].startswith("unknown listener 'order'")
    assert found["cleanup[0].action"].startswith("a cleanup cannot wait")


def test_cleanup_refusals_follow_waits_and_scoped() -> None:
    for name, spec in ACTIONS.items():
        refusal = spec.cleanup_refusal
        assert (refusal is not None) == (spec.waits or spec.scoped), name
    assert get_action("wait").cleanup_refusal.startswith("a cleanup cannot wait")
    assert get_action("listener.receive").cleanup_refusal == (
        "listener.receive runs only as a step, not as a cleanup"
    )
    assert get_action("aws.sqs.send_message").cleanup_refusal is None


def test_actions_that_name_a_listener_take_one() -> None:
    naming = {name for name, spec in ACTIONS.items() if spec.names_listener}
    assert naming == {"listener.receive", "listener.absent"}
    for name in naming:
        assert "listener" in ACTIONS[name].params.model_fields


def test_http_says_what_success_is_without_expect() -> None:
    http = get_action("http")
    assert http.success is not None and http.unchecked
    assert http.success({"status": FAILURE_STATUS - 1}) is None
    assert "status 403" in (http.success({"status": 403}) or "")
    assert all(spec.success is None for name, spec in ACTIONS.items() if name != "http")


def test_find_action_is_none_for_what_names_no_action() -> None:
    assert find_action("wait") is get_action("wait")
    assert find_action("nope") is None and find_action(3) is None
    assert find_action("aws.sqs.send_message") is not None


def test_the_schema_takes_family_patterns_from_the_registry() -> None:
    step = scenario_json_schema()["$defs"]["Step"]["properties"]["action"]
    patterns = [p["pattern"] for p in step["anyOf"][1:]]
    assert patterns == [f"^{family.names.pattern}$" for family in FAMILIES.values()]
    assert all(re.fullmatch(p, "aws.sqs.send_message") for p in patterns)


def test_a_matcher_is_a_key_of_the_expectation_model_because_it_is_registered() -> None:
    expectation: Any = Expectation.model_validate({"path": "a", "gt": 1, "schema": {}})
    assert expectation.matchers() == {"gt": 1, "schema": {}}
    assert all(name in Expectation.model_json_schema(by_alias=True)["properties"]
               for name in MATCHERS)


def _names_an_action(node: ast.AST) -> bool:
    """``x.action``, ``x["action"]`` or ``x.get("action")``, maybe inside ``str(...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        node = node.args[0]  # str(step.get("action", ""))
    if isinstance(node, ast.Attribute):
        return node.attr == "action"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "action"
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get" and bool(node.args)
        and isinstance(node.args[0], ast.Constant) and node.args[0].value == "action"
    )  # fmt: skip


def _compares_an_action_name(node: ast.AST) -> bool:
    """``<action name> == "wait"`` (or !=, in) and ``<action name>.startswith("listener.")``."""
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        literal = any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides)
        return literal and any(_names_an_action(side) for side in sides)
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("startswith", "endswith") and _names_an_action(node.func.value)
    )  # fmt: skip


def test_no_code_compares_an_action_name_with_a_literal() -> None:
    """The engine, validation and the CLI ask the registry's traits instead (before the
    traits, five places did: lambdas/model.py three times, cleanup_intent.py, cli/scenarios.py)."""
    root = Path(__file__).resolve().parents[2]
    found = [
        f"{file.relative_to(root)}:{node.lineno}"
        for package in ("lambdas", "cli", "infra")
        for file in (root / package).rglob("*.py")
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
        if _compares_an_action_name(node)
    ]
    assert found == []
