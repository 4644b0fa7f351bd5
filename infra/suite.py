"""The suite state machine: one execution that runs many scenarios, each as a child.

Step Functions does the fan-out a CLI would otherwise schedule: a Map starts one
child execution of the scenario state machine per scenario
(`startExecution.sync:2`), named by the run id the caller chose, so each child
keeps its own run record, history and event budget. Every child runs whatever
the others do (a child's failure is caught in its iteration); the suite's
output lists each child's run id, status and reason, and the suite fails when
any child did not succeed. docs/engine.md is the contract of its input and output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from itest.infra.nag import acknowledge

CHILD_FAILED = "States.TaskFailed"
"""What `.sync:2` raises when the child ended FAILED, TIMED_OUT or ABORTED; its cause
is the child's DescribeExecution (JSON). Any other error: the child did not start."""


@dataclass(frozen=True, kw_only=True)
class SuiteProps:
    """What the suite runs, how wide and for how long."""

    scenario_machine: sfn.IStateMachine
    """The state machine each child execution runs (one scenario each)."""
    max_concurrency: int = 10
    """Children running at once; the rest wait for a free slot."""
    timeout: Duration = field(default_factory=lambda: Duration.hours(24))
    """The hard stop of a whole suite."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH


class Suite(Construct):
    """Runs a list of scenarios as child executions of the scenario state machine.

    Its role may start executions of the scenario state machine, describe and stop
    them, and manage the one EventBridge rule Step Functions uses for `.sync`
    (CDK's grants for StepFunctionsStartExecution): nothing else.

    Attributes:
        state_machine: the suite state machine.
        log_group: its execution log (events without data), with retention.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: SuiteProps) -> None:
        super().__init__(scope, construct_id)
        runs = sfn.Map(
            self,
            "RunScenarios",
            items_path="$.scenarios",
            max_concurrency=props.max_concurrency,
            result_path="$.results",
        ).item_processor(self._child(props.scenario_machine))
        tally = sfn.Pass(
            self,
            "Tally",
            parameters={"results.$": "$.results", "passed.$": "$.results[*].passed"},
        )
        any_failed = sfn.Pass(
            self,
            "AnyFailed",
            parameters={
                "results.$": "$.results",
                "failed.$": "States.ArrayContains($.passed, false)",
                "cause.$": "States.JsonToString($.results)",
            },
        )
        verdict = (
            sfn.Choice(self, "Verdict")
            .when(
                sfn.Condition.boolean_equals("$.failed", True),
                sfn.Fail(self, "Failed", error="SuiteFailed", cause_path="$.cause"),
            )
            .otherwise(
                sfn.Pass(self, "Passed", parameters={"results.$": "$.results"}).next(
                    sfn.Succeed(self, "SuitePassed")
                )
            )
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=props.log_retention)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(
                runs.next(tally).next(any_failed).next(verdict)
            ),
            timeout=props.timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        self._acknowledge(props.scenario_machine)

    def _acknowledge(self, machine: sfn.IStateMachine) -> None:
        """The suite's accepted AwsSolutions findings, with the reason a reviewer needs."""
        acknowledge(
            self,
            "AwsSolutions-IAM5",
            "X-Ray's PutTraceSegments/PutTelemetryRecords/GetSampling* and CloudWatch Logs' "
            "log delivery calls (state machine logging) support no resource-level "
            "permissions; CDK adds them for tracing and logging. Telemetry, not data.",
            "Resource::*",
        )
        name = Stack.of(self).resolve(machine.node.default_child.logical_id)
        acknowledge(
            self,
            "AwsSolutions-IAM5",
            "The suite describes and stops the executions it starts (startExecution.sync:2, "
            "CDK's grant): executions of the scenario state machine only, named by run ids "
            "chosen at start, so the execution part of the ARN is a wildcard.",
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{name}"}}]}}]}}*',
        )

    def _child(self, machine: sfn.IStateMachine) -> sfn.IChainable:
        """Start the child and wait for it; whatever its end, one result line."""
        start = tasks.StepFunctionsStartExecution(
            self,
            "RunScenario",
            state_machine=machine,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            name=sfn.JsonPath.string_at("$.run_id"),
            input=sfn.TaskInput.from_object(
                {"scenario": sfn.JsonPath.object_at("$.scenario"),
                 "vars": sfn.JsonPath.object_at("$.vars")}
            ),
            result_selector={
                "run_id.$": "$.Name",
                "status.$": "$.Status",
                "reason": "",
                "passed": True,
            },
        )
        read_child = sfn.Pass(
            self,
            "ReadChild",
            parameters={
                "run_id.$": "$.run_id",
                "child.$": "States.StringToJson($.failure.Cause)",
            },
        )

        def line(name: str, reason_path: str) -> sfn.Pass:
            return sfn.Pass(
                self,
                name,
                parameters={
                    "run_id.$": "$.run_id",
                    "status.$": "$.child.Status",
                    "reason.$": reason_path,
                    "passed": False,
                },
            )

        reason = (
            sfn.Choice(self, "ChildReason")
            .when(sfn.Condition.is_present("$.child.Cause"), line("ChildCause", "$.child.Cause"))
            .when(sfn.Condition.is_present("$.child.Error"), line("ChildError", "$.child.Error"))
            .otherwise(line("ChildStatus", "$.child.Status"))
        )
        not_started = sfn.Pass(
            self,
            "NotStarted",
            parameters={
                "run_id.$": "$.run_id",
                "status": "NOT_STARTED",
                "reason.$": "States.Format('{}: {}', $.failure.Error, $.failure.Cause)",
                "passed": False,
            },
        )
        start.add_catch(read_child.next(reason), errors=[CHILD_FAILED], result_path="$.failure")
        start.add_catch(not_started, errors=[sfn.Errors.ALL], result_path="$.failure")
        return start
