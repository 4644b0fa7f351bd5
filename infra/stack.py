"""The orchestrator stack: composes the constructs and does the grants."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from infra.handlers import Handlers, HandlerSettings
from infra.nag import LOG_STREAMS, XRAY, Suppression, suppress
from infra.observability import Monitoring
from infra.runner import RunnerRole
from infra.storage import RunStorage, StorageSettings
from infra.targets import TargetPermissions, Targets
from infra.workflow import Workflow

SCENARIO_PREFIX = "scenarios/*"
"""Where the CLI uploads scenarios (docs/engine.md); the handlers read nothing else."""
RESULTS_PREFIX = "results/*"
"""Where Action keeps a step's whole result when the record holds only a summary."""
ASSERT_TIMEOUT = Duration.seconds(30)


@dataclass(frozen=True, kw_only=True)
class OrchestratorProps:
    """What a platform team configures (from cdk.json context in app.py)."""

    max_execution_seconds: int = 3600
    """The longest a scenario may run: its `timeout_seconds` is cut to this (Prepare)."""
    targets: TargetPermissions = field(default_factory=TargetPermissions)
    """What the scenarios' steps and cleanups may touch."""
    handlers: HandlerSettings = field(default_factory=HandlerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    alarm_topic_arn: str | None = None
    """An SNS topic told when executions fail; none by default."""
    runner_trusted_account: str | None = None
    """The account whose principals may assume the runner role (a pipeline's); default this."""


class OrchestratorStack(Stack):
    """Scenario bucket, results table, handlers, the state machine and its monitoring.

    Grants, narrowest first: Prepare reads scenarios and writes the run record;
    Action and Cleanup read scenarios and read/write results, and get the
    targets (Action also writes whole step results under `results/`); Assert reads scenarios, reads/writes results and reads the
    declared secrets (it resolves them to mask what it records).
    """

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
        self.props = props
        self.metrics_namespace = f"Itest/{self.stack_name}"
        storage = RunStorage(self, "Storage", settings=props.storage)
        handlers = Handlers(
            self,
            "Handlers",
            environment={
                "RESULTS_TABLE": storage.table.table_name,
                "SCENARIO_BUCKET": storage.bucket.bucket_name,
                "RESULTS_TTL_DAYS": str(props.storage.results_ttl_days),
            },
            extra_environment={
                "prepare": {"MAX_TIMEOUT_SECONDS": str(props.max_execution_seconds)},
                "cleanup": {"METRICS_NAMESPACE": self.metrics_namespace},
            },
            settings=props.handlers,
        )
        targets = Targets(self, "Targets", permissions=props.targets)

        for fn in handlers.functions:
            storage.bucket.grant_read(fn, SCENARIO_PREFIX)
        storage.bucket.grant_put(handlers.action, RESULTS_PREFIX)
        storage.table.grant_write_data(handlers.prepare)
        for fn in (handlers.action, handlers.assert_, handlers.cleanup):
            storage.table.grant_read_write_data(fn)
        targets.grant(handlers.action)
        targets.grant(handlers.cleanup)
        targets.grant_secrets(handlers.assert_)

        # Past a scenario's deadline the last Action may still run, then Assert
        # and Cleanup: the hard stop leaves room for them, so Cleanup always runs.
        action_seconds = props.handlers.action_timeout.to_seconds()
        hard_stop = (
            props.max_execution_seconds + 2 * action_seconds + ASSERT_TIMEOUT.to_seconds() + 60
        )
        workflow = Workflow(
            self,
            "Workflow",
            handlers=handlers,
            timeout=Duration.seconds(hard_stop),
            log_retention=props.handlers.log_retention,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            state_machine=workflow.state_machine,
            functions=handlers.functions,
            metrics_namespace=self.metrics_namespace,
            alarm_topic_arn=props.alarm_topic_arn,
        )
        runner = RunnerRole(
            self,
            "Runner",
            state_machine=workflow.state_machine,
            bucket=storage.bucket,
            table=storage.table,
            log_groups=[*handlers.log_groups.values(), workflow.log_group],
            trusted_account=props.runner_trusted_account,
        )
        self.runner = runner
        self.storage = storage
        self.handlers = handlers
        self.targets = targets
        self.workflow = workflow
        self.monitoring = monitoring
        self.state_machine = workflow.state_machine
        self.bucket = storage.bucket
        self.table = storage.table

        CfnOutput(self, "StateMachineArn", value=workflow.state_machine.state_machine_arn)
        CfnOutput(self, "BucketName", value=storage.bucket.bucket_name)
        CfnOutput(self, "ResultsTableName", value=storage.table.table_name)
        CfnOutput(self, "DashboardName", value=monitoring.dashboard.dashboard_name)
        CfnOutput(self, "RunnerRoleArn", value=runner.role.role_arn)
        self._nag_suppressions()

    def _nag_suppressions(self) -> None:
        """Each accepted AwsSolutions finding, with the reason a reviewer needs."""
        suppress(
            self.storage.bucket,
            Suppression(
                "AwsSolutions-S1",
                "Holds content-addressed scenario definitions the CLI uploads; who read or "
                "wrote them is in CloudTrail. A second bucket for access logs would only "
                "duplicate that.",
            ),
        )
        suppress(
            self.handlers,
            LOG_STREAMS,
            XRAY,
            Suppression(
                "AwsSolutions-L1",
                "Pinned to the Python runtime the dependency layer is built for "
                "(pip --python-version); moving on is a deliberate change of both "
                "(HandlerSettings.runtime).",
            ),
            Suppression(
                "AwsSolutions-IAM5",
                "CDK grant methods: read of the scenarios/ prefix of the scenario bucket "
                "(s3:GetObject*, GetBucket*, List* on that bucket only) and the results "
                "table's indexes.",
                (
                    "Action::s3:GetObject*",
                    "Action::s3:GetBucket*",
                    "Action::s3:List*",
                    r"/^Resource::<.+Scenarios[0-9A-F]{8}\.Arn>\/scenarios\/\*$/g",
                    r"/^Resource::<.+Results[0-9A-F]{8}\.Arn>\/index\/\*$/g",
                ),
            ),
        )
        suppress(
            self.targets,
            Suppression(
                "AwsSolutions-IAM5",
                "Target permissions declared in itest:targets, granted by CDK's grant "
                "methods: objects of the named buckets, indexes of the named tables, "
                "versions of the named functions, the random suffix of secret ARNs.",
            ),
        )
        # The targets' grants land in the Action/Cleanup/Assert roles' policies.
        if self.props.targets != TargetPermissions():
            suppress(
                self.handlers,
                Suppression(
                    "AwsSolutions-IAM5",
                    "Grants of the declared targets (itest:targets) by CDK's grant methods: "
                    "objects of named buckets, indexes of named tables, versions of named "
                    "functions, secret ARN suffixes; each on a named resource only.",
                    _target_findings(self.props.targets),
                ),
            )
        suppress(
            self.workflow,
            XRAY,
            Suppression(
                "AwsSolutions-IAM5",
                "The state machine invokes the four handler functions (CDK adds their "
                "versions, `:*`) and delivers logs, which needs logs:*LogDelivery and "
                "friends on `*` (no resource-level support in CloudWatch Logs delivery).",
                (r"/^Resource::<.+\.Arn>:\*$/g", "Resource::*"),
            ),
        )


def _target_findings(targets: TargetPermissions) -> tuple[str, ...]:
    """The wildcard findings a target grant produces, and only those."""
    found = []
    if targets.buckets:
        found += [
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            "Action::s3:PutObject*",
        ]
        found += [r"/^Resource::arn:.*:s3:::[^*]+\/\*$/g", r"/^Resource::<.+\.Arn>\/\*$/g"]
    if targets.tables:
        found.append(r"/^Resource::arn:.*:dynamodb:.+:table\/[^*]+\/index\/\*$/g")
    if targets.functions:
        found.append(r"/^Resource::arn:.*:lambda:.+:function:[^*]+:\*$/g")
    if targets.secrets:
        found.append(r"/^Resource::arn:.*:secretsmanager:.+:secret:[^*]+-\?\?\?\?\?\?$/g")
    found += [f"Resource::{r}" for s in targets.statements for r in s.resources if "*" in r]
    return tuple(found)
