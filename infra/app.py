"""Builds the CDK app; `app.py`, `itest synth`/`deploy` and the local runtime synthesize here.

`python -m itest.infra.app` is the app from the installed package (what `itest
deploy` gives the CDK CLI as `--app`): it writes the assembly to `CDK_OUTDIR`
and reads context from `CDK_CONTEXT_JSON`, both set by the CDK CLI.

Everything a platform team sets is context (cdk.json or `-c key=value`):

    itest:stackName            stack name (default Itest)
    itest:maxExecutionSeconds  the longest a scenario may run (default 3600)
    itest:targets              what the tests may touch (infra/targets.py), granted to the
                               target role (output TargetRoleArn)
    itest:targetRoleArn        an existing role the scenario actions run in instead
                               (another account's); itest:targets must then be empty
    itest:allowPrivilegedStatements  true: itest:targets statements may name IAM, STS,
                               Step Functions and Lambda code/permission actions
    itest:resultsTtlDays       how long run records are kept (default 30)
    itest:logRetentionDays     log retention of the handlers and the state machine (30)
    itest:suiteMaxConcurrency  a suite's children running at once unless its input
                               says (default 10)
    itest:alarmTopicArn        SNS topic for the failed-executions alarm (none)
    itest:runnerTrustedAccount account allowed to assume the runner role (this one)
    itest:architecture         x86_64 | arm64 (x86_64)
    itest:samplePipeline       {"repository", "branch", "connectionArn"}: also synthesize
                               a sample CDK Pipelines stack that deploys the orchestrator
                               and runs the scenarios after it (infra/sample_pipeline.py)
    itest:hostDependencies     true: an empty dependency layer (no pip); the local AWS
                               runs the handlers on the host interpreter's packages
    itest:nag                  true: check the orchestrator with cdk-nag's AwsSolutions
                               pack (cdk-nag 3, in the `test` extra); a violation that
                               is not acknowledged fails the synth
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from itest.infra.context import DEFAULT_STACK_NAME, flag, json_value, props_from_context


class NodeNotFound(RuntimeError):
    """The AWS CDK (jsii) runs on Node.js, and there is none to run."""


def require_node() -> None:
    """Fail with a clear message before jsii fails with an obscure one.

    Raises:
        NodeNotFound: no `node` on PATH (and no `JSII_NODE`).
    """
    if os.environ.get("JSII_NODE") or shutil.which("node"):
        return
    raise NodeNotFound(
        "the AWS CDK needs Node.js 18 or later and there is no `node` on PATH: install "
        "Node.js (https://nodejs.org, or your system's package, e.g. apt-get install nodejs)"
    )


def build_app(outdir: Path | None = None, context: dict[str, Any] | None = None):  # -> cdk.App
    """Return the app with the orchestrator stack, configured from context.

    Raises:
        ContextError, TargetConfigError: a context value cannot be used.
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    require_node()
    import aws_cdk as cdk
    from itest.infra.stack import OrchestratorStack

    app = cdk.App(
        outdir=str(outdir) if outdir else None,
        context=context,
        analytics_reporting=False,
    )
    stack_name = app.node.try_get_context("itest:stackName") or DEFAULT_STACK_NAME
    props = props_from_context(app.node.try_get_context)
    stack = OrchestratorStack(app, stack_name, props=props)
    if flag(app.node.try_get_context("itest:nag")):
        import cdk_nag

        checks = cdk_nag.AwsSolutionsChecks(
            stack, verbose=True, write_suppressions_to_cloud_formation=True
        )  # the acknowledgments and their reasons also land in the template's Metadata
        cdk.Validations.of(stack).add_plugins(checks)
    if pipeline := json_value(
        app.node.try_get_context("itest:samplePipeline"), "itest:samplePipeline"
    ):
        from itest.infra.sample_pipeline import SamplePipelineProps, SamplePipelineStack

        SamplePipelineStack(
            app,
            f"{stack_name}Pipeline",
            props=SamplePipelineProps.from_context(
                pipeline, stack_name=stack_name, orchestrator=props
            ),
        )
    return app


def synth(outdir: Path, context: dict[str, Any] | None = None) -> Path:
    """Synthesize the cloud assembly into `outdir` and return it."""
    build_app(outdir, context).synth()
    return outdir


def main() -> None:
    """The CDK app entry point: `python -m itest.infra.app` (or the repo's `python app.py`)."""
    build_app(Path(os.environ.get("CDK_OUTDIR", "cdk.out"))).synth()


if __name__ == "__main__":
    main()
