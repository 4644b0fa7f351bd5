"""Where the orchestrator is: the real AWS, the background local AWS, or a private one.

Every command that talks to AWS gets an `Orchestrator` from here, so that the
flags (`--local`, `--stack`, `--state-machine-arn`, `--region`, `--profile`)
mean the same everywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from itest.cli.aws import ClientFactory
from itest.cli.errors import InfraError, aws_errors
from itest.cli.target import Target, console_url, from_outputs, parse_execution_arn

if TYPE_CHECKING:
    from itest.cli.local.targets import Served
    from itest.cli.scenarios import LoadedScenario



@dataclass(frozen=True)
class Where:
    """The flags that say where the orchestrator is."""

    region: str | None = None
    profile: str | None = None
    stack: str | None = None
    state_machine_arn: str | None = None
    local: bool = False


@dataclass
class Orchestrator:
    """Clients and the deployed resources; `kind` is aws, local (background) or private."""

    aws: ClientFactory
    target: Target
    kind: str = "aws"
    endpoint: str | None = None

    def hint(self, command: str, arn: str) -> str | None:
        """The exact `itest <command> ...` that works later, from another terminal: the
        run id with --local on the background local AWS, the whole ARN on AWS (it holds
        the region and state machine). None when the execution goes away with a
        private local AWS."""
        if self.kind == "private":
            return None
        if self.kind == "local":
            return f"itest {command} --local {parse_execution_arn(arn).name}"
        return f"itest {command} {arn}"

    def follow_hint(self, arn: str) -> str:
        return self.hint("status", arn) or arn

    def console_url(self, arn: str) -> str | None:
        return console_url(arn) if self.kind == "aws" else None

    @contextmanager
    def errors(self) -> Iterator[None]:
        """botocore failures as one line (naming the local AWS when that is what died)."""
        with aws_errors(local_endpoint=self.endpoint):
            yield


def default_stack() -> str:
    """`ITEST_STACK`, else the `itest:stackName` context of ./cdk.json, else `Itest`."""
    from itest.infra.context import DEFAULT_STACK_NAME

    if env := os.environ.get("ITEST_STACK"):
        return env
    try:
        context = json.loads(Path("cdk.json").read_text()).get("context", {})
    except (OSError, ValueError, AttributeError):
        return DEFAULT_STACK_NAME
    return str(context.get("itest:stackName") or DEFAULT_STACK_NAME)


def remote(where: Where) -> Orchestrator:
    """The orchestrator on AWS, from --state-machine-arn or the stack's outputs.

    Raises:
        BadInput: no region, unknown profile.
        InfraError: no credentials, no such stack, AWS unreachable.
    """
    from itest.cli.aws import AwsSession
    from itest.cli.target import find_target

    region = where.region
    if where.state_machine_arn and not region:
        region = _region_of(where.state_machine_arn)
    with aws_errors():
        aws = AwsSession(region=region, profile=where.profile)
        target = find_target(
            aws, stack=where.stack or default_stack(), state_machine_arn=where.state_machine_arn
        )
    return Orchestrator(aws, target)


def background() -> Orchestrator:
    """The background local AWS (`itest local up`).

    Raises:
        InfraError: it is not running.
    """
    from itest.cli.local.background import connection, read_state

    state = read_state()
    if state is None:
        raise InfraError(
            "the local AWS is down: start one with `itest local up` "
            "(`itest run --local` without it uses a private one that stops with the run)"
        )
    if state.state != "up" or not state.endpoint:
        raise InfraError(f"the local AWS is {state.state}, not up: see `itest local status`")
    return Orchestrator(connection(state), from_outputs(state.outputs), "local", state.endpoint)


def for_execution(where: Where, run: str) -> tuple[Orchestrator, str]:
    """The orchestrator that ran `run` (a run id or an execution ARN), and its ARN.

    A run id is found on the state machine the flags name (as `run` would use);
    an ARN carries its own state machine and region. The local AWS is used with
    --local, or when the ARN is in the local account and the background local AWS
    is up; a local ARN while it is down says so.

    Raises:
        BadInput: neither a run id nor an execution ARN.
        InfraError: the orchestrator cannot be reached or is not an itest one.
    """
    from itest.cli.local.background import running
    from itest.cli.local.server import ACCOUNT_ID as LOCAL_ACCOUNT
    from itest.cli.target import execution_arn_of, from_state_machine

    if not run.startswith("arn:"):
        execution_arn_of("arn:aws:states:::stateMachine:check", run)  # bad input: nothing called
        orchestrator = for_listing(where)
        return orchestrator, execution_arn_of(orchestrator.target.state_machine_arn, run)
    arn = run
    parsed = parse_execution_arn(arn)
    local_arn = parsed.account == LOCAL_ACCOUNT
    if where.local or (local_arn and running()):
        return background(), arn
    if local_arn:
        raise InfraError(
            f"{arn} is a run on the local AWS (account {LOCAL_ACCOUNT}), and the local AWS is "
            "down: a local AWS keeps its runs only while it is up (`itest local up` keeps one "
            "between commands; a run --local without it stops with the run)"
        )
    from itest.cli.aws import AwsSession

    with aws_errors():
        aws = AwsSession(region=parsed.region, profile=where.profile)  # the ARN's, always
        target = from_state_machine(aws, where.state_machine_arn or parsed.state_machine_arn)
    return Orchestrator(aws, target), arn


def for_listing(where: Where) -> Orchestrator:
    """The background local AWS with --local, else the one on AWS."""
    return background() if where.local else remote(where)


@contextmanager
def for_run(
    where: Where,
    scenarios: list[LoadedScenario],
    *,
    timeout: float | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> Iterator[tuple[Orchestrator, Served]]:
    """The orchestrator to run on, and which local target serves which scenario.

    With --local: the background local AWS when it is up (the scenarios'
    `itest_local.py` targets still run here, in this process), else a private
    one that lives as long as the block. `timeout` bounds the targets' start-up;
    `say` hears what is being built and which target serves which scenario.

    Raises:
        BadInput, InfraError: as `remote`, or a local target that fails.
    """
    from itest.cli.local.targets import Served, describe, enter_targets, find_targets

    if not where.local:
        yield remote(where), Served()
        return
    from itest.cli.local.background import running
    from itest.cli.local.orchestrator import local_orchestrator, redeploy_if_stale

    scenario_files = [item.path for item in scenarios]
    served = find_targets(scenario_files)
    names = {item.path.resolve(): item.scenario.name for item in scenarios}
    for line in describe(served, lambda path: names.get(path, str(path))):
        say(line)
    if not running():
        with local_orchestrator(scenario_files, timeout=timeout, say=say) as (local, served):
            yield Orchestrator(local.aws, local.target, "private", local.endpoint), served
        return
    if redeploy_if_stale():
        say("infra/ or lambdas/ changed since `itest local up`: redeployed")
    orchestrator = background()
    with enter_targets(served, orchestrator.aws, timeout=timeout) as served:
        yield orchestrator, served


def _region_of(state_machine_arn: str) -> str | None:
    parts = state_machine_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None
