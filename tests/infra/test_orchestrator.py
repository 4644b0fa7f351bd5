"""The orchestrator stack, checked by properties (never by hashed logical ids)."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.infra.conftest import state_machine


def _definition(template) -> dict:
    """The state machine's ASL, with CloudFormation references replaced by markers."""
    _, machine = state_machine(template)
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))


def test_state_machine_has_the_designed_shape(template):
    asl = _definition(template)
    assert asl["StartAt"] == "Prepare"
    states = asl["States"]
    assert states["Prepare"]["Next"] == "RunSteps"
    assert states["RunSteps"]["Next"] == "Assert"
    assert states["Assert"]["Next"] == "Cleanup"
    assert states["Cleanup"]["Next"] == "Verdict"
    assert states["RunSteps"]["MaxConcurrency"] == 1
    assert states["RunSteps"]["ItemsPath"] == "$.steps"
    assert states["RunSteps"]["ResultPath"] is None
    # the hard stop leaves room past the longest scenario (3600 s) for the last
    # Action (120 s), Assert (30 s) and Cleanup (120 s), plus a minute
    assert asl["TimeoutSeconds"] == 3600 + 120 + 30 + 120 + 60


def test_every_state_but_cleanup_catches_into_cleanup(template):
    states = _definition(template)["States"]
    for name in ("Prepare", "RunSteps", "Assert"):
        (catch,) = states[name]["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Cleanup"}
    # Cleanup is retried when its Lambda died (the next invocation takes over), and
    # what no retry fixes ends the execution FAILED (the status-change rule cleans up)
    (catch,) = states["Cleanup"]["Catch"]
    assert catch == {
        "ErrorEquals": ["States.ALL"], "ResultPath": "$.cleanup", "Next": "CleanupFailed"
    }  # fmt: skip
    assert states["CleanupFailed"] == {
        "Type": "Fail", "Error": "CleanupFailed", "CausePath": "$.cleanup.Cause"
    }  # fmt: skip
    retried = [r["ErrorEquals"] for r in states["Cleanup"]["Retry"]]
    assert ["Sandbox.Timedout", "Runtime.ExitError", "Lambda.Unknown"] in retried


def test_every_task_retries_transient_storage_errors_with_backoff(template):
    states = _definition(template)["States"]
    tasks = [states[n] for n in ("Prepare", "Assert", "Cleanup")]
    tasks.append(states["RunSteps"]["ItemProcessor"]["States"]["Action"])
    for task in tasks:
        (retry,) = [r for r in task["Retry"] if "TransientError" in r["ErrorEquals"]]
        assert retry["ErrorEquals"] == ["TransientError", "CleanupUnfinished"]
        assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (2, 5, 2)


def test_iteration_polls_through_choice_and_wait(template):
    iteration = _definition(template)["States"]["RunSteps"]["ItemProcessor"]
    states = iteration["States"]
    assert iteration["StartAt"] == "Action"
    assert states["Action"]["Next"] == "CheckOutcome"
    choices = {c["StringEquals"]: c["Next"] for c in states["CheckOutcome"]["Choices"]}
    assert choices == {"retry": "Backoff", "failed": "StepFailed"}
    assert states["CheckOutcome"]["Default"] == "StepPassed"
    assert states["Backoff"] == {"Type": "Wait", "SecondsPath": "$.wait_seconds", "Next": "Action"}
    # moto's interpreter mis-evaluates array indexes in a Choice Variable: keep plain paths.
    for choice in states["CheckOutcome"]["Choices"]:
        assert "[" not in choice["Variable"]


def test_tasks_pass_the_execution_name_as_run_id(template):
    states = _definition(template)["States"]
    assert states["Prepare"]["Parameters"]["Payload"]["run_id.$"] == "$$.Execution.Name"
    assert states["Cleanup"]["Parameters"]["Payload"]["run_id.$"] == "$$.Execution.Name"
    assert states["RunSteps"]["ItemSelector"]["run_id.$"] == "$$.Execution.Name"


def test_four_handlers_share_one_code_asset(template):
    functions = template.find_resources("AWS::Lambda::Function")
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == [
        "itest.lambdas.handlers.action",
        "itest.lambdas.handlers.assert_",
        "itest.lambdas.handlers.cleanup",
        "itest.lambdas.handlers.prepare",
    ]
    assert len({json.dumps(f["Properties"]["Code"]) for f in functions.values()}) == 1
    template.all_resources_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.12",
            "Environment": {
                "Variables": {
                    "RESULTS_TABLE": Match.any_value(),
                    "SCENARIO_BUCKET": Match.any_value(),
                }
            },
        },
    )


def test_results_table_keys(template):
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_outputs_name_what_the_cli_needs(template):
    outputs = template.to_json()["Outputs"]
    assert {"StateMachineArn", "BucketName", "ResultsTableName"} <= set(outputs)


def test_executions_that_end_outside_cleanup_invoke_cleanup(template):
    """Stopped, timed out or failed: the status-change rule sends the event to Cleanup."""
    (rule,) = template.find_resources("AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["ABORTED", "TIMED_OUT", "FAILED"]
    machine_id, _ = state_machine(template)
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine_id}]
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    cleanup = {
        logical_id
        for logical_id, fn in template.find_resources("AWS::Lambda::Function").items()
        if fn["Properties"]["Handler"] == "itest.lambdas.handlers.cleanup"
    }
    assert target["Arn"]["Fn::GetAtt"][0] in cleanup
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Principal": "events.amazonaws.com", "Action": "lambda:InvokeFunction"},
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "itest.lambdas.handlers.cleanup",
            "Environment": {"Variables": Match.object_like({"CLEANUP_ACTION_SECONDS": "30"})},
        },
    )
