"""The `itest` command: parse, call one function, render. Heavy imports stay inside commands."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from itest.cli.errors import BadInput, InfraError, Interrupted, translate

if TYPE_CHECKING:
    from itest.cli.connect import Where
    from itest.cli.reports import Outcome

FORMATS = ("table", "json", "junit")


class ItestGroup(click.Group):
    """The last line of defence: no traceback ever reaches a user."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        except Exception as error:
            if os.environ.get("ITEST_DEBUG"):
                raise
            raise translate(error) or InfraError(
                f"unexpected {type(error).__name__}: {error} (ITEST_DEBUG=1 shows the traceback)"
            ) from None


def parse_vars(pairs: tuple[str, ...], flag: str = "--var") -> dict[str, str]:
    """`--var k=v` (or `-c k=v`) pairs into a dict; a pair without `=` is bad input."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"{flag} {pair!r}: expected KEY=VALUE")
        parsed[key] = value
    return parsed


def where_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--local, --stack, --state-machine-arn, --region, --profile, as one `where` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, local: bool, stack: str | None, state_machine_arn: str | None,
                region: str | None, profile: str | None, **kwargs: Any) -> Any:
        from itest.cli.connect import Where

        where = Where(region, profile, stack, state_machine_arn, local)
        return command(*args, where=where, **kwargs)

    options = [
        click.option("--profile", envvar="AWS_PROFILE",
                     help="AWS profile (env AWS_PROFILE; default: boto3's chain)."),
        click.option("--region", envvar="AWS_REGION",
                     help="AWS region (env AWS_REGION; default: boto3's chain). "
                          "status and logs take it from the ARN."),
        click.option("--state-machine-arn", envvar="ITEST_STATE_MACHINE_ARN",
                     help="Use this state machine (env ITEST_STATE_MACHINE_ARN) "
                          "instead of the stack's."),
        click.option("--stack", envvar="ITEST_STACK",
                     help="The orchestrator's CloudFormation stack (env ITEST_STACK, else "
                          "./cdk.json's itest:stackName context, else Itest)."),
        click.option("--local", is_flag=True,
                     help="Use the local AWS (`itest local up`; run starts a private one "
                          "if it is not up)."),
    ]
    for option in options:
        wrapper = option(wrapper)
    return wrapper


env_option = click.option(
    "--env", metavar="NAME",
    help="Apply environment NAME of the nearest itest.yaml: its vars (--var wins), region "
         "and stack (the --region/--stack flags win).",
)


def _environment(name: str | None, where: Where, overrides: dict[str, str]
                 ) -> tuple[Where, dict[str, Any]]:
    """`where` and the vars with environment NAME applied (command-line flags win)."""
    if name is None:
        return where, overrides
    import dataclasses

    from click.core import ParameterSource
    from itest.cli.environments import load_environment, with_environment

    environment = load_environment(name)
    context = click.get_current_context()

    def typed(option: str) -> bool:
        return context.get_parameter_source(option) == ParameterSource.COMMANDLINE

    region = where.region if typed("region") else environment.region or where.region
    stack = where.stack if typed("stack") else environment.stack or where.stack
    where = dataclasses.replace(where, region=region, stack=stack)
    return where, with_environment(environment, overrides)


@click.group(cls=ItestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="itest")
def cli() -> None:
    """Run end-to-end test scenarios on AWS through a Step Functions state machine.

    Exit codes: 0 all passed, 1 a scenario failed, 2 bad input or usage
    (nothing started), 3 infrastructure error, timeout or interrupted.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only scenarios with this tag (repeatable: any of them).")
@click.option("--wait/--no-wait", default=False,
              help="Wait, showing progress, and print the results (--local always waits).")
@click.option("--var", "var_pairs", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario var (repeatable).")
@click.option("--parallel", type=click.IntRange(min=1), metavar="N",
              help="With --wait: at most N executions at once; the rest wait to start "
                   "[default: 10; with --suite: the stack's itest:suiteMaxConcurrency].")
@click.option("--suite", is_flag=True,
              help="Start ONE suite execution that starts every scenario (Step Functions "
                   "fans out; the executions go on if this command stops); reports as "
                   "without it.")
@click.option("--timeout", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Stop waiting after this long (exit 3; executions go on) "
                   "[default: each scenario's timeout_seconds + 120].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE (the table still goes to stdout).")
@env_option
@where_options
def run(paths: tuple[Path, ...], tags: tuple[str, ...], wait: bool,
        var_pairs: tuple[str, ...], parallel: int | None, suite: bool, timeout: float | None,
        fmt: str, output: Path | None, env: str | None, where: Where) -> None:
    """Validate, upload and start the scenarios in PATHS (files or folders)."""
    from itest.cli import commands

    where, overrides = _environment(env, where, parse_vars(var_pairs))
    waits = wait or where.local
    if parallel is not None and not waits and not suite:
        raise BadInput("--parallel needs --wait (or --suite): without them every execution "
                       "starts at once")
    if timeout is not None and not waits:
        raise BadInput("--timeout needs --wait")
    _check_output(output)
    outcome = commands.run(
        where, paths, tags=tags, overrides=overrides, wait=waits,
        parallel=parallel, suite=suite, timeout=timeout,
        say=lambda line: click.echo(line, err=True),
    )
    emit(outcome, fmt, output)
    sys.exit(outcome.exit_code)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only scenarios with this tag (repeatable: any of them).")
@click.option("--label", metavar="LABEL", callback=lambda ctx, param, value: _label(value),
              help="Upload to scenarios/<name>/LABEL.json (e.g. `ci`, for a pipeline's "
                   "invoke action) [default: the content's hash].")
@click.option("--var", "var_pairs", multiple=True, metavar="KEY=VALUE",
              help="Put this var in the printed execution input (repeatable).")
@click.option("--suite", is_flag=True,
              help="Also upload a list of them to suites/LABEL.json and print the one input "
                   "of a suite execution that runs them all (ItestInvokeStage).")
@env_option
@where_options
def upload(paths: tuple[Path, ...], tags: tuple[str, ...], label: str | None,
           var_pairs: tuple[str, ...], suite: bool, env: str | None, where: Where) -> None:
    """Validate and upload scenarios without starting them; print each execution input.

    For pipelines that start executions themselves (CodePipeline's Step
    Functions invoke action): one JSON line per scenario, or with --suite one
    line for the suite execution.
    """
    import json

    from itest.cli import commands

    where, overrides = _environment(env, where, parse_vars(var_pairs))
    for item in commands.upload(where, paths, tags=tags, label=label, overrides=overrides,
                                suite=suite):
        click.echo(json.dumps(item))


def _label(value: str | None) -> str | None:
    import re

    if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise click.BadParameter("letters, digits, '.', '_' or '-' (at most 64), e.g. ci")
    return value


@cli.command()
@click.argument("run", metavar="RUN_ID|ARN")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE (the table still goes to stdout).")
@where_options
def status(run: str, fmt: str, output: Path | None, where: Where) -> None:
    """Show one execution: status, steps, failures (expected and actual), cleanup.

    RUN_ID|ARN: a run id (found on the state machine the flags name, e.g. with
    --local) or an execution ARN. Works while it runs. Exit code as for run; 0
    while still running.
    """
    from itest.cli import commands

    _check_output(output)
    outcome = commands.status(where, run)
    emit(outcome, fmt, output)
    sys.exit(outcome.exit_code)


@cli.command()
@click.argument("run", metavar="RUN_ID|ARN")
@click.option("--follow", "-f", is_flag=True, help="Keep tailing until the execution ends.")
@click.option("--since", metavar="AGE|TIME",
              help="Only lines newer than this: 30s, 10m, 2h, 1d or an ISO 8601 time "
                   "[default: the execution's start].")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True, help="json: one JSON object per line.")
@where_options
def logs(run: str, follow: bool, since: str | None, fmt: str, where: Where) -> None:
    """Print the Lambda and state machine log lines of one execution (RUN_ID|ARN, as
    for status), in time order."""
    import json

    from itest.cli import commands

    def emit_lines(lines: list[Any]) -> None:
        for line in lines:
            if fmt == "json":
                click.echo(json.dumps(line.as_json(), default=str, ensure_ascii=False))
            else:
                text = line.as_text()
                red = line.level == "ERROR" and _color()
                click.echo(click.style(text, fg="red") if red else text)

    commands.logs(where, run, since=since, follow=follow, emit=emit_lines)


@cli.command("list")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only scenarios with this tag.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="How many recent executions.")
@click.option("--executions/--no-executions", default=True, show_default=True,
              help="Also list recent executions (needs AWS or --local).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
@where_options
def list_(paths: tuple[Path, ...], tags: tuple[str, ...], limit: int, executions: bool, fmt: str,
          where: Where) -> None:
    """List scenarios in PATHS (default ./scenarios) and the latest executions."""
    import json

    from itest.cli import commands
    from itest.cli.render import console, print_listing

    found = commands.listing(where, paths, tags=tags, executions=executions, limit=limit)
    if fmt == "json":
        click.echo(json.dumps({"scenarios": found.scenarios, "executions": found.executions},
                              indent=2, default=str))
    else:
        print_listing(console(), found.scenarios, found.executions)
    for problem in found.problems:
        click.echo(problem, err=True)
    if found.error is not None:
        raise found.error
    if found.problems:
        sys.exit(BadInput.exit_code)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check scenario files and folders offline; exit 2 listing every problem.

    Warnings (stderr, exit 0): an http step without expect, a vars.X that nothing
    visible gives.
    """
    from itest.cli.scenarios import load, warnings_for

    for loaded in load(paths):
        scenario = loaded.scenario
        click.echo(f"ok  {loaded.path}  ({loaded.label}, {len(scenario.steps)} steps)")
        for warning in warnings_for(loaded):
            click.echo(f"warning: {warning}", err=True)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors)."""
    import json

    from itest.cli.authoring import authoring_schema

    click.echo(json.dumps(authoring_schema(), indent=2))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def init(folder: Path) -> None:
    """Write a starter into FOLDER (default: here): scenarios/example.yaml, which runs on the
    local AWS as it is, a scenarios/itest_local.py skeleton and the format's JSON Schema.

    Files already there are kept; the schema is rewritten for this itest version.
    """
    from itest.cli.starter import init as write_starter

    for written in write_starter(folder):
        click.echo(f"{'kept ' if written.kept else 'wrote'}  {written.path}")
    click.echo(f"next: itest run {folder / 'scenarios'}/ --local", err=True)


def context_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-c", "--context", "context_pairs", multiple=True, metavar="KEY=VALUE",
        help="CDK context on top of ./cdk.json's, e.g. -c itest:stackName=ItestQa "
             "(repeatable; docs/production.md lists the keys).",
    )(command)


@cli.command()
@context_option
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("cdk.out"), show_default=True,
              help="Folder for the cloud assembly (template and assets).")
def synth(context_pairs: tuple[str, ...], output: Path) -> None:
    """Write the orchestrator's CloudFormation template (and its assets) to a folder.

    No CDK project needed: the app is the installed package's, configured by
    ./cdk.json's context (if any) and -c.
    """
    from itest.cli import cdk_app

    context = {**cdk_app.project_context(), **parse_vars(context_pairs, "-c")}
    click.echo(cdk_app.synth(output, context))


@cli.command(context_settings={"ignore_unknown_options": True})
@context_option
@click.option("--profile", envvar="AWS_PROFILE",
              help="AWS profile (env AWS_PROFILE; default: boto3's chain).")
@click.option("--region", envvar="AWS_REGION",
              help="AWS region (env AWS_REGION; default: boto3's chain).")
@click.argument("cdk_args", nargs=-1, type=click.UNPROCESSED)
def deploy(context_pairs: tuple[str, ...], profile: str | None, region: str | None,
           cdk_args: tuple[str, ...]) -> None:
    """Deploy the orchestrator stack with the AWS CDK CLI (`cdk`, else `npx aws-cdk`).

    Context as for synth. Arguments after `--` go to `cdk deploy` as they are,
    e.g. `itest deploy -- --require-approval never`. The account must be
    bootstrapped once (`npx aws-cdk bootstrap`).
    """
    from itest.cli import cdk_app

    stack = cdk_app.deploy(parse_vars(context_pairs, "-c"), cdk_args,
                           profile=profile, region=region)
    click.echo(f"deployed {stack}; run the scenarios with `itest run scenarios/ --wait`")


@cli.group()
def local() -> None:
    """A local AWS that stays up between commands (`run/status/logs/list --local`)."""


@local.command("up")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
def local_up(port: int) -> None:
    """Start the local AWS in the background and deploy the orchestrator to it."""
    from itest.cli import commands

    state, started = commands.local_up(port)
    verb = "up" if started else "already up"
    click.echo(f"local AWS {verb} at {state.endpoint} (pid {state.pid})")
    click.echo("use --local with run, status, logs and list; stop it with `itest local down`")


@local.command("down")
def local_down() -> None:
    """Stop the background local AWS and its Lambda workers."""
    from itest.cli import commands

    state = commands.local_down()
    click.echo(f"local AWS at {state.endpoint} stopped" if state else "no local AWS was running")


@local.command("status")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True)
def local_status(fmt: str) -> None:
    """Say whether the background local AWS is up and where; exit 3 when it is not."""
    import json

    from itest.cli import commands
    from itest.cli.local.background import describe

    state = commands.local_status()
    if fmt == "json":
        click.echo(json.dumps(describe(state) if state else {"state": "down"}, indent=2))
    elif state is None:
        click.echo("local AWS: down (start it with `itest local up`)")
    else:
        click.echo(f"local AWS: {state.state} at {state.endpoint or '-'} (pid {state.pid}, "
                   f"since {state.started_at})")
        if state.outputs:
            click.echo(f"state machine: {state.outputs.get('StateMachineArn')}")
        click.echo(f"log: {state.log_file}")
    if state is None or state.state != "up":
        sys.exit(InfraError.exit_code)


def emit(outcome: Outcome, fmt: str, output: Path | None) -> None:
    """The report in `fmt` on stdout, or in FILE with the table on stdout for people."""
    from itest.cli import render

    if output is None:
        if fmt == "table":
            render.print_outcome(render.console(), outcome)
        else:
            click.echo(render.render(outcome, fmt), nl=False)
        return
    try:
        output.write_text(render.render(outcome, fmt))
    except OSError as error:
        raise InfraError(f"--output {output}: {error.strerror or error}") from None
    render.print_outcome(render.console(), outcome)
    click.echo(f"{fmt} report written to {output}", err=True)


def _check_output(output: Path | None) -> None:
    """Before anything starts: a report that cannot be written is bad input."""
    if output is None:
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(f"--output {output}: {error.strerror or error}") from None
    if output.is_dir() or not os.access(output.parent, os.W_OK):
        raise BadInput(f"--output {output}: not a writable file")


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def main() -> None:
    """Console script entry point."""
    cli(prog_name="itest")


if __name__ == "__main__":
    main()
