"""`--local`: the orchestrator deployed on an embedded AWS, with the scenarios' local targets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from itest.cli.errors import InfraError
from itest.cli.local_targets import Served, enter_targets, find_targets
from itest.cli.target import Target, from_outputs

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


def assembly_cached() -> bool:
    """Whether `assembly()` will come from the cache (else it synthesizes, for seconds)."""
    from itest.cli.local.cache import cache_root, sources_key

    key = sources_key(synth_sources())
    return (cache_root() / "assemblies" / key / "manifest.json").is_file()


@contextmanager
def local_orchestrator(
    scenario_files: list[Path],
    *,
    timeout: float | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> Iterator[tuple[Any, Target, Served]]:
    """Start a private local AWS, deploy the orchestrator, enter the scenarios' targets.

    Yields the local AWS, the deployed target and which local target serves
    which scenario with the vars each one provides (e.g. `api_url`).

    Raises:
        InfraError: the local AWS could not start or deploy, or a target failed.
        BadInput: an `itest_local.py` could not be loaded.
    """
    served = find_targets(scenario_files)
    with private_orchestrator(say) as (aws, target), enter_targets(
        served, aws, timeout=timeout
    ) as served:
        yield aws, target, served


@contextmanager
def private_orchestrator(
    say: Callable[[str], None] = lambda line: None,
) -> Iterator[tuple[Any, Target]]:
    """A local AWS in this process with the orchestrator deployed, for one run;
    `say` hears which step of building it is on (the first run takes seconds).

    Raises:
        InfraError: the local AWS could not start or deploy.
    """
    from itest.cli.local.deploy import DeployError, deploy
    from itest.cli.local.server import LocalAwsError, local_aws
    from itest.infra.context import DEFAULT_STACK_NAME

    if not assembly_cached():
        say("building the local stack (1/3): synthesizing the orchestrator with CDK, "
            "once per change of infra/ or lambdas/ (about 10 s)")
    try:
        cloud_assembly = assembly()
    except Exception as error:  # jsii surfaces synth failures as plain exceptions
        raise InfraError(f"synthesizing the orchestrator failed: {error}") from None
    with ExitStack() as stack:
        try:
            say("building the local stack (2/3): starting the local AWS")
            aws = stack.enter_context(local_aws())
            say("building the local stack (3/3): deploying the orchestrator to it")
            target = from_outputs(deploy(aws, cloud_assembly, DEFAULT_STACK_NAME))
        except (LocalAwsError, DeployError) as error:
            raise InfraError(f"local AWS: {error}") from None
        yield aws, target
