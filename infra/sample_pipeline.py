"""A sample release pipeline: deploy the orchestrator, then run the scenarios after it.

Synthesized only when `itest:samplePipeline` is set. In a real pipeline the
stage deploys *your* service and the orchestrator beside it; the post step is
the same `ItestPipelineStep`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import pipelines
from constructs import Construct
from itest.infra.pipeline import ItestPipelineStep, ItestStepProps
from itest.infra.stack import OrchestratorProps, OrchestratorStack


@dataclass(frozen=True, kw_only=True)
class SamplePipelineProps:
    repository: str
    """`owner/name` of the repository holding this app and the scenarios."""
    branch: str
    connection_arn: str
    """A CodeConnections (CodeStar) connection to the repository's host."""
    stack_name: str
    orchestrator: OrchestratorProps
    account: str
    region: str
    """CDK Pipelines needs an explicit environment (it deploys across them)."""

    @classmethod
    def from_context(
        cls, raw: Any, *, stack_name: str, orchestrator: OrchestratorProps
    ) -> SamplePipelineProps:
        import os

        from itest.infra.context import ContextError

        if not isinstance(raw, dict) or not {"repository", "connectionArn"} <= set(raw):
            raise ContextError(
                'itest:samplePipeline must be {"repository": "owner/name", '
                '"branch": "main", "connectionArn": "arn:aws:codeconnections:...", '
                '"account": "123456789012", "region": "eu-west-1"}'
            )
        account = raw.get("account") or os.environ.get("CDK_DEFAULT_ACCOUNT")
        region = raw.get("region") or os.environ.get("CDK_DEFAULT_REGION")
        if not account or not region:
            raise ContextError(
                "itest:samplePipeline needs an account and a region (in the context value, "
                "or from the CDK CLI's credentials): CDK Pipelines deploys to explicit ones"
            )
        return cls(
            repository=raw["repository"],
            branch=raw.get("branch", "main"),
            connection_arn=raw["connectionArn"],
            stack_name=stack_name,
            orchestrator=orchestrator,
            account=account,
            region=region,
        )


class OrchestratorStage(cdk.Stage):
    """What the pipeline deploys: here only the orchestrator."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stack_name: str,
        props: OrchestratorProps,
        env: cdk.Environment,
    ) -> None:
        super().__init__(scope, construct_id, env=env)
        OrchestratorStack(self, "Orchestrator", stack_name=stack_name, props=props)


class SamplePipelineStack(cdk.Stack):
    """CDK Pipelines: source, synth, deploy the stage, then `itest run --wait` as its post step.

    Attributes:
        pipeline: the CDK Pipelines `CodePipeline`.
        itest: the post-deploy step and its report group.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, props: SamplePipelineProps, **kwargs: Any
    ) -> None:
        env = cdk.Environment(account=props.account, region=props.region)
        super().__init__(scope, construct_id, env=env, **kwargs)
        source = pipelines.CodePipelineSource.connection(
            props.repository, props.branch, connection_arn=props.connection_arn
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                install_commands=["pip install -e .", "npm install -g aws-cdk"],
                commands=["cdk synth"],
            ),
        )
        self.itest = ItestPipelineStep(
            self,
            "PostDeployTests",
            props=ItestStepProps(
                input=source,
                scenarios=("scenarios/orders-happy-path.yaml",),
                stack_name=props.stack_name,
                install_command="pip install .",
            ),
        )
        self.pipeline.add_stage(
            OrchestratorStage(
                self, "Deploy", stack_name=props.stack_name, props=props.orchestrator, env=env
            ),
            post=[self.itest.step],
        )
