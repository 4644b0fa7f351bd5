"""Whatever text or data reaches the loader, the only error is a ScenarioError (a list of
problems the CLI prints with exit code 2), never a traceback."""

from __future__ import annotations

import json
import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itest.lambdas.actions.registry import ACTIONS
from itest.lambdas.errors import ScenarioError
from itest.lambdas.matchers import MATCHERS
from itest.lambdas.scenario.loading import load_scenario
from itest.lambdas.scenario.models import Scenario

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["{{ vars.x }}", "{{", "}}", "{{ steps.a.b[0] }}", "{{ secret.t }}", "@"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
names = st.sampled_from([*ACTIONS, "aws.sqs.send_message", "aws.s3.nope", "aws.x", "http.get"])
params = st.dictionaries(
    st.sampled_from(
        [
            "url",
            "method",
            "table",
            "key",
            "item",
            "bucket",
            "seconds",
            "json",
            "QueueUrl",
            "MessageBody",
            "function",
            "payload",
            "set",
            "update",
            "form",
        ]
    ),
    json_values,
    max_size=4,
)
expectations = st.lists(
    st.fixed_dictionaries(
        {
            "path": st.sampled_from(["status", "json.id", "json.[", "@", "items[?x > `1`]"])
            | st.text(max_size=10)
        },
        optional={m: json_values for m in MATCHERS},
    ),
    max_size=3,
)
steps = st.lists(
    st.fixed_dictionaries(
        {"name": st.text(max_size=10) | st.sampled_from(["a", "b"]), "action": names},
        optional={
            "with": params,
            "expect": expectations,
            "stop_if": expectations,
            "capture": st.dictionaries(st.text(max_size=6), st.text(max_size=10), max_size=2),
            "retry": st.fixed_dictionaries(
                {},
                optional={
                    "timeout_seconds": json_values,
                    "interval_seconds": st.floats(-1, 1e6),
                    "backoff": st.floats(0, 20),
                },
            ),
            "cleanup": st.fixed_dictionaries({"action": names}, optional={"with": params}),
        },
    ),
    max_size=4,
)
scenarios = st.fixed_dictionaries(
    {"name": st.sampled_from(["ok-name", "Bad Name", ""]) | st.text(max_size=10), "steps": steps},
    optional={
        "timeout_seconds": st.integers(-5, 10**6) | json_values,
        "vars": st.dictionaries(st.text(max_size=6), json_values, max_size=3),
        "secrets": st.dictionaries(
            st.text(max_size=6), st.sampled_from(["ssm:/a", "x", "secretsmanager:s"]), max_size=2
        ),
        "assertions": expectations,
        "cleanup": st.lists(st.fixed_dictionaries({"action": names}, optional={"with": params})),
        "extra": json_values,
    },
)
yaml_text = st.text(
    alphabet=string.ascii_letters + string.digits + " \t\n:-[]{}!&*|>'\"#%@`?,.~\\\x00é",
    max_size=200,
)


def loads_or_rejects(text: str, source: str) -> None:
    try:
        scenario = load_scenario(text, source=source)
    except ScenarioError as error:
        assert error.problems, "a ScenarioError always lists its problems"
        for problem in error.problems:
            assert problem["file"] == source and problem["message"]
        return
    assert isinstance(scenario, Scenario)


@SETTINGS
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    loads_or_rejects(text, "s.yaml")
    loads_or_rejects(text, "s.json")


@SETTINGS
@given(yaml_text)
def test_yaml_shaped_text(text: str) -> None:
    loads_or_rejects(text, "s.yaml")


@SETTINGS
@given(json_values)
def test_any_json_value(value: object) -> None:
    loads_or_rejects(json.dumps(value), "s.json")
    loads_or_rejects(yaml.safe_dump(value), "s.yaml")


@SETTINGS
@given(scenarios)
def test_scenario_shaped_data(data: dict) -> None:
    loads_or_rejects(json.dumps(data), "s.json")
    loads_or_rejects(yaml.safe_dump(data, allow_unicode=True), "s.yaml")
