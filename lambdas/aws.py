"""boto3 clients, built once per process and only when first needed.

boto3 picks region, credentials and ``AWS_ENDPOINT_URL`` (the local stack) from
the environment, so nothing here names an endpoint.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import Any

from itest.lambdas.errors import ActionError


@cache
def client(service: str) -> Any:
    """The shared client of ``service``; tests call ``client.cache_clear()``."""
    import boto3  # deferred: handlers that never call AWS skip ~100 ms of imports

    return boto3.client(service)


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn botocore's errors into :class:`ActionError` naming the call.

    Raises:
        ActionError: the call failed (``what: Code: message``); parameters that
            botocore rejects are not retryable, anything else is.
    """
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        raise ActionError(f"{what}: {code}: {error.get('Message', '')}".rstrip(": ")) from exc
    except ParamValidationError as exc:
        message = " ".join(str(exc).split())
        raise ActionError(f"{what}: {message}", retryable=False) from exc
    except BotoCoreError as exc:
        raise ActionError(f"{what}: {exc}") from exc


def plain(value: Any) -> Any:
    """A boto3 response as plain JSON: timestamps as ISO 8601 text, bytes and
    streams as text (base64 when not UTF-8), Decimals as numbers."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "read"):  # botocore's StreamingBody
        value = value.read()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode()
    return value
