"""The suite state machine: one execution that runs many scenarios, each as a child.

Step Functions does the fan-out a CLI would otherwise schedule: a distributed
Map reads the suite's list of scenarios from the bucket (no input-size limit)
and starts one child execution of the scenario state machine per scenario
(`startExecution.sync:2`), named by the run id the caller chose (or, for a list
a pipeline uploaded once, a fresh one per suite), so each child keeps its own
run record, history and event budget. Every child runs whatever the others do
(a child's failure is caught in its iteration); the suite's output lists each
child's run id, status and reason, and the suite fails when any child did not
succeed. docs/engine.md is the contract of its input and output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from itest.infra.nag import acknowledge, arn_ref
from itest.infra.storage import RunStorage

CHILD_FAILED = "States.TaskFailed"
"""What `.sync:2` raises when the child ended FAILED, TIMED_OUT or ABORTED; its cause
is the child's DescribeExecution (JSON). Any other error: the child did not start."""
CAUSE_LINES = 10
"""A failed suite's cause quotes this many failed lines at most (a cause is <= 32 KiB)."""


@dataclass(frozen=True, kw_only=True)
class SuiteProps:
    """What the suite runs, from where, how wide and for how long."""

    scenario_machine: sfn.IStateMachine
    """The state machine each child execution runs (one scenario each)."""
    bucket: s3.IBucket
    """The scenario bucket: suite lists are read from its `suites/` prefix."""
    max_concurrency: int = 10
    """Children running at once unless the input says (`max_concurrency`)."""
    timeout: Duration = field(default_factory=lambda: Duration.hours(24))
    """The hard stop of a whole suite."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH


class SuiteListReader(sfn.S3JsonItemReader):
    """CDK's JSON item reader, allowed to read suite lists only (`suites/*`, not the
    whole bucket CDK's own grant names)."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        assert self.bucket is not None
        return [
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{RunStorage.suites_prefix}*")],
            )
        ]


class Suite(Construct):
    """Runs a list of scenarios as child executions of the scenario state machine.

    Its role may read suite lists (`suites/*` in the bucket), start executions of
    the scenario state machine, describe and stop them, and manage the one
    EventBridge rule Step Functions uses for `.sync` (CDK's grants for
    StepFunctionsStartExecution); the distributed Map may start, describe and stop
    its own map runs' executions: nothing else.

    Attributes:
        state_machine: the suite state machine.
        log_group: its execution log (events without data), with retention.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: SuiteProps) -> None:
        super().__init__(scope, construct_id)
        self.bucket = props.bucket
        self.scenario_machine = props.scenario_machine
        runs = sfn.DistributedMap(
            self,
            "RunScenarios",
            item_reader=SuiteListReader(
                bucket=props.bucket, key=sfn.JsonPath.string_at("$.scenarios_key")
            ),
            map_execution_type=sfn.StateMachineType.STANDARD,  # .sync:2 needs STANDARD
            max_concurrency_path="$.max_concurrency",
            result_path="$.results",
        ).item_processor(self._child(props.scenario_machine))
        concurrency = (
            sfn.Choice(self, "Concurrency")
            .when(sfn.Condition.is_present("$.max_concurrency"), runs)
            .otherwise(
                sfn.Pass(
                    self,
                    "DefaultConcurrency",
                    result=sfn.Result.from_number(props.max_concurrency),
                    result_path="$.max_concurrency",
                ).next(runs)
            )
        )
        runs.next(self._verdict())
        self.log_group = logs.LogGroup(self, "Logs", retention=props.log_retention)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(concurrency),
            timeout=props.timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        self._acknowledge(props.scenario_machine)

    def grant_run(self, role: iam.Role) -> None:
        """What `itest run --suite` needs beyond a single run: write and read suite
        lists, start the suite, follow and stop it, list the scenario state
        machine's executions (its children)."""
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:PutObject", "s3:GetObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{RunStorage.suites_prefix}*")],
        )
        self.state_machine.grant_start_execution(role)
        self.state_machine.grant_execution(
            role, "states:DescribeExecution", "states:GetExecutionHistory",
            "states:StopExecution",
        )
        # the children that began and ended, one listing for all (cli/suites.py)
        self.scenario_machine.grant(role, "states:ListExecutions")
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "The runner writes and reads suite lists (objects under suites/ in the scenario "
            "bucket) and follows the suite's executions (named when started: the execution "
            "part of the ARN is a wildcard).",
            f"Resource::{arn_ref(self.bucket)}/{RunStorage.suites_prefix}*",
            f"Resource::{self._executions_finding(self.state_machine)}:*",
        )

    def _verdict(self) -> sfn.IChainable:
        """Passed with every line, or Failed naming how many did not pass and the first."""
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
            },
        )
        failed_lines = sfn.Pass(
            self,
            "FailedLines",
            parameters={
                "total.$": "States.ArrayLength($.results)",
                "failed.$": "$.results[?(@.passed == false)]",
            },
        )
        cause = sfn.Pass(
            self,
            "Cause",
            parameters={
                "cause.$": "States.Format('{} of {} scenarios did not pass; the first: {}', "
                "States.ArrayLength($.failed), $.total, "
                f"States.JsonToString($.failed[0:{CAUSE_LINES}]))",
            },
        )
        return tally.next(any_failed).next(
            sfn.Choice(self, "Verdict")
            .when(
                sfn.Condition.boolean_equals("$.failed", True),
                failed_lines.next(cause).next(
                    sfn.Fail(self, "Failed", error="SuiteFailed", cause_path="$.cause")
                ),
            )
            .otherwise(
                sfn.Pass(self, "Passed", parameters={"results.$": "$.results"}).next(
                    sfn.Succeed(self, "SuitePassed")
                )
            )
        )

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
        acknowledge(
            self,
            "AwsSolutions-IAM5",
            "The suite describes and stops the executions it starts (startExecution.sync:2, "
            "CDK's grant): executions of the scenario state machine only, named by run ids "
            "chosen at start, so the execution part of the ARN is a wildcard.",
            f"Resource::{self._executions_finding(machine)}*",
        )
        own = self._executions_finding(self.state_machine)
        acknowledge(
            self,
            "AwsSolutions-IAM5",
            "The distributed Map runs each item as a child workflow execution of a map run "
            "of this suite state machine (CDK's DistributedMapPolicy): its own executions "
            "and map runs only, named by Step Functions.",
            f"Resource::{own}:*",
            f"Resource::{own}/*:*",
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5",
            "The suite reads its list of scenarios: objects under suites/ in the scenario "
            "bucket only (the key is the execution's input).",
            f"Resource::{arn_ref(self.bucket)}/{RunStorage.suites_prefix}*",
        )

    @staticmethod
    def _executions_finding(machine: sfn.IStateMachine) -> str:
        """How cdk-nag names the executions of `machine` (before the name part)."""
        name = Stack.of(machine).resolve(machine.node.default_child.logical_id)
        return (
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{name}"}}]}}]}}'
        )

    def _child(self, machine: sfn.IStateMachine) -> sfn.IChainable:
        """Name the child (a list uploaded once for a pipeline has no run ids), start it
        and wait for it; whatever its end, one result line."""
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
        name_run = sfn.Pass(
            self,
            "NameRun",
            parameters={
                "run_id.$": "States.Format('{}-{}', $.name, States.UUID())",
                "scenario.$": "$.scenario",
                "vars.$": "$.vars",
            },
        )
        return (
            sfn.Choice(self, "Named")
            .when(sfn.Condition.is_present("$.run_id"), start)
            .otherwise(name_run.next(start))
        )
