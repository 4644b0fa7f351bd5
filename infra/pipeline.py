"""The post-deploy stage: run the scenarios after a deploy, stop the release when one fails.

Two ways, for the two kinds of pipeline people have:

* `ItestPipelineStep`: a CDK Pipelines `CodeBuildStep` that runs
  `itest run SCENARIOS --wait --format junit --output report.xml` under the
  orchestrator's runner role; the JUnit report goes to a CodeBuild report group
  (results in the console), and itest's exit code fails the step.
* `ItestInvokeStage`: a classic CodePipeline stage of Step Functions invoke
  actions, one per scenario already in the scenario bucket; the action fails
  when the execution does.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Aws, Duration, RemovalPolicy, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from itest.infra.runner import runner_role_name

REPORT_FILE = "report.xml"


@dataclass(frozen=True, kw_only=True)
class ItestStepProps:
    """Where the scenarios are and which orchestrator runs them."""

    input: pipelines.IFileSetProducer
    """The source (or build output) holding the scenario files."""
    install_command: str
    """How the build gets the `itest` command: a pinned wheel or VCS URL, your own index
    (`pip install .` in itest's own repo). No default: the name `itest` on PyPI belongs to
    an unrelated project, and a build must never run whatever answers to it."""
    scenarios: Sequence[str] = ("scenarios/",)
    """Files or folders, relative to `input`."""
    stack_name: str = "Itest"
    """The orchestrator stack (its runner role and outputs)."""
    account: str | None = None
    """The orchestrator's account and region; default: the pipeline's."""
    region: str | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    """`--var k=v` for every scenario (e.g. the URL of what was just deployed)."""
    timeout: Duration = field(default_factory=lambda: Duration.hours(1))


class ItestPipelineStep(Construct):
    """A CDK Pipelines step and its report group: add `step` as a stage's `post` step.

        step = ItestPipelineStep(pipeline_stack, "Itest", props=ItestStepProps(
            input=source, install_command="pip install -r requirements-itest.txt"))
        pipeline.add_stage(app_stage, post=[step.step])

    Attributes:
        report_group: JUnit reports of every run (test results in the console).
        step: the `CodeBuildStep`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: ItestStepProps) -> None:
        super().__init__(scope, construct_id)
        account = props.account or Aws.ACCOUNT_ID
        region = props.region or Aws.REGION
        role_arn = (
            f"arn:{Aws.PARTITION}:iam::{account}:role/{runner_role_name(props.stack_name, region)}"
        )
        self.report_group = codebuild.ReportGroup(
            self,
            "Reports",
            type=codebuild.ReportGroupType.TEST,
            removal_policy=RemovalPolicy.RETAIN,
        )
        var_args = "".join(f" --var {shlex.quote(f'{k}={v}')}" for k, v in props.vars.items())
        scenarios = " ".join(shlex.quote(s) for s in props.scenarios)
        self.step = pipelines.CodeBuildStep(
            construct_id,
            input=props.input,
            install_commands=[props.install_command],
            env={
                "ITEST_RUNNER_ROLE_ARN": role_arn,
                "ITEST_STACK": props.stack_name,
                "AWS_REGION": region,
                "AWS_CONFIG_FILE": "/tmp/itest-aws-config",
                "AWS_PROFILE": "itest",
                "NO_COLOR": "1",
            },
            commands=[
                # the CLI runs as the runner role, assumed from the build's own credentials
                'printf "[profile itest]\\nrole_arn = %s\\ncredential_source = EcsContainer\\n"'
                ' "$ITEST_RUNNER_ROLE_ARN" > "$AWS_CONFIG_FILE"',
                f"itest run {scenarios} --wait --format junit --output {REPORT_FILE}{var_args}",
            ],
            partial_build_spec=codebuild.BuildSpec.from_object(
                {
                    "reports": {
                        self.report_group.report_group_arn: {
                            "files": [REPORT_FILE],
                            "file-format": "JUNITXML",
                        }
                    }
                }
            ),
            role_policy_statements=[
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn]),
                iam.PolicyStatement(
                    actions=[
                        "codebuild:CreateReport",
                        "codebuild:UpdateReport",
                        "codebuild:BatchPutTestCases",
                    ],
                    resources=[self.report_group.report_group_arn],
                ),
            ],
            timeout=props.timeout,
        )


@dataclass(frozen=True, kw_only=True)
class ItestStageProps:
    """Scenarios already in the scenario bucket (normalized JSON, e.g. uploaded by
    `itest run --no-wait` or copied by the deploy), and the state machine."""

    state_machine: sfn.IStateMachine
    scenario_keys: Sequence[str]
    """Keys in the scenario bucket, e.g. `scenarios/orders-happy-path/ci.json`."""
    bucket_name: str | None = None
    """The scenario bucket; default: the handlers' `SCENARIO_BUCKET`."""
    vars: Mapping[str, str] = field(default_factory=dict)
    stage_name: str = "Itest"


class ItestInvokeStage(Construct):
    """A classic CodePipeline stage: one Step Functions invoke action per scenario,
    all in parallel; an execution that fails fails its action and the stage.

    Attributes:
        stage: the stage added to the pipeline.
        actions: the invoke actions, in `scenario_keys` order.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: codepipeline.Pipeline,
        props: ItestStageProps,
    ) -> None:
        super().__init__(scope, construct_id)
        self.actions = []
        for key in props.scenario_keys:
            scenario: dict[str, str] = {"key": key}
            if props.bucket_name:
                scenario["bucket"] = props.bucket_name
            name = key.rstrip("/").rsplit("/", 2)[-2 if key.count("/") >= 2 else -1]
            action_name = _action_name(name)
            self.actions.append(
                actions.StepFunctionInvokeAction(
                    action_name=action_name,
                    state_machine=props.state_machine,
                    state_machine_input=actions.StateMachineInput.literal(
                        {"scenario": scenario, "vars": dict(props.vars)}
                    ),
                    execution_name_prefix=action_name[:60],
                )
            )
        self.stage = pipeline.add_stage(stage_name=props.stage_name, actions=self.actions)


def _action_name(name: str) -> str:
    """CodePipeline action names: [A-Za-z0-9.@_-]{1,100}."""
    cleaned = "".join(c if c.isalnum() or c in ".@_-" else "-" for c in name)
    return cleaned[:100] or "scenario"
