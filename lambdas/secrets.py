"""Secrets: resolved inside the Lambda, kept in memory, masked wherever text is written.

``ssm:<parameter name or ARN>`` reads an SSM parameter (decrypted);
``secretsmanager:<id or ARN>`` (or a Secrets Manager ARN) reads a secret string.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from itest.lambdas.aws import client
from itest.lambdas.errors import SecretError

MASK = "***"
TTL_SECONDS = 300
_cache: dict[str, tuple[float, str]] = {}


def resolve(secrets: Mapping[str, str]) -> dict[str, str]:
    """Values of the declared secrets, cached for a few minutes per container.

    Raises:
        SecretError: a secret cannot be read (missing, access denied).
    """
    return {name: _value(name, spec) for name, spec in secrets.items()}


def mask(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every secret value inside its strings replaced by ``***``.

    Also the forms a secret takes when a service echoes it: JSON-escaped (inside
    a response body's text), URL-encoded (in a query string) and base64 (in a
    Basic auth header).
    """
    values = sorted({v for s in secrets if s for v in _forms(s)}, key=len, reverse=True)
    if not values:
        return value
    return _mask(value, values)


def _forms(secret: str) -> set[str]:
    import base64
    import json
    from urllib.parse import quote, quote_plus

    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= {quote(secret, safe=""), quote_plus(secret)}
    if len(secret) >= 6:  # base64 of a very short secret would mask unrelated text
        forms.add(base64.b64encode(secret.encode()).decode())
    return {form for form in forms if form}


def _mask(value: Any, values: list[str]) -> Any:
    if isinstance(value, str):
        for secret in values:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {_mask(k, values): _mask(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, values) for v in value]
    return value


def _value(name: str, spec: str) -> str:
    cached = _cache.get(spec)
    if cached and time.monotonic() - cached[0] < TTL_SECONDS:
        return cached[1]
    from botocore.exceptions import BotoCoreError, ClientError

    kind, _, ident = spec.partition(":")
    if kind == "arn":
        kind, ident = spec.split(":")[2], spec
    try:
        if kind == "ssm":
            response = client("ssm").get_parameter(Name=ident, WithDecryption=True)
            value = response["Parameter"]["Value"]
        else:
            value = client("secretsmanager").get_secret_value(SecretId=ident)["SecretString"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SecretError(
            f"secret {name!r} ({spec}): {error.get('Code')}: {error.get('Message', '')}"
        ) from exc
    except (BotoCoreError, KeyError) as exc:
        raise SecretError(f"secret {name!r} ({spec}): {exc!r}") from exc
    _cache[spec] = (time.monotonic(), value)
    return value
