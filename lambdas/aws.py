"""boto3 clients, built once per process and only when first needed.

boto3 picks region, credentials and ``AWS_ENDPOINT_URL`` (the local stack) from
the environment, so nothing here names an endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from lambdas.errors import ActionError


@cache
def client(service: str) -> Any:
    """The shared client of ``service``; tests call ``client.cache_clear()``."""
    import boto3  # deferred: handlers that never call AWS skip ~100 ms of imports

    return boto3.client(service)


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn botocore's errors into :class:`ActionError` naming the call.

    Raises:
        ActionError: the call failed (``what: Code: message``).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        raise ActionError(f"{what}: {code}: {error.get('Message', '')}".rstrip(": ")) from exc
    except BotoCoreError as exc:
        raise ActionError(f"{what}: {exc}") from exc
