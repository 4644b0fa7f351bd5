"""Domain errors as Click exceptions, each with the exit code the CLI promises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFRA = 3

# Error codes AWS services use when a caller goes over its request rate.
THROTTLED = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)


class BadInput(click.ClickException):
    """The user's input is wrong; nothing was uploaded or started."""

    exit_code = EXIT_BAD_INPUT


class InfraError(click.ClickException):
    """AWS (or the local AWS) could not do what was asked, or a wait timed out."""

    exit_code = EXIT_INFRA


class Interrupted(InfraError):
    """Ctrl-C: the message says what was left running and how to follow it."""


@contextmanager
def aws_errors(*, local_endpoint: str | None = None) -> Iterator[None]:
    """Every botocore failure becomes one line and exit code 2 (fix the command) or 3.

    `local_endpoint`: the local AWS being talked to, so that a dead one is
    named as such rather than as "AWS".
    """
    try:
        yield
    except Exception as error:
        translated = translate(error, local_endpoint=local_endpoint)
        if translated is None:
            raise
        raise translated from None


def translate(
    error: BaseException, *, local_endpoint: str | None = None
) -> click.ClickException | None:
    """The one-line error for a botocore or local AWS exception; None for anything else.

    botocore is imported only when there is one of its errors to look at.
    """
    from itest.cli.local.errors import LocalAwsError  # no moto, no boto3: cheap

    if isinstance(error, LocalAwsError):
        return InfraError(str(error))  # its message says what and why on its own
    if not type(error).__module__.startswith("botocore"):
        return None
    from botocore import exceptions as boto

    if isinstance(error, boto.NoRegionError):
        return BadInput(
            "no AWS region: pass --region, set AWS_REGION, or set one in your AWS profile"
        )
    if isinstance(error, boto.ProfileNotFound):
        return BadInput(f"{error}: check --profile / AWS_PROFILE")
    if isinstance(error, boto.NoCredentialsError):
        return InfraError(
            "no AWS credentials found: configure a profile (--profile), environment "
            "variables or a role; or run on the local AWS with --local"
        )
    if isinstance(error, boto.TokenRetrievalError | boto.SSOTokenLoadError):
        return InfraError(f"AWS credentials could not be refreshed: {error}")
    if isinstance(error, boto.EndpointConnectionError | boto.ConnectionClosedError):
        if local_endpoint:
            return InfraError(
                f"the local AWS at {local_endpoint} is not answering: see `itest local status`"
            )
        return InfraError(f"cannot reach AWS: {error}")
    if isinstance(error, boto.ClientError):
        return InfraError(_client_error_line(error))
    if isinstance(error, boto.BotoCoreError):
        return InfraError(f"AWS call failed: {error}")
    return None


def _client_error_line(error: BaseException) -> str:
    response = getattr(error, "response", {}) or {}
    code = response.get("Error", {}).get("Code", "Error")
    message = response.get("Error", {}).get("Message", "") or str(error)
    operation = getattr(error, "operation_name", "")
    where = f" ({operation})" if operation else ""
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return f"AWS credentials have expired{where}: refresh them (e.g. aws sso login)"
    if code in THROTTLED:
        return f"AWS throttled{where} even after retries: try again, or with a lower --parallel"
    return f"AWS {code}{where}: {message}".rstrip(": ")

