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
    _, suite = state_machine(template, "Concurrency")
    states = _definition(suite)["States"]
    runs = states["RunScenarios"]
    # a distributed Map reads the list from the bucket, as wide as the input says
    assert runs["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"
    }
    assert runs["ItemReader"]["Parameters"]["Key.$"] == "$.scenarios_key"
    assert runs["MaxConcurrencyPath"] == "$.max_concurrency"
    assert states["DefaultConcurrency"]["Result"] == 10  # itest:suiteMaxConcurrency
    assert states["Concurrency"]["Choices"][0]["Variable"] == "$.max_concurrency"
    processor = runs["ItemProcessor"]["States"]
    assert processor["Named"]["Default"] == "NameRun"  # a pipeline's list has no run ids
    child = processor["RunScenario"]
    assert child["Resource"].endswith(":states:::states:startExecution.sync:2")
    assert child["Parameters"]["Name.$"] == "$.run_id"
    assert child["Parameters"]["Input"] == {"scenario.$": "$.scenario", "vars.$": "$.vars"}
    parts = suite["Properties"]["DefinitionString"]["Fn::Join"][1]
    assert {"Ref": scenario_id} in parts  # the scenario state machine, and no other
    # every scenario runs whatever the others do: a child's end is caught in its iteration
    assert [c["ErrorEquals"] for c in child["Catch"]] == [["States.TaskFailed"], ["States.ALL"]]
    assert states["Verdict"]["Choices"][0]["Next"] == "FailedLines"
    assert states["Failed"] == {"Type": "Fail", "Error": "SuiteFailed", "CausePath": "$.cause"}


def test_suite_role_starts_and_reads_only_the_scenario_state_machine(template):
    scenario_id, _ = state_machine(template)
    suite_id, suite = state_machine(template, "Concurrency")
    statements = _role_statements(template, suite)
    by_action: dict[str, list[Any]] = {}
    for statement in statements:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            by_action.setdefault(action, []).append(statement["Resource"])
    # the scenario state machine's children, and the distributed Map's own map runs
    assert by_action["states:StartExecution"] == [{"Ref": scenario_id}, {"Ref": suite_id}]
    for action in ("states:DescribeExecution", "states:StopExecution"):
        resources = by_action[action]
        assert all(":execution:" in json.dumps(resource) for resource in resources)
        assert [scenario_id in json.dumps(r) for r in resources] == [True, False]
        assert [suite_id in json.dumps(r) for r in resources] == [False, True]
    (redrive,) = by_action["states:RedriveExecution"]  # the map runs' items only
    assert suite_id in json.dumps(redrive)
    events = {a for a in by_action if a.startswith("events:")}
    assert events == {"events:PutTargets", "events:PutRule", "events:DescribeRule"}
    for action in events:
        (resource,) = by_action[action]
        assert "StepFunctionsGetEventsForStepFunctionsExecutionRule" in json.dumps(resource)
    states_actions = {a for a in by_action if a.startswith("states:")}
    assert states_actions == {
        "states:StartExecution", "states:DescribeExecution", "states:StopExecution",
        "states:RedriveExecution",
    }
    (suite_list,) = by_action["s3:GetObject"]  # the suite lists, not the whole bucket
    assert json.dumps(suite_list).endswith('"/suites/*"]]}')
    assert {a for a in by_action if a.startswith("s3:")} == {"s3:GetObject"}
    for action, resources in by_action.items():
        telemetry = action.startswith(("xray:", "logs:"))  # no resource-level permissions
        assert telemetry or "*" not in resources, action


def test_distributed_map_policy_is_the_suites_own_executions(template):
    suite_id, _ = state_machine(template, "Concurrency")
    (policy,) = [
        p for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("SuiteStateMachineDistributedMapPolicy")
    ]
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Action"] != "*" and suite_id in json.dumps(statement["Resource"])


def test_runner_may_upload_suite_lists_and_start_the_suite(template):
    suite_id, _ = state_machine(template, "Concurrency")
    (runner,) = [
        p for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("RunnerRoleDefaultPolicy")
    ]
    statements = runner["Properties"]["PolicyDocument"]["Statement"]
    lists = [s for s in statements if s["Action"] == ["s3:PutObject", "s3:GetObject"]]
    assert len(lists) == 1 and json.dumps(lists[0]["Resource"]).endswith('"/suites/*"]]}')
    starts = [s for s in statements if s["Action"] == "states:StartExecution"]
    assert {"Ref": suite_id} in [s["Resource"] for s in starts]
    scenario_id, _ = state_machine(template)
    lists = [s["Resource"] for s in statements if s["Action"] == "states:ListExecutions"]
    assert lists == [{"Ref": scenario_id}]  # the children, found in one listing


def test_suite_logs_without_execution_data_and_is_an_output(template):
    _, suite = state_machine(template, "Concurrency")
    assert suite["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert suite["Properties"]["TracingConfiguration"] == {"Enabled": True}
    outputs = template.to_json()["Outputs"]
    assert "SuiteStateMachineArn" in outputs


def test_alarm_and_dashboard_count_suites(template):
    suite_id, _ = state_machine(template, "Concurrency")
    (alarm,) = template.find_resources("AWS::CloudWatch::Alarm").values()
    watched = [
        (m["MetricStat"]["Metric"]["MetricName"],
         m["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
        for m in alarm["Properties"]["Metrics"] if "MetricStat" in m
    ]
    assert ("ExecutionsFailed", {"Ref": suite_id}) in watched
    assert ("ExecutionsTimedOut", {"Ref": suite_id}) in watched
    (expression,) = [m["Expression"] for m in alarm["Properties"]["Metrics"] if "Expression" in m]
    assert expression == "failed + timedOut + suitesFailed + suitesTimedOut"
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert '\\"title\\":\\"Suites\\"' in body and '\\"title\\":\\"Suite duration\\"' in body
    assert suite_id in body
