"""boto3 clients, built once per process and only when first needed.

Two kinds of credentials, never mixed: :func:`client` is the function's own
role (the orchestrator's bucket and table), :func:`target_client` the target
role (``TARGET_ROLE_ARN``, assumed and renewed here) for everything a scenario
touches: actions, cleanups, declared secrets. boto3 picks region, credentials
and ``AWS_ENDPOINT_URL`` (the local stack) from the environment, so nothing
here names an endpoint.
"""

from __future__ import annotations

import base64
import datetime
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import Any

from itest.lambdas.errors import ActionError, ConfigError, TransientError

THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "TransactionInProgressException",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
"""Error codes that mean "try again later" (AWS SDKs' throttling and transient lists)."""

ENGINE_CLIENT_EVENT = "itest-engine-client"
"""Emitted on each client :func:`client` makes for the engine's own calls (below)."""
RETRIES = {"mode": "standard", "max_attempts": 3}
"""boto3's retries for every client here."""
TARGET_ROLE_ENV = "TARGET_ROLE_ARN"
SESSION_SECONDS = 3600
RENEW_BEFORE_SECONDS = 300
"""Assumed credentials are renewed when less than this is left (a Lambda runs <= 15 min)."""
_target: dict[str, Any] = {"expires": 0.0, "session": None, "clients": {}}


@cache
def client(service: str, checked: bool = False) -> Any:
    """The shared client of ``service`` for the engine's own calls; tests call
    ``client.cache_clear()``.

    boto3's standard retry mode (3 attempts) absorbs a blip; what outlasts it is
    the state machine's to retry (:func:`engine_errors`), where the waits are visible.
    Parameters are not checked in the client (``parameter_validation``): the engine
    builds each request from fixed shapes and the service checks it anyway (some
    30 us of CPU a call). ``checked``: a client that checks them, for calls whose
    parameters come from a scenario (:func:`target_client`) or the configuration.
    """
    import boto3  # deferred: handlers that never call AWS skip ~100 ms of imports
    from botocore.config import Config

    config = Config(retries=RETRIES, parameter_validation=checked)
    made = boto3.client(service, config=config)
    if checked:
        return made
    # the local runtime may send the engine's calls leaner (cli/local/lean_calls.py:
    # the same requests, the same answers); on AWS nothing answers this event
    _, lean = made.meta.events.emit_until_response(ENGINE_CLIENT_EVENT, client=made)
    return lean or made


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx or no connection: the same call may well work later."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        ReadTimeoutError,
    )
    from botocore.exceptions import ConnectTimeoutError as ConnectTimeout

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in THROTTLING or int(status) >= 500
    return isinstance(
        exc, EndpointConnectionError | ConnectionClosedError | ReadTimeoutError | ConnectTimeout
    )


@contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """For the orchestrator's own calls: a transient failure becomes
    :class:`TransientError` (the state machine retries it); others pass through.

    Raises:
        TransientError: throttled, 5xx or unreachable.
    """
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{what}: {exc}") from exc
        raise


def target_client(service: str) -> Any:
    """A client for the systems under test: in the target role when ``TARGET_ROLE_ARN``
    is set (the stack sets it), else the function's own credentials.

    Raises:
        ConfigError: the target role cannot be assumed.
    """
    session = target_session()
    if session is None:
        return client(service, True)
    clients: dict[str, Any] = _target["clients"]
    if service not in clients:
        from botocore.config import Config

        clients[service] = session.client(service, config=Config(retries=RETRIES))
    return clients[service]


def target_session() -> Any:
    """The assumed target-role session (renewed before it expires), or None when
    ``TARGET_ROLE_ARN`` is unset and the function's own credentials serve the targets.

    Raises:
        ConfigError: the target role cannot be assumed.
    """
    role_arn = os.environ.get(TARGET_ROLE_ENV)
    if not role_arn:
        return None
    if _target["expires"] - RENEW_BEFORE_SECONDS < time.time():
        _target.update(session=_assume(role_arn), clients={})
    return _target["session"]


def forget_target_session() -> None:
    """Drop the assumed session (tests; a changed ``TARGET_ROLE_ARN``)."""
    _target.update(expires=0.0, session=None, clients={})


def _assume(role_arn: str) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        credentials = client("sts", True).assume_role(  # checked: the ARN is configuration
            RoleArn=role_arn, RoleSessionName="itest-targets", DurationSeconds=SESSION_SECONDS
        )["Credentials"]
    except (ClientError, BotoCoreError) as exc:
        raise ConfigError(f"cannot assume the target role {role_arn}: {exc}") from exc
    _target["expires"] = credentials["Expiration"].timestamp()
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


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
