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

import json
import os
import shutil
from pathlib import Path
from typing import Any

DEFAULT_STACK_NAME = "Itest"


class ContextError(ValueError):
    """A context value is malformed; the message names the key."""


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
    if _flag(app.node.try_get_context("itest:nag")):
        import cdk_nag

        checks = cdk_nag.AwsSolutionsChecks(
            stack, verbose=True, write_suppressions_to_cloud_formation=True
        )  # the acknowledgments and their reasons also land in the template's Metadata
        cdk.Validations.of(stack).add_plugins(checks)
    if pipeline := _json(app.node.try_get_context("itest:samplePipeline"), "itest:samplePipeline"):
        from itest.infra.sample_pipeline import SamplePipelineProps, SamplePipelineStack

        SamplePipelineStack(
            app,
            f"{stack_name}Pipeline",
            props=SamplePipelineProps.from_context(
                pipeline, stack_name=stack_name, orchestrator=props
            ),
        )
    return app


def props_from_context(get: Any):  # -> OrchestratorProps
    """OrchestratorProps from `get(key)` (the app's `try_get_context`)."""
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_logs as logs
    from itest.infra.handlers import HandlerSettings
    from itest.infra.stack import OrchestratorProps
    from itest.infra.storage import StorageSettings
    from itest.infra.targets import TargetPermissions

    fields: dict[str, Any] = {}
    if (seconds := _int(get("itest:maxExecutionSeconds"), "itest:maxExecutionSeconds")) is not None:
        fields["max_execution_seconds"] = seconds
    fields["targets"] = TargetPermissions.from_context(
        get("itest:targets"), allow_privileged=_flag(get("itest:allowPrivilegedStatements"))
    )
    fields["target_role_arn"] = get("itest:targetRoleArn") or None
    handler_fields: dict[str, Any] = {}
    if (days := _int(get("itest:logRetentionDays"), "itest:logRetentionDays")) is not None:
        handler_fields["log_retention"] = _retention(logs, days)
    if architecture := get("itest:architecture"):
        choices = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
        if architecture not in choices:
            raise ContextError(f"itest:architecture must be one of {sorted(choices)}")
        handler_fields["architecture"] = choices[architecture]
    if _flag(get("itest:hostDependencies")):
        handler_fields["host_dependencies"] = True
    fields["handlers"] = HandlerSettings(**handler_fields)
    if (ttl := _int(get("itest:resultsTtlDays"), "itest:resultsTtlDays")) is not None:
        fields["storage"] = StorageSettings(results_ttl_days=ttl)
    fields["alarm_topic_arn"] = get("itest:alarmTopicArn") or None
    key = "itest:suiteMaxConcurrency"
    if (concurrency := _int(get(key), key)) is not None:
        if concurrency > 10_000:  # a distributed Map's most child executions at once
            raise ContextError(f"{key} must be at most 10000, got {concurrency}")
        fields["suite_max_concurrency"] = concurrency
    fields["runner_trusted_account"] = get("itest:runnerTrustedAccount") or None
    return OrchestratorProps(**fields)


def _int(value: Any, key: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ContextError(f"{key} must be a whole number, got {value!r}") from None
    if number <= 0:
        raise ContextError(f"{key} must be positive, got {number}")
    return number


def _flag(value: Any) -> bool:
    """A switch: true from cdk.json, or `true`/`1` as text from `-c`."""
    return value in (True, "true", "1")


def _json(value: Any, key: str) -> Any:
    """Context given with `-c` arrives as text; from cdk.json, as JSON already."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as e:
            raise ContextError(f"{key} is not JSON: {e}") from None
    return value


_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
    2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


def _retention(logs: Any, days: int) -> Any:
    if days not in _RETENTION:
        raise ContextError(
            f"itest:logRetentionDays: CloudWatch Logs allows {sorted(_RETENTION)}, not {days}"
        )
    return getattr(logs.RetentionDays, _RETENTION[days])


def synth(outdir: Path, context: dict[str, Any] | None = None) -> Path:
    """Synthesize the cloud assembly into `outdir` and return it."""
    build_app(outdir, context).synth()
    return outdir


def main() -> None:
    """The CDK app entry point: `python -m itest.infra.app` (or the repo's `python app.py`)."""
    build_app(Path(os.environ.get("CDK_OUTDIR", "cdk.out"))).synth()


if __name__ == "__main__":
    main()
