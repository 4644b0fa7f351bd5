"""Cleanup owed by every end: a rule on the state machine's status changes.

A stopped execution (StopExecution, the console's Stop), one that hit the state
machine's timeout, or one that failed outside the Cleanup state never reaches
Cleanup. Step Functions reports each end to EventBridge; this rule sends those
events to the Cleanup function, whose handler cleans up at most once per run
(docs/engine.md, "Faults").
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

ENDS = ["ABORTED", "TIMED_OUT", "FAILED"]
"""The statuses after which Cleanup may not have run (a passed run always ran it)."""


class CleanupOnEnd(Construct):
    """Invokes ``cleanup`` for every execution of ``state_machine`` that ends in `ENDS`.

    Attributes:
        rule: the EventBridge rule (default bus, source ``aws.states``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        cleanup: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="itest: clean up after executions that were stopped, timed out or failed",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [state_machine.state_machine_arn],
                    "status": ENDS,
                },
            ),
            targets=[
                targets.LambdaFunction(
                    cleanup, retry_attempts=2, max_event_age=Duration.hours(2)
                )
            ],
        )
