"""The Lambda functions the state machine's tasks invoke."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from itest.infra.packaging import LambdaPackage


@dataclass(frozen=True, kw_only=True)
class HandlerSettings:
    """Sizing and runtime shared by the handlers."""

    memory_mb: int = 512
    action_timeout: Duration = field(default_factory=lambda: Duration.minutes(2))
    """Action and Cleanup (a step's attempt; every cleanup action together)."""
    prepare_timeout: Duration = field(default_factory=lambda: Duration.seconds(30))
    assert_timeout: Duration = field(default_factory=lambda: Duration.seconds(30))
    """The stack's hard stop leaves room for one Assert after the deadline."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    runtime: lambda_.Runtime = field(default_factory=lambda: lambda_.Runtime.PYTHON_3_12)
    architecture: lambda_.Architecture = field(default_factory=lambda: lambda_.Architecture.X86_64)
    log_level: str = "INFO"  # DEBUG | INFO | WARN | ERROR: Lambda's and the handlers' own
    cleanup_action_seconds: int = 30
    """The time budget of one cleanup action (cut to the Cleanup function's time left)."""
    host_dependencies: bool = False
    """Leave the layer empty: the local AWS runs handlers on the host's packages (no pip)."""


class Handlers(Construct):
    """One code asset and one dependency layer, four functions: prepare, action, assert, cleanup.

    Each function has its own role holding nothing but write access to its own
    log group (and X-Ray's telemetry calls); the stack grants the rest. Logs are
    Lambda's JSON format, so the fields each line carries (run id, execution
    ARN, scenario, step) are top-level keys Logs Insights can filter on.

    Attributes:
        prepare, action, assert_, cleanup: the functions.
        log_groups: their log groups, by function attribute name.
        package: the code asset and the dependency layer.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        settings: HandlerSettings | None = None,
        extra_environment: dict[str, dict[str, str]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or HandlerSettings()
        extra_environment = extra_environment or {}
        self.package = LambdaPackage(
            self,
            "Package",
            runtime=settings.runtime,
            architecture=settings.architecture,
            host_dependencies=settings.host_dependencies,
        )
        self.log_groups: dict[str, logs.LogGroup] = {}

        def handler(name: str, entry: str, timeout: Duration) -> lambda_.Function:
            log_group = logs.LogGroup(self, f"{name}Logs", retention=settings.log_retention)
            role = iam.Role(
                self,
                f"{name}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"itest {name} handler: its log group; the stack grants the rest",
            )
            log_group.grant_write(role)
            self.log_groups[entry] = log_group
            return lambda_.Function(
                self,
                name,
                runtime=settings.runtime,
                architecture=settings.architecture,
                code=self.package.code,
                layers=[self.package.layer],
                handler=f"itest.lambdas.handlers.{entry}",
                memory_size=settings.memory_mb,
                timeout=timeout,
                role=role,
                environment={
                    **environment,
                    "LOG_LEVEL": settings.log_level,
                    **extra_environment.get(entry, {}),
                },
                log_group=log_group,
                logging_format=lambda_.LoggingFormat.JSON,
                application_log_level_v2=getattr(lambda_.ApplicationLogLevel, settings.log_level),
                system_log_level_v2=lambda_.SystemLogLevel.INFO,
                tracing=lambda_.Tracing.ACTIVE,
            )

        self.prepare = handler("Prepare", "prepare", settings.prepare_timeout)
        self.action = handler("Action", "action", settings.action_timeout)
        self.assert_ = handler("Assert", "assert_", settings.assert_timeout)
        self.cleanup = handler("Cleanup", "cleanup", settings.action_timeout)

    @property
    def functions(self) -> tuple[lambda_.Function, ...]:
        return (self.prepare, self.action, self.assert_, self.cleanup)
