"""Every change itest makes to moto, installed and undone together, for one moto version.

moto is the local AWS, but not all of it works as AWS does for what itest
runs; each patch below says what it changes and why. They are all installed
by `install()` when a local AWS starts and undone, in reverse, when it stops;
`install()` first checks that the installed moto is one they were checked
against (`TESTED_MOTO`), since each reaches into moto's internals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from itest.cli.local.errors import StartError
from itest.cli.local.undo import Undo, in_reverse

if TYPE_CHECKING:
    from itest.cli.local.lambda_runner import LambdaRunner

# The moto versions whose internals these patches were checked against (a prefix of
# moto.__version__); on an upgrade, run the tests and widen it.
TESTED_MOTO = "5.2."


def check_moto() -> None:
    """Raises: StartError naming the installed moto when it is not a tested one."""
    import moto

    if not moto.__version__.startswith(TESTED_MOTO):
        raise StartError(
            f"the local AWS needs moto {TESTED_MOTO}x (its patches reach into moto's "
            f"internals), but moto {moto.__version__} is installed: "
            f"pip install 'moto[server]=={TESTED_MOTO}*'"
        )


def install(
    credentials: dict[str, str], account_id: str, runner: LambdaRunner
) -> Callable[[], None]:
    """Patch moto for the local AWS that `credentials` open, in `account_id`, whose
    Lambda code runs on `runner`; return the function that undoes every patch.

    Raises:
        StartError: the installed moto is not a tested version (nothing is patched).
    """
    from itest.cli.local import (
        direct_invoke,
        dynamodb_fast,
        fast_paths,
        known_regions,
        lambda_runner,
        request_path,
        sfn_copy,
        sfn_sync,
        sfn_uncopied,
        status_events,
        stepfunctions_answers,
    )
    from itest.cli.local.moto_imports import import_without_package

    check_moto()
    # the Step Functions interpreter imports moto.batch.utils; moto.batch imports EC2
    import_without_package("moto.batch.utils")
    undos: list[Undo] = []
    uninstall = in_reverse(undos)

    try:
        undos.append(known_regions.install())  # first: the imports below ask for regions
        undos.append(_interpreter_credentials(credentials))
        undos.append(_name_executions())
        undos.append(direct_invoke.install(account_id))  # Lambda tasks without HTTP
        undos.append(lambda_runner.install(runner))  # Lambda code on the worker pool
        undos.append(status_events.install())  # moto emits no execution status changes
        undos.append(sfn_sync.install())  # child executions for suites
        undos.append(fast_paths.install())  # JSONPaths and definitions parsed once
        undos.append(sfn_copy.install())  # state values copied as JSON
        undos.append(sfn_uncopied.install())  # state values only read are not copied
        undos.append(dynamodb_fast.install())  # DynamoDB's hot paths made cheap
        undos.append(request_path.install())  # moto's per-request plumbing made cheap
        undos.append(stepfunctions_answers.install())  # Step Functions' answers, compiled
    except BaseException:
        uninstall()
        raise
    return uninstall


def _interpreter_credentials(credentials: dict[str, str]) -> Callable[[], None]:
    """moto's Step Functions interpreter calls Lambda & co. with the made-up key "ak":
    give it the owner's credentials, or the front door would refuse it. Returns the undo."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto3

    def make_client(**kwargs: Any) -> Any:
        kwargs.update(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        return original.client(**kwargs)

    boto_client.boto3 = SimpleNamespace(client=make_client)
    return lambda: setattr(boto_client, "boto3", original)


def _name_executions() -> Callable[[], None]:
    """Name unnamed executions with a UUID, as AWS does; return the undo.

    moto's executing backend keeps `name=None`: every unnamed execution of a
    state machine would share the ARN `...:execution:<machine>:None`.
    """
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any, state_machine_arn: str, name: str | None = None, *a: Any, **kw: Any
    ):
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *a, **kw)

    StepFunctionsParserBackend.start_execution = start_execution
    return lambda: setattr(StepFunctionsParserBackend, "start_execution", original)
