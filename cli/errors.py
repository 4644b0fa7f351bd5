"""Domain errors as Click exceptions, each with the exit code the CLI promises."""

from __future__ import annotations

import click

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFRA = 3


class BadInput(click.ClickException):
    """The user's input is wrong; nothing was uploaded or started."""

    exit_code = EXIT_BAD_INPUT


class InfraError(click.ClickException):
    """AWS (or the local AWS) could not do what was asked, or a wait timed out."""

    exit_code = EXIT_INFRA
