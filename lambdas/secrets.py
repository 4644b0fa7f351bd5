"""Secrets: resolved inside the Lambda, kept in memory, masked wherever text is written
(lambdas/masking.py).

``ssm:<parameter name or ARN>`` reads an SSM parameter (decrypted);
``secretsmanager:<id or ARN>`` (or a Secrets Manager ARN) reads a secret string.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from itest.lambdas.aws import engine_errors, target_client
from itest.lambdas.errors import SecretError
from itest.lambdas.masking import MASK, mask, remember

__all__ = ["MASK", "mask", "resolve"]
TTL_SECONDS = 300
_cache: dict[str, tuple[float, str]] = {}


def resolve(secrets: Mapping[str, str]) -> dict[str, str]:
    """Values of the declared secrets, cached for a few minutes per container, and
    remembered: everything the invocation writes from now on masks them.

    Raises:
        SecretError: a secret cannot be read (missing, access denied).
    """
    values = {name: _value(name, spec) for name, spec in secrets.items()}
    remember(values.values())
    return values


def _value(name: str, spec: str) -> str:
    cached = _cache.get(spec)
    if cached and time.monotonic() - cached[0] < TTL_SECONDS:
        return cached[1]
    from botocore.exceptions import BotoCoreError, ClientError

    kind, _, ident = spec.partition(":")
    if kind == "arn":
        kind, ident = spec.split(":")[2], spec
    try:
        with engine_errors(f"reading secret {name!r}"):
            if kind == "ssm":
                response = target_client("ssm").get_parameter(Name=ident, WithDecryption=True)
                value = response["Parameter"]["Value"]
            else:
                value = target_client("secretsmanager").get_secret_value(SecretId=ident)[
                    "SecretString"
                ]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SecretError(
            f"secret {name!r} ({spec}): {error.get('Code')}: {error.get('Message', '')}"
        ) from exc
    except (BotoCoreError, KeyError) as exc:
        raise SecretError(f"secret {name!r} ({spec}): {exc!r}") from exc
    _cache[spec] = (time.monotonic(), value)
    return value
