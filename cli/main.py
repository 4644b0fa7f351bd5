"""The `itest` command: parse, call one function, render. Heavy imports stay inside commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from cli.errors import BadInput

FORMATS = ("table", "json")


@dataclass
class Options:
    """What the group's flags say about where the orchestrator is."""

    region: str | None
    profile: str | None
    stack: str
    state_machine_arn: str | None


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--var k=v` pairs into a dict; a pair without `=` is bad input."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--var {pair!r}: expected KEY=VALUE")
        parsed[key] = value
    return parsed


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--region", envvar="AWS_REGION", help="AWS region (default: boto3's chain).")
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: boto3's chain).")
@click.option("--stack", default="Itest", show_default=True, envvar="ITEST_STACK",
              help="CloudFormation stack of the orchestrator.")
@click.option("--state-machine-arn", envvar="ITEST_STATE_MACHINE_ARN",
              help="Use this state machine instead of the stack's.")
@click.version_option(package_name="itest")
@click.pass_context
def cli(ctx: click.Context, region: str | None, profile: str | None, stack: str,
        state_machine_arn: str | None) -> None:
    """Run end-to-end test scenarios on AWS through a Step Functions state machine."""
    ctx.obj = Options(region, profile, stack, state_machine_arn)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--wait/--no-wait", default=False, help="Wait for the results and print them.")
@click.option("--var", "var_pairs", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario var (repeatable).")
@click.option("--local", is_flag=True, help="Run on an embedded local AWS (implies --wait).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE instead of stdout.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds to wait at most.")
@click.pass_obj
def run(opts: Options, paths: tuple[Path, ...], wait: bool, var_pairs: tuple[str, ...],
        local: bool, fmt: str, output: Path | None, timeout: float | None) -> None:
    """Validate, upload and start the scenarios in PATHS (files or folders)."""
    from cli import commands

    overrides = parse_vars(var_pairs)
    scenarios = commands.load(paths)
    outcome = commands.run(
        scenarios, overrides=overrides, local=local, wait=wait or local, timeout=timeout,
        region=opts.region, profile=opts.profile, stack=opts.stack,
        state_machine_arn=opts.state_machine_arn,
    )
    commands.emit(outcome, fmt=fmt, output=output)
    sys.exit(outcome.exit_code)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check scenario files and folders offline; exit 2 on the first bad file."""
    from cli import commands

    for loaded in commands.load(paths):
        click.echo(f"ok  {loaded.path}  ({loaded.scenario.name}, {len(loaded.scenario.steps)} steps)")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors)."""
    import json

    from lambdas.model import scenario_json_schema

    click.echo(json.dumps(scenario_json_schema(), indent=2))


def main() -> None:
    """Console script entry point."""
    cli(prog_name="itest")


if __name__ == "__main__":
    main()
