"""The state machine: Prepare, the steps one at a time, Assert, Cleanup, verdict.

docs/engine.md is the contract of every payload built here.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from itest.infra.handlers import Handlers
from itest.lambdas.statuses import Outcome, RunStatus

RUN_ID = "$$.Execution.Name"
EXECUTION_ARN = "$$.Execution.Id"  # every handler logs it: one execution's lines are findable
TRANSIENT = "TransientError"
"""What the handlers raise when the orchestrator's own S3/DynamoDB/SSM calls throttle,
fail with a 5xx or cannot connect (and Cleanup when it must carry on in a new invocation)."""
CRASHED = ["Sandbox.Timedout", "Runtime.ExitError", "Lambda.Unknown"]
"""A Cleanup invocation that died: the next one takes over the cleanups it left."""


class Workflow(Construct):
    """Runs one scenario per execution; Cleanup always runs.

    Attributes:
        state_machine: the orchestrator.
        log_group: its execution log (events without data), with retention.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handlers: Handlers,
        timeout: Duration,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        """`timeout` is the hard stop of an execution: it must leave room for the
        last Action and for Cleanup after a scenario's own deadline (see the stack)."""
        super().__init__(scope, construct_id)
        cleanup = self._invoke(
            "Cleanup",
            handlers.cleanup,
            {
                "run_id.$": RUN_ID,
                "execution_arn.$": EXECUTION_ARN,
                "started_at.$": "$$.Execution.StartTime",  # the run's duration metric
                "state.$": "$",
            },
        )
        prepare = self._invoke(
            "Prepare",
            handlers.prepare,
            {"input.$": "$", "run_id.$": RUN_ID, "execution_arn.$": EXECUTION_ARN},
        )
        run_steps = sfn.Map(
            self,
            "RunSteps",
            items_path="$.steps",
            max_concurrency=1,
            item_selector={
                "run_id.$": RUN_ID,
                "execution_arn.$": EXECUTION_ARN,
                "scenario.$": "$.scenario",
                "deadline.$": "$.deadline",
                "index.$": "$$.Map.Item.Index",
                "name.$": "$$.Map.Item.Value.name",
                "attempt": 0,
            },
            result_path=sfn.JsonPath.DISCARD,
        ).item_processor(self._iteration(handlers.action))
        assert_ = self._invoke(
            "Assert",
            handlers.assert_,
            {"run_id.$": RUN_ID, "execution_arn.$": EXECUTION_ARN, "scenario.$": "$.scenario"},
            output_path=None,
            result_path=sfn.JsonPath.DISCARD,
        )
        for state in (prepare, run_steps, assert_):
            state.add_catch(cleanup, errors=[sfn.Errors.ALL], result_path="$.error")
        cleanup.add_retry(errors=CRASHED, interval=Duration.seconds(1), max_attempts=2)
        # what no retry fixes ends the execution FAILED; the status-change rule then
        # invokes Cleanup once more, which settles the run record (see Stack)
        cleanup.add_catch(
            sfn.Fail(self, "CleanupFailed", error="CleanupFailed", cause_path="$.cleanup.Cause"),
            errors=[sfn.Errors.ALL],
            result_path="$.cleanup",
        )

        verdict = (
            sfn.Choice(self, "Verdict")
            .when(
                sfn.Condition.string_equals("$.status", RunStatus.PASSED.value),
                sfn.Succeed(self, "Passed"),
            )
            .otherwise(sfn.Fail(self, "Failed", error="ScenarioFailed", cause_path="$.reason"))
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        definition = prepare.next(run_steps).next(assert_).next(cleanup).next(verdict)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=timeout,
            tracing_enabled=True,
            # every state event, never its input or output: those carry rendered vars
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )

    def _iteration(self, action_fn: lambda_.IFunction) -> sfn.IChainable:
        """Action, then poll (Wait and Action again), fail, or pass the step."""
        action = self._invoke("Action", action_fn, sfn.JsonPath.entire_payload)
        backoff = sfn.Wait(self, "Backoff", time=sfn.WaitTime.seconds_path("$.wait_seconds"))
        outcome = (
            sfn.Choice(self, "CheckOutcome")
            .when(
                sfn.Condition.string_equals("$.outcome", Outcome.RETRY.value), backoff.next(action)
            )
            .when(
                sfn.Condition.string_equals("$.outcome", Outcome.FAILED.value),
                sfn.Fail(self, "StepFailed", error="StepFailed", cause_path="$.reason"),
            )
            .otherwise(sfn.Succeed(self, "StepPassed"))
        )
        return action.next(outcome)

    def _invoke(
        self,
        name: str,
        fn: lambda_.IFunction,
        payload: dict[str, str | int] | str,
        *,
        output_path: str | None = "$.Payload",
        result_path: str | None = None,
    ) -> tasks.LambdaInvoke:
        body = (
            sfn.TaskInput.from_json_path_at(payload)
            if isinstance(payload, str)
            else sfn.TaskInput.from_object(payload)
        )
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=fn,
            payload=body,
            output_path=output_path,
            result_path=result_path,
        )
        task.add_retry(
            errors=[TRANSIENT, "CleanupUnfinished"],
            interval=Duration.seconds(2),
            max_attempts=5,
            backoff_rate=2,
        )
        return task
