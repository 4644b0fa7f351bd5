"""The orchestrator stack: composes the constructs and does the grants."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from infra.handlers import Handlers
from infra.storage import RunStorage
from infra.workflow import Workflow


@dataclass(frozen=True, kw_only=True)
class OrchestratorProps:
    """What a platform team configures (from cdk.json context in app.py)."""

    max_execution_seconds: int = 3600


class OrchestratorStack(Stack):
    """Scenario bucket, results table, handlers and the state machine."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: OrchestratorProps | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        props = props or OrchestratorProps()
        storage = RunStorage(self, "Storage")
        handlers = Handlers(
            self,
            "Handlers",
            environment={
                "RESULTS_TABLE": storage.table.table_name,
                "SCENARIO_BUCKET": storage.bucket.bucket_name,
            },
        )
        for fn in (handlers.prepare, handlers.action, handlers.assert_, handlers.cleanup):
            storage.bucket.grant_read(fn)
        storage.table.grant_read_write_data(handlers.prepare)
        storage.table.grant_read_write_data(handlers.action)
        storage.table.grant_read_write_data(handlers.assert_)
        storage.table.grant_read_write_data(handlers.cleanup)

        workflow = Workflow(
            self,
            "Workflow",
            handlers=handlers,
            timeout=Duration.seconds(props.max_execution_seconds),
        )
        self.state_machine = workflow.state_machine
        self.bucket = storage.bucket
        self.table = storage.table

        CfnOutput(self, "StateMachineArn", value=workflow.state_machine.state_machine_arn)
        CfnOutput(self, "BucketName", value=storage.bucket.bucket_name)
        CfnOutput(self, "ResultsTableName", value=storage.table.table_name)
