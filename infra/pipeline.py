"""The post-deploy stage: run the scenarios after a deploy, stop the release when one fails.

Two ways, for the two kinds of pipeline people have:

* `ItestPipelineStep`: a CDK Pipelines `CodeBuildStep` that runs
  `itest run SCENARIOS --wait --format junit --output report.xml` under the
  orchestrator's runner role; the JUnit report goes to a CodeBuild report group
  (results in the console), and itest's exit code fails the step.
* `ItestInvokeStage`: a classic CodePipeline stage of ONE Step Functions invoke
  action that starts the suite state machine over a list of scenarios already in
  the scenario bucket (`itest upload --suite`); the action fails when the suite
  does, that is when any of its scenarios did not pass.
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
from itest.infra.context import DEFAULT_STACK_NAME
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
    stack_name: str = DEFAULT_STACK_NAME
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
    """A suite list already in the scenario bucket (`itest upload --label L --suite`
    puts it at `suites/L.json`, scenarios and vars included), and the suite state
    machine (the orchestrator stack's output `SuiteStateMachineArn`)."""

    suite_machine: sfn.IStateMachine
    suite_key: str
    """The list's key in the scenario bucket, e.g. `suites/release.json`."""
    max_concurrency: int | None = None
    """Scenarios running at once; default: the stack's `itest:suiteMaxConcurrency`."""
    stage_name: str = "Itest"
    action_name: str = "Scenarios"


class ItestInvokeStage(Construct):
    """A classic CodePipeline stage: one Step Functions invoke action starting one
    suite execution, which runs every scenario of the list as a child execution;
    the action fails when the suite fails (any scenario did not pass).

    Attributes:
        stage: the stage added to the pipeline.
        action: the invoke action.
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
        given: dict[str, object] = {"scenarios_key": props.suite_key}
        if props.max_concurrency is not None:
            given["max_concurrency"] = props.max_concurrency
        self.action = actions.StepFunctionInvokeAction(
            action_name=props.action_name,
            state_machine=props.suite_machine,
            state_machine_input=actions.StateMachineInput.literal(given),
            execution_name_prefix="suite",
        )
        self.stage = pipeline.add_stage(stage_name=props.stage_name, actions=[self.action])
