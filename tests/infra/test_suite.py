"""The suite state machine (infra/suite.py) in the synthesized stack, by properties."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import state_machine


def _definition(machine: dict[str, Any]) -> dict[str, Any]:
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))


def _role_statements(template, machine: dict[str, Any]) -> list[dict[str, Any]]:
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_suite_maps_scenarios_to_child_executions_and_fails_when_any_failed(template):
    scenario_id, _ = state_machine(template)
    _, suite = state_machine(template, "RunScenarios")
    states = _definition(suite)["States"]
    runs = states["RunScenarios"]
    assert runs["ItemsPath"] == "$.scenarios"
    assert runs["MaxConcurrency"] == 10
    child = runs["ItemProcessor"]["States"]["RunScenario"]
    assert child["Resource"].endswith(":states:::states:startExecution.sync:2")
    assert child["Parameters"]["Name.$"] == "$.run_id"
    assert child["Parameters"]["Input"] == {"scenario.$": "$.scenario", "vars.$": "$.vars"}
    parts = suite["Properties"]["DefinitionString"]["Fn::Join"][1]
    assert {"Ref": scenario_id} in parts  # the scenario state machine, and no other
    # every scenario runs whatever the others do: a child's end is caught in its iteration
    assert [c["ErrorEquals"] for c in child["Catch"]] == [["States.TaskFailed"], ["States.ALL"]]
    assert states["Verdict"]["Choices"][0]["Next"] == "Failed"
    assert states["Failed"] == {"Type": "Fail", "Error": "SuiteFailed", "CausePath": "$.cause"}


def test_suite_role_starts_and_reads_only_the_scenario_state_machine(template):
    scenario_id, _ = state_machine(template)
    _, suite = state_machine(template, "RunScenarios")
    statements = _role_statements(template, suite)
    by_action: dict[str, list[Any]] = {}
    for statement in statements:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            by_action.setdefault(action, []).append(statement["Resource"])
    assert by_action["states:StartExecution"] == [{"Ref": scenario_id}]
    for action in ("states:DescribeExecution", "states:StopExecution"):
        (resource,) = by_action[action]
        assert ":execution:" in json.dumps(resource)  # executions of that machine only
        assert scenario_id in json.dumps(resource)
    events = {a for a in by_action if a.startswith("events:")}
    assert events == {"events:PutTargets", "events:PutRule", "events:DescribeRule"}
    for action in events:
        (resource,) = by_action[action]
        assert "StepFunctionsGetEventsForStepFunctionsExecutionRule" in json.dumps(resource)
    states_actions = {a for a in by_action if a.startswith("states:")}
    assert states_actions == {
        "states:StartExecution", "states:DescribeExecution", "states:StopExecution"
    }
    for action, resources in by_action.items():
        telemetry = action.startswith(("xray:", "logs:"))  # no resource-level permissions
        assert telemetry or "*" not in resources, action


def test_suite_logs_without_execution_data_and_is_an_output(template):
    _, suite = state_machine(template, "RunScenarios")
    assert suite["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert suite["Properties"]["TracingConfiguration"] == {"Enabled": True}
    outputs = template.to_json()["Outputs"]
    assert "SuiteStateMachineArn" in outputs
