"""The orchestrator on a local AWS: synthesized by CDK (cached), deployed, described.

One composition for the three ways a local AWS gets the orchestrator: a
private one for one `itest run --local`, the background one (`itest local
up`, cli/local/daemon.py), and the background one's redeploy when infra/ or
lambdas/ changed. `deploy_orchestrator` returns where everything is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itest.cli.local.errors import DeployError

if TYPE_CHECKING:
    from itest.cli.local.server import LocalAws
    from itest.cli.local.targets import Served
    from itest.cli.target import Target

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
LOCAL_CONTEXT = {"itest:hostDependencies": "true"}


def _quiet(line: str) -> None:
    """A `say` that says nothing."""


@dataclass(frozen=True)
class LocalOrchestrator:
    """The orchestrator deployed on a local AWS: how to reach it and what it made.

    `outputs` are the stack's outputs (StateMachineArn, SuiteStateMachineArn,
    BucketName, ResultsTableName, ...); `sources_key` says which infra/ and
    lambdas/ it was built from (a change means a redeploy).
    """

    aws: LocalAws
    outputs: dict[str, str]
    sources_key: str

    @property
    def endpoint(self) -> str:
        return self.aws.endpoint_url

    @property
    def credentials(self) -> dict[str, str]:
        return self.aws.credentials

    @property
    def state_machine_arn(self) -> str:
        return self.outputs["StateMachineArn"]

    @property
    def suite_state_machine_arn(self) -> str | None:
        return self.outputs.get("SuiteStateMachineArn")

    @property
    def bucket(self) -> str:
        return self.outputs["BucketName"]

    @property
    def results_table(self) -> str:
        return self.outputs["ResultsTableName"]

    @property
    def target(self) -> Target:
        """What the CLI talks to (state machine, bucket, results table)."""
        from itest.cli.target import from_outputs

        return from_outputs(self.outputs)


def synth_sources() -> list[Path]:
    """What the synthesized template depends on: the CDK code and the Lambda code."""
    return [PACKAGE_ROOT / "infra", PACKAGE_ROOT / "lambdas"]


def current_sources_key() -> str:
    """The key of infra/ and lambdas/ as they are now (compare with a deployed one's)."""
    from itest.cli.local.cache import sources_key

    return sources_key(synth_sources())


def assembly(key: str | None = None) -> Path:
    """The synthesized cloud assembly, from the cache unless infra/ or lambdas/ changed
    (`key`: their `current_sources_key()`, when the caller has it).

    The same app as on AWS, but for the layer's content: locally the handlers
    run on this interpreter's packages, so the layer is not built (no pip, no
    network) and the state machine and functions are the same.

    Raises:
        DeployError: CDK could not synthesize the app.
    """
    from functools import partial

    from itest.cli.local.cache import cached_assembly
    from itest.infra.app import synth

    try:
        return cached_assembly(
            partial(synth, context=LOCAL_CONTEXT), key or current_sources_key()
        )
    except Exception as error:  # jsii surfaces synth failures as plain exceptions
        raise DeployError(f"synthesizing the orchestrator failed: {error}") from None


def assembly_cached() -> bool:
    """Whether `assembly()` will come from the cache (else it synthesizes, for seconds)."""
    from itest.cli.local.cache import assembly_cached as cached

    return cached(current_sources_key())


def deploy_orchestrator(
    aws: LocalAws, *, say: Callable[[str], None] = _quiet, private: bool = False
) -> LocalOrchestrator:
    """Synthesize the orchestrator (cached) and deploy it to the running `aws`.

    `say` hears which step it is on (a first synthesis takes seconds). A
    `private` local AWS never redeploys: its stack is made without moto's
    CloudFormation (cli/local/direct_stack.py), a second faster.

    Raises:
        DeployError: it could not be synthesized or deployed.
    """
    from itest.cli.local.cache import assembly_cached as cached
    from itest.cli.local.deploy import deploy
    from itest.infra.context import DEFAULT_STACK_NAME

    key = current_sources_key()  # hashing infra/ and lambdas/ once for all three uses
    if not cached(key):
        say("building the local stack (2/3): synthesizing the orchestrator with CDK, "
            "once per change of infra/ or lambdas/ (about 10 s)")
    cloud_assembly = assembly(key)
    say("building the local stack (3/3): deploying the orchestrator to it")
    outputs = deploy(aws, cloud_assembly, DEFAULT_STACK_NAME, without_cloudformation=private)
    return LocalOrchestrator(aws, outputs, key)


@contextmanager
def started_orchestrator(
    port: int = 0, *, say: Callable[[str], None] = _quiet, private: bool = False
) -> Iterator[LocalOrchestrator]:
    """A local AWS in this process, on `port` (0: a free one), with the orchestrator
    deployed, for the duration of the block (`private`: see `deploy_orchestrator`).

    Raises:
        StartError: the local AWS could not start.
        DeployError: the orchestrator could not be synthesized or deployed.
    """
    from itest.cli.local.server import local_aws

    say("building the local stack (1/3): starting the local AWS")
    with local_aws(port) as aws:
        yield deploy_orchestrator(aws, say=say, private=private)


@contextmanager
def local_orchestrator(
    scenario_files: list[Path],
    *,
    timeout: float | None = None,
    say: Callable[[str], None] = _quiet,
) -> Iterator[tuple[LocalOrchestrator, Served]]:
    """A private local AWS with the orchestrator deployed and the scenarios' targets entered.

    Yields the orchestrator and which local target serves which scenario with
    the vars each one provides (e.g. `api_url`).

    Raises:
        StartError, DeployError: as `started_orchestrator`.
        InfraError: a target failed.
        BadInput: an `itest_local.py` could not be loaded.
    """
    from itest.cli.local.targets import enter_targets, find_targets

    served = find_targets(scenario_files)
    with started_orchestrator(say=say, private=True) as orchestrator, enter_targets(
        served, orchestrator.aws, timeout=timeout
    ) as served:
        yield orchestrator, served


def redeploy_if_stale() -> bool:
    """Deploy to the background local AWS again if infra/ or lambdas/ changed since it
    deployed them (its Lambda workers follow the code); whether it did.

    Raises:
        DeployError: the redeploy failed.
    """
    from itest.cli.local.background import refresh

    def redeploy(aws: Any) -> dict[str, str]:
        return deploy_orchestrator(aws).outputs

    return refresh(current_sources_key(), redeploy) is not None
