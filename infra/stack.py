"""The orchestrator stack: composes the constructs and does the grants."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct
from itest.infra.cleanup_on_end import CleanupOnEnd
from itest.infra.handlers import Handlers, HandlerSettings
from itest.infra.listeners import ListenerAccess, listener_prefix
from itest.infra.nag import acknowledge, arn_ref
from itest.infra.observability import Monitoring
from itest.infra.runner import RunnerRole
from itest.infra.storage import RunStorage, StorageSettings
from itest.infra.suite import Suite, SuiteProps
from itest.infra.targets import TargetPermissions, TargetRole, Targets
from itest.infra.workflow import Workflow


@dataclass(frozen=True, kw_only=True)
class OrchestratorProps:
    """What a platform team configures (from cdk.json context in app.py)."""

    max_execution_seconds: int = 3600
    """The longest a scenario may run: its `timeout_seconds` is cut to this (Prepare)."""
    targets: TargetPermissions = field(default_factory=TargetPermissions)
    """What the scenarios' steps and cleanups may touch (granted to the target role)."""
    target_role_arn: str | None = None
    """An existing role to run scenario actions in instead (cross-account targets)."""
    handlers: HandlerSettings = field(default_factory=HandlerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    alarm_topic_arn: str | None = None
    """An SNS topic told when executions fail; none by default."""
    runner_trusted_account: str | None = None
    """The account whose principals may assume the runner role (a pipeline's); default this."""
    suite_max_concurrency: int = 10
    """A suite's children running at once unless its input says (infra/suite.py)."""


class OrchestratorStack(Stack):
    """Scenario bucket, results table, handlers, the state machine and its monitoring.

    Grants, narrowest first: Prepare reads scenarios and writes the run record (and,
    with Cleanup, creates and deletes the run's listeners); Action, Assert and
    Cleanup read scenarios and read/write results (Action also writes whole step
    results under `results/`). None of them holds anything of the targets: they
    assume the target role for every call to a target and for the declared
    secrets, and that role holds nothing of the orchestrator's bucket or table
    (two kinds of credentials, never one).
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
        listeners = ListenerAccess(
            self,
            "Listeners",
            prefix=listener_prefix(self.stack_name),
            buses=props.targets.buses,
            topics=props.targets.topics,
        )
        handlers = Handlers(
            self,
            "Handlers",
            environment={
                "RESULTS_TABLE": storage.table.table_name,
                "SCENARIO_BUCKET": storage.bucket.bucket_name,
                "RESULTS_TTL_DAYS": str(props.storage.results_ttl_days),
                "LISTENER_PREFIX": listeners.prefix,
            },
            extra_environment={
                "prepare": {"MAX_TIMEOUT_SECONDS": str(props.max_execution_seconds)},
                "cleanup": {
                    "METRICS_NAMESPACE": self.metrics_namespace,
                    "CLEANUP_ACTION_SECONDS": str(props.handlers.cleanup_action_seconds),
                },
            },
            settings=props.handlers,
        )
        targets = Targets(self, "Targets", permissions=props.targets)

        for fn in handlers.functions:
            storage.bucket.grant_read(fn, f"{storage.scenarios_prefix}*")
        storage.bucket.grant_put(handlers.action, f"{storage.results_prefix}*")
        storage.table.grant_write_data(handlers.prepare)
        for fn in (handlers.action, handlers.assert_, handlers.cleanup):
            storage.table.grant_read_write_data(fn)
        # Prepare creates the run's listeners on the targets' buses and topics, so it
        # acts through the target role as well (whatever is declared: one code path).
        actors = [handlers.prepare, handlers.action, handlers.assert_, handlers.cleanup]
        target_role = TargetRole(
            self,
            "TargetRole",
            targets=targets,
            assumed_by=[fn.role for fn in actors if fn.role is not None],
            existing_role_arn=props.target_role_arn,
        )
        for fn in actors:
            target_role.grant_assume(fn)
            fn.add_environment("TARGET_ROLE_ARN", target_role.role_arn)
        if target_role.role is not None:  # an existing role's own policies say what it may
            listeners.grant_manage(target_role.role)
            listeners.grant_receive(target_role.role)

        # Past a scenario's deadline the last Action may still run, then Assert
        # and Cleanup: the hard stop leaves room for them, so Cleanup always runs.
        action_seconds = props.handlers.action_timeout.to_seconds()
        hard_stop = (
            props.max_execution_seconds
            + 2 * action_seconds
            + props.handlers.assert_timeout.to_seconds()
            + 60
        )
        workflow = Workflow(
            self,
            "Workflow",
            handlers=handlers,
            timeout=Duration.seconds(hard_stop),
            log_retention=props.handlers.log_retention,
        )
        self.cleanup_on_end = CleanupOnEnd(
            self, "CleanupOnEnd", state_machine=workflow.state_machine, cleanup=handlers.cleanup
        )
        self.suite = Suite(
            self,
            "Suite",
            props=SuiteProps(
                scenario_machine=workflow.state_machine,
                bucket=storage.bucket,
                max_concurrency=props.suite_max_concurrency,
                log_retention=props.handlers.log_retention,
            ),
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            state_machine=workflow.state_machine,
            suite_machine=self.suite.state_machine,
            functions=handlers.functions,
            metrics_namespace=self.metrics_namespace,
            alarm_topic_arn=props.alarm_topic_arn,
        )
        runner = RunnerRole(
            self,
            "Runner",
            state_machine=workflow.state_machine,
            storage=storage,
            log_groups=[*handlers.log_groups.values(), workflow.log_group],
            trusted_account=props.runner_trusted_account,
        )
        self.suite.grant_run(runner.role)
        self.runner = runner
        self.storage = storage
        self.handlers = handlers
        self.targets = targets
        self.listeners = listeners
        self.target_role = target_role
        self.workflow = workflow
        self.monitoring = monitoring
        self.state_machine = workflow.state_machine
        self.bucket = storage.bucket
        self.table = storage.table

        CfnOutput(self, "StateMachineArn", value=workflow.state_machine.state_machine_arn)
        CfnOutput(self, "SuiteStateMachineArn", value=self.suite.state_machine.state_machine_arn)
        CfnOutput(self, "BucketName", value=storage.bucket.bucket_name)
        CfnOutput(self, "ResultsTableName", value=storage.table.table_name)
        CfnOutput(self, "DashboardName", value=monitoring.dashboard.dashboard_name)
        CfnOutput(self, "RunnerRoleArn", value=runner.role.role_arn)
        CfnOutput(self, "TargetRoleArn", value=target_role.role_arn)
        self._nag_suppressions()

    def _nag_suppressions(self) -> None:
        """Each accepted AwsSolutions finding, with the reason a reviewer needs."""
        bucket = arn_ref(self.storage.bucket)
        acknowledge(
            self.storage.bucket,
            "AwsSolutions-S1",
            "Holds content-addressed scenario definitions the CLI uploads and bounded step "
            "results; who read or wrote them is in CloudTrail. A second bucket for access "
            "logs would only duplicate that.",
        )
        acknowledge(
            self.handlers,
            "AwsSolutions-L1",
            "Pinned to the Python runtime the dependency layer is built for (pip "
            "--python-version); moving on is a deliberate change of both (HandlerSettings).",
        )
        for scope in (self.handlers, self.workflow):
            acknowledge(
                scope,
                "AwsSolutions-IAM5",
                "X-Ray's PutTraceSegments/PutTelemetryRecords/GetSampling* and CloudWatch "
                "Logs' log delivery calls (state machine logging) support no resource-level "
                "permissions; CDK adds them for tracing and logging. Telemetry, not data.",
                "Resource::*",
            )
        s3_grant = (
            "CDK's bucket grants (grant_read, grant_put) on the scenario bucket, limited to "
            "the scenarios/ and results/ prefixes: the wildcards are object keys under a "
            "prefix and the S3 action families CDK grants for reading and writing objects."
        )
        for scope in (self.handlers, self.runner):
            acknowledge(
                scope,
                "AwsSolutions-IAM5",
                s3_grant,
                "Action::s3:GetObject*",
                "Action::s3:GetBucket*",
                "Action::s3:List*",
                "Action::s3:Abort*",
                f"Resource::{bucket}/{self.storage.scenarios_prefix}*",
                f"Resource::{bucket}/{self.storage.results_prefix}*",
            )
        acknowledge(
            self.workflow,
            "AwsSolutions-IAM5",
            "The state machine may invoke the handler functions' versions and aliases "
            "(`:*` after each function's own ARN), as CDK's LambdaInvoke grants.",
            *(f"Resource::{arn_ref(fn)}:*" for fn in self.handlers.functions),
        )
        machine = Stack.of(self).resolve(self.state_machine.node.default_child.logical_id)
        acknowledge(
            self.runner,
            "AwsSolutions-IAM5",
            "The runner reads executions of this state machine only; execution names are "
            "run ids chosen at start, so the execution part of the ARN is a wildcard.",
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}:*',
        )
        if self.listeners.enabled and self.target_role.role:
            acknowledge(
                self.target_role,
                "AwsSolutions-IAM5",
                "Listeners (infra/listeners.py): each run creates and deletes its own SQS queue "
                "and EventBridge rule, named <stack prefix><run digest>-<listener>; the wildcard "
                "is the run part of the name, after the stack's listener prefix, on the buses "
                "declared in itest:targets.",
                *self.listeners.nag_findings(),
            )
        if (findings := _target_findings(self.props.targets)) and self.target_role.role:
            acknowledge(
                self.target_role,
                "AwsSolutions-IAM5",
                "Target permissions declared in itest:targets, granted with CDK's grant "
                "methods: objects of the named buckets, versions of the named functions, "
                "the streams of the named log groups; each wildcard is under one named resource.",
                *findings,
            )


def _target_findings(targets: TargetPermissions) -> list[str]:
    """The wildcard findings the declared targets' grants produce, and only those."""
    found = []
    if targets.buckets:
        found += ["Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*"]
        found += ["Action::s3:DeleteObject*", "Action::s3:Abort*"]
    for name in targets.buckets:
        arn = name if name.startswith("arn:") else f"arn:<AWS::Partition>:s3:::{name}"
        found.append(f"Resource::{arn}/*")
    for name in targets.functions:
        arn = (
            name
            if name.startswith("arn:")
            else f"arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:{name}"
        )
        found.append(f"Resource::{arn}:*")
    for name in targets.log_groups:
        arn = (
            name.removesuffix(":*")
            if name.startswith("arn:")
            else f"arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:{name}"
        )
        found.append(f"Resource::{arn}:*")
    found += [f"Resource::{r}" for s in targets.statements for r in s.resources if "*" in r]
    return found
