"""One synth per session: `python app.py`, as CI runs it, with the AwsSolutions checks
and a full set of target permissions; the pipelines are synthesized once in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]
STACK = "Itest"
TARGETS = {
    "tables": {
        "orders": "read_write",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/audit": "read",
    },
    "buckets": {"receipts": "read_write"},
    "queues": {"orders-events": "read"},
    "functions": ["orders-processor"],
    "secrets": ["orders/api-token"],
    "parameters": ["/orders/api-token"],
    "buses": ["default", "arn:aws:events:eu-west-1:123456789012:event-bus/orders"],
    "topics": ["receipts"],
    "log_groups": ["/aws/lambda/orders-processor"],
    "statements": [
        {
            "actions": ["events:PutEvents"],
            "resources": ["arn:aws:events:eu-west-1:123456789012:event-bus/orders"],
        }
    ],
}
# cdk.json's context, as the CDK CLI passes it, with the checks and targets on top
CONTEXT = {
    **json.loads((ROOT / "cdk.json").read_text())["context"],
    "itest:nag": True,
    "itest:targets": TARGETS,
}


@dataclass
class Synth:
    outdir: Path
    returncode: int
    output: str

    def template_json(self, stack: str = STACK) -> dict[str, Any]:
        return json.loads((self.outdir / f"{stack}.template.json").read_text())


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """`python app.py` with the test context; failures are for the tests to report."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(CONTEXT)}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if not (outdir / f"{STACK}.template.json").is_file():
        pytest.fail(f"python app.py wrote no template:\n{done.stdout}\n{done.stderr}")
    return Synth(outdir, done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def template(synth: Synth):
    from aws_cdk.assertions import Template

    return Template.from_json(synth.template_json())


@pytest.fixture(scope="session")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample CDK Pipelines stack and a classic pipeline with the invoke stage."""
    import aws_cdk as cdk
    from aws_cdk import aws_codepipeline as codepipeline
    from aws_cdk import aws_codepipeline_actions as actions
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk.assertions import Template
    from itest.infra.pipeline import ItestInvokeStage, ItestStageProps
    from itest.infra.sample_pipeline import SamplePipelineProps, SamplePipelineStack
    from itest.infra.stack import OrchestratorProps

    app = cdk.App(outdir=str(tmp_path_factory.mktemp("pipelines.out")))
    sample = SamplePipelineStack(
        app,
        "ItestPipeline",
        props=SamplePipelineProps.from_context(
            {
                "repository": "example/orders",
                "connectionArn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/x",
                "account": "123456789012",
                "region": "eu-west-1",
            },
            stack_name=STACK,
            orchestrator=OrchestratorProps(),
        ),
    )
    classic = cdk.Stack(
        app, "Classic", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    source = codepipeline.Artifact()
    pipeline = codepipeline.Pipeline(
        classic,
        "Pipeline",
        stages=[
            codepipeline.StageProps(
                stage_name="Source",
                actions=[
                    actions.S3SourceAction(
                        action_name="Source",
                        bucket=s3.Bucket.from_bucket_name(classic, "Src", "release-sources"),
                        bucket_key="orders.zip",
                        output=source,
                    )
                ],
            )
        ],
    )
    suite = sfn.StateMachine.from_state_machine_arn(
        classic, "ItestSuite", "arn:aws:states:eu-west-1:123456789012:stateMachine:ItestSuite"
    )
    ItestInvokeStage(
        classic,
        "PostDeploy",
        pipeline=pipeline,
        props=ItestStageProps(suite_machine=suite, suite_key="suites/ci.json", max_concurrency=20),
    )
    return {
        "sample": Template.from_stack(sample),
        "classic": Template.from_stack(classic),
    }


def state_machine(template: Any, start_at: str = "Prepare") -> tuple[str, dict[str, Any]]:
    """The logical id and resource of the state machine whose ASL starts at `start_at`
    (the scenario state machine by default; the suite's starts at Concurrency)."""
    (found,) = (
        (logical_id, machine)
        for logical_id, machine in template.find_resources(
            "AWS::StepFunctions::StateMachine"
        ).items()
        if f'\\"StartAt\\":\\"{start_at}\\"'
        in json.dumps(machine["Properties"]["DefinitionString"])
    )
    return found
