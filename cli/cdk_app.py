"""`itest synth` and `itest deploy`: the orchestrator's CDK app, from the installed package.

Neither needs a CDK project: the app is `python -m itest.infra.app`, and its
context is the current folder's `cdk.json` (`context`, when there is one) with
`-c key=value` on top, as the CDK CLI itself combines them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from itest.cli.errors import BadInput, InfraError

APP_MODULE = "itest.infra.app"
PROJECT_FILE = "cdk.json"
CDK_PACKAGE = "aws-cdk@2"
"""What `npx` runs when there is no `cdk` on PATH (the CDK CLI, major version 2)."""


def project_context(folder: Path = Path(".")) -> dict[str, Any]:
    """The `context` of `folder/cdk.json`; {} without one.

    Raises:
        BadInput: the file is there but is not a JSON object with an object `context`.
    """
    path = folder / PROJECT_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: not readable as JSON: {error}") from None
    context = data.get("context", {}) if isinstance(data, dict) else None
    if not isinstance(context, dict):
        raise BadInput(f"{path}: `context` must be a JSON object")
    return context


def stack_name(context: dict[str, Any]) -> str:
    from itest.infra.context import DEFAULT_STACK_NAME

    return str(context.get("itest:stackName") or DEFAULT_STACK_NAME)


def synth(outdir: Path, context: dict[str, Any]) -> Path:
    """Synthesize the orchestrator into `outdir`; return its CloudFormation template.

    Raises:
        BadInput: a context value cannot be used (the message names the key).
        InfraError: no Node.js, or the dependency layer could not be built.
    """
    from itest.infra.app import NodeNotFound, require_node
    from itest.infra.context import ContextError

    try:
        require_node()  # before anything imports aws_cdk
    except NodeNotFound as error:
        raise InfraError(str(error)) from None
    from itest.infra.app import synth as synth_app
    from itest.infra.packaging import LayerBuildError
    from itest.infra.targets import TargetConfigError

    try:
        synth_app(outdir.resolve(), context)  # the jsii kernel keeps the cwd it started in
    except (ContextError, TargetConfigError) as error:
        raise BadInput(f"context: {error}") from None
    except LayerBuildError as error:
        raise InfraError(str(error)) from None
    return outdir / f"{stack_name(context)}.template.json"


def cdk_command() -> list[str]:
    """The CDK CLI: `cdk` on PATH, else `npx --yes aws-cdk@2`.

    Raises:
        InfraError: neither, or no Node.js to run them.
    """
    if shutil.which("cdk"):
        return ["cdk"]
    if shutil.which("npx") and shutil.which("node"):
        return ["npx", "--yes", CDK_PACKAGE]
    raise InfraError(
        "itest deploy runs the AWS CDK CLI, which needs Node.js 18 or later: no `cdk` and no "
        "`node`/`npx` on PATH. Install Node.js (https://nodejs.org, or e.g. apt-get install "
        "nodejs npm); `npm install -g aws-cdk` is optional (itest uses npx without it)"
    )


def deploy_command(
    context: dict[str, str], cdk_args: tuple[str, ...], *, profile: str | None
) -> list[str]:
    """`cdk deploy` of the installed app, with the `-c` pairs and the caller's own args.

    The CDK CLI reads ./cdk.json itself; only the pairs from `-c` are passed.
    """
    command = [*cdk_command(), "deploy", "--app", f"{_python()} -m {APP_MODULE}"]
    for key, value in context.items():
        command += ["--context", f"{key}={value}"]
    if profile:
        command += ["--profile", profile]
    return [*command, *cdk_args]


def deploy(
    pairs: dict[str, str], cdk_args: tuple[str, ...], *, profile: str | None, region: str | None
) -> str:
    """Deploy the orchestrator stack with the CDK CLI; return the stack's name.

    Raises:
        BadInput: no region, an unknown profile, a bad cdk.json.
        InfraError: no credentials, no Node.js, or `cdk deploy` failed.
    """
    stack = stack_name({**project_context(), **pairs})
    command = deploy_command(pairs, cdk_args, profile=profile)
    _check_credentials(profile=profile, region=region)
    env = dict(os.environ)
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    print(f"itest: {' '.join(command)} {stack}", file=sys.stderr)
    done = subprocess.run([*command, stack], env=env, check=False)
    if done.returncode != 0:
        raise InfraError(f"cdk deploy of {stack} failed (exit {done.returncode}): see above")
    return stack


def _check_credentials(*, profile: str | None, region: str | None) -> None:
    """Before starting Node: a missing region or credentials is said in one line.

    Raises:
        BadInput: no region, an unknown profile.
        InfraError: no credentials in boto3's chain.
    """
    from botocore.exceptions import NoRegionError
    from itest.cli.aws import AwsSession
    from itest.cli.errors import aws_errors

    with aws_errors():
        session = AwsSession(region=region, profile=profile)
        if not session.region:
            raise NoRegionError()
        if session.credentials() is None:
            raise InfraError(
                "no AWS credentials found: configure a profile (--profile), environment "
                "variables or a role (itest deploy runs the CDK CLI with them)"
            )


def _python() -> str:
    """This interpreter, quoted for the CDK CLI's `--app` (a shell command line)."""
    import shlex

    return shlex.quote(sys.executable)
