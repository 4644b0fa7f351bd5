"""The Lambda functions the state machine's tasks invoke."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import shutil

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
"""The runtime package; infra/ refers to it only by path."""


@dataclass(frozen=True, kw_only=True)
class HandlerSettings:
    """Sizing shared by the handlers."""

    memory_mb: int = 512
    action_timeout: Duration = field(default_factory=lambda: Duration.minutes(2))
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH


@jsii.implements(ILocalBundling)
class PackageCopy:
    """Bundles the runtime package without Docker: the asset is `lambdas/` at its root."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        shutil.copytree(
            LAMBDAS_DIR,
            Path(output_dir) / "lambdas",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
        return True


class Handlers(Construct):
    """One code asset, four handlers: prepare, action, assert, cleanup."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        settings: HandlerSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or HandlerSettings()
        code = lambda_.Code.from_asset(
            str(LAMBDAS_DIR),
            asset_hash_type=AssetHashType.SOURCE,
            bundling=BundlingOptions(
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
                local=PackageCopy(),
            ),
        )

        def handler(name: str, entry: str, timeout: Duration) -> lambda_.Function:
            log_group = logs.LogGroup(self, f"{name}Logs", retention=settings.log_retention)
            return lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                architecture=lambda_.Architecture.X86_64,
                code=code,
                handler=f"lambdas.handlers.{entry}",
                memory_size=settings.memory_mb,
                timeout=timeout,
                environment=environment,
                log_group=log_group,
            )

        self.prepare = handler("Prepare", "prepare", Duration.seconds(30))
        self.action = handler("Action", "action", settings.action_timeout)
        self.assert_ = handler("Assert", "assert_", Duration.seconds(30))
        self.cleanup = handler("Cleanup", "cleanup", settings.action_timeout)
