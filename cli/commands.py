"""What the commands do, apart from parsing and printing: load, run, report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.aws import ClientFactory
from cli.errors import EXIT_FAILED, EXIT_INFRA, EXIT_PASSED, BadInput, InfraError
from cli.runs import StartedRun
from cli.target import Target

if TYPE_CHECKING:
    from lambdas.model import Scenario
    from lambdas.results import RunRecord

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
STATUS_EXIT = {"passed": EXIT_PASSED, "failed": EXIT_FAILED}


@dataclass(frozen=True)
class LoadedScenario:
    path: Path
    scenario: Scenario


@dataclass
class Report:
    """One run as the CLI shows it: the results table's record and the execution's end."""

    run: StartedRun
    status: str
    reason: str | None = None
    record: RunRecord | None = None

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = dict(self.record or {})
        record.pop("vars", None)
        return {
            "scenario": self.run.scenario,
            "run_id": self.run.run_id,
            "execution_arn": self.run.execution_arn,
            "status": self.status,
            "reason": self.reason,
            "steps": record.get("steps", []),
            "assertions": record.get("assertions"),
            "cleanup": record.get("cleanup"),
        }


@dataclass
class Outcome:
    """Everything `run` produced; the exit code follows the worst report."""

    started: list[StartedRun]
    reports: list[Report] = field(default_factory=list)
    waited: bool = False

    @property
    def exit_code(self) -> int:
        if not self.waited:
            return EXIT_PASSED
        return max((STATUS_EXIT.get(r.status, EXIT_INFRA) for r in self.reports), default=0)


def collect(paths: tuple[Path, ...]) -> list[Path]:
    """Scenario files named or found (recursively) in the folders named.

    Raises:
        BadInput: a path does not exist, or a folder holds no scenario.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SCENARIO_SUFFIXES)
            if not found:
                raise BadInput(f"{path}: no scenario files (*.yaml, *.yml, *.json) in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise BadInput(f"{path}: no such file or folder")
    return list(dict.fromkeys(files))


def load(paths: tuple[Path, ...]) -> list[LoadedScenario]:
    """Validate every file before anything is uploaded or started.

    Raises:
        BadInput: any file is invalid (all problems of all files are listed),
            or two files use the same scenario name.
    """
    from lambdas.errors import ScenarioError
    from lambdas.model import load_scenario_file

    loaded: list[LoadedScenario] = []
    problems: list[str] = []
    for path in collect(paths):
        try:
            loaded.append(LoadedScenario(path, load_scenario_file(path)))
        except ScenarioError as error:
            problems.append(str(error))
    names: dict[str, Path] = {}
    for item in loaded:
        if item.scenario.name in names:
            problems.append(
                f"{item.path}: name: '{item.scenario.name}' is already used by "
                f"{names[item.scenario.name]}; scenario names must be unique"
            )
        names.setdefault(item.scenario.name, item.path)
    if problems:
        raise BadInput("\n".join(problems))
    return loaded


def run(
    scenarios: list[LoadedScenario],
    *,
    overrides: dict[str, str],
    local: bool,
    wait: bool,
    timeout: float | None,
    region: str | None,
    profile: str | None,
    stack: str,
    state_machine_arn: str | None,
) -> Outcome:
    """Start every scenario (on the local AWS or the real one) and, if asked, wait."""
    if local:
        from cli.local_run import local_orchestrator

        with local_orchestrator([s.path for s in scenarios]) as (aws, target, target_vars):
            return _run_on(aws, target, scenarios, {**target_vars, **overrides}, True, timeout)
    from cli.aws import AwsSession
    from cli.target import find_target

    aws = AwsSession(region=region, profile=profile)
    target = find_target(aws, stack=stack, state_machine_arn=state_machine_arn)
    return _run_on(aws, target, scenarios, overrides, wait, timeout)


def _run_on(
    aws: ClientFactory,
    target: Target,
    scenarios: list[LoadedScenario],
    overrides: dict[str, str],
    wait: bool,
    timeout: float | None,
) -> Outcome:
    from cli import runs

    with _aws_errors():
        started = [runs.start(aws, target, s.scenario, overrides) for s in scenarios]
        outcome = Outcome(started)
        if not wait:
            return outcome
        longest = max(s.scenario.timeout_seconds for s in scenarios)
        statuses = runs.wait(aws, started, timeout_seconds=timeout or longest + 120)
        outcome.waited = True
        outcome.reports = [report(aws, target, r, statuses[r.run_id]) for r in started]
    return outcome


def report(aws: ClientFactory, target: Target, run: StartedRun, execution_status: str) -> Report:
    """Combine the results table's record with how the execution ended."""
    from lambdas.results import read_run

    record = read_run(run.run_id, table=target.results_table, dynamodb=aws.client("dynamodb"))
    if record and record["status"] in ("passed", "failed", "error"):
        return Report(run, record["status"], record.get("reason"), record)
    if execution_status == "RUNNING":
        return Report(run, "running", None, record)
    described = aws.client("stepfunctions").describe_execution(executionArn=run.execution_arn)
    reason = described.get("cause") or described.get("error") or execution_status.lower()
    return Report(run, "error", f"execution {execution_status}: {reason}", record)


@contextmanager
def _aws_errors() -> Iterator[None]:
    """AWS errors become one clear line and exit code 3."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        raise InfraError(str(error)) from None
    except BotoCoreError as error:
        raise InfraError(f"cannot reach AWS: {error}") from None


def emit(outcome: Outcome, *, fmt: str, output: Path | None) -> None:
    """Print (or write) the outcome in the chosen format."""
    from cli import render

    text = render.render(outcome, fmt)
    if output:
        output.write_text(text)
    else:
        render.echo(text, fmt, outcome)

