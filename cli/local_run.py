"""`--local`: the orchestrator deployed on an embedded AWS, with the scenarios' local targets."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from itest.cli.errors import BadInput, InfraError
from itest.cli.target import Target, from_outputs

LOCAL_TARGET_FILE = "itest_local.py"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LOCAL_CONTEXT = {"itest:hostDependencies": "true"}


def synth_sources() -> list[Path]:
    """What the synthesized template depends on: the CDK code and the Lambda code."""
    return [PACKAGE_ROOT / "infra", PACKAGE_ROOT / "lambdas"]


def assembly() -> Path:
    """The synthesized cloud assembly, from the cache unless infra/ or lambdas/ changed.

    The same app as on AWS, but for the layer's content: locally the handlers
    run on this interpreter's packages, so the layer is not built (no pip, no
    network) and the state machine and functions are the same.
    """
    from functools import partial

    from itest.cli.local.cache import cached_assembly
    from itest.infra.app import synth

    return cached_assembly(partial(synth, context=LOCAL_CONTEXT), synth_sources())


@contextmanager
def local_orchestrator(
    scenario_files: list[Path],
) -> Iterator[tuple[Any, Target, dict[str, str]]]:
    """Start a private local AWS, deploy the orchestrator, enter the local targets.

    Yields the local AWS, the deployed target and the vars the local targets
    provide (e.g. `api_url`).

    Raises:
        InfraError: the local AWS could not start or deploy.
        BadInput: an `itest_local.py` could not be loaded.
    """
    targets = load_local_targets(scenario_files)
    with private_orchestrator() as (aws, target), enter_local_targets(targets, aws) as provided:
        yield aws, target, provided


@contextmanager
def private_orchestrator() -> Iterator[tuple[Any, Target]]:
    """A local AWS in this process with the orchestrator deployed, for one run.

    Raises:
        InfraError: the local AWS could not start or deploy.
    """
    from itest.cli.local.deploy import DeployError, deploy
    from itest.cli.local.server import LocalAwsError, local_aws
    from itest.infra.app import DEFAULT_STACK_NAME

    try:
        cloud_assembly = assembly()
    except Exception as error:  # jsii surfaces synth failures as plain exceptions
        raise InfraError(f"synthesizing the orchestrator failed: {error}") from None
    with ExitStack() as stack:
        try:
            aws = stack.enter_context(local_aws())
            target = from_outputs(deploy(aws, cloud_assembly, DEFAULT_STACK_NAME))
        except (LocalAwsError, DeployError) as error:
            raise InfraError(f"local AWS: {error}") from None
        yield aws, target


def load_local_targets(scenario_files: list[Path]) -> list[Any]:
    """The `local_target` of every `itest_local.py` beside the scenario files.

    Raises:
        BadInput: an `itest_local.py` could not be loaded.
    """
    return [_load_local_target(f) for f in _local_target_files(scenario_files)]


@contextmanager
def enter_local_targets(targets: list[Any], aws: Any) -> Iterator[dict[str, str]]:
    """Run the local targets (in this process) against `aws`; yield the vars they provide.

    Raises:
        InfraError: a local target failed to start.
    """
    with ExitStack() as stack:
        provided: dict[str, str] = {}
        for local_target in targets:
            try:
                provided.update(stack.enter_context(local_target(aws)))
            except Exception as error:
                where = getattr(local_target, "__code__", None)
                name = where.co_filename if where else repr(local_target)
                raise InfraError(
                    f"local target {name} failed to start: {type(error).__name__}: {error}"
                ) from None
        yield provided


def _local_target_files(scenario_files: list[Path]) -> list[Path]:
    """`itest_local.py` beside any of the scenario files, each once."""
    folders = dict.fromkeys(path.resolve().parent for path in scenario_files)
    files = [folder / LOCAL_TARGET_FILE for folder in folders]
    return [file for file in files if file.is_file()]


def _load_local_target(path: Path) -> Any:
    """The `local_target(aws)` context manager of an `itest_local.py`."""
    spec = importlib.util.spec_from_file_location(f"itest_local_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise BadInput(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise BadInput(f"{path}: {type(error).__name__}: {error}") from None
    local_target = getattr(module, "local_target", None)
    if not callable(local_target):
        raise BadInput(f"{path}: defines no local_target(aws) context manager")
    return local_target
