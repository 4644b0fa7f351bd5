"""boto3 clients for the real AWS, and calls that survive API throttling."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol, TypeVar

from itest.cli.errors import THROTTLED, InfraError

T = TypeVar("T")

class ClientFactory(Protocol):
    """Anything that makes boto3 clients: the real AWS or the local one."""

    region: str

    def client(self, service: str) -> Any: ...


class AwsSession:
    """The real AWS: profile and region from the flags or boto3's chain.

    Raises:
        BadInput: the profile does not exist (from ``itest.cli.errors.aws_errors``).
    """

    def __init__(self, *, region: str | None = None, profile: str | None = None) -> None:
        import boto3

        self._session = boto3.Session(region_name=region, profile_name=profile)
        self.region = self._session.region_name or ""

    def credentials(self) -> Any:
        """boto3's credentials for this session, None when its chain finds none (no call)."""
        return self._session.get_credentials()

    @cache  # noqa: B019 - one client per service for the session's life
    def client(self, service: str) -> Any:
        from botocore.config import Config

        # adaptive: botocore itself slows down and retries when AWS throttles
        config = Config(retries={"mode": "adaptive", "max_attempts": 10})
        return self._session.client(service, config=config)


def is_throttle(error: BaseException) -> bool:
    """A ClientError that says "slow down" rather than "no"."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    return response.get("Error", {}).get("Code") in THROTTLED


def backoff(attempt: int, *, base: float = 0.5, cap: float = 20.0, rng: random.Random) -> float:
    """"Full jitter" exponential backoff: spread retries so many callers do not collide."""
    return rng.uniform(0, min(cap, base * 2**attempt))


def call_throttled(
    call: Callable[[], T],
    *,
    what: str,
    attempts: int = 8,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run one AWS call, retrying it (backoff with jitter) for as long as AWS throttles it.

    botocore's adaptive mode already retries inside the client; this is the
    layer above it, for calls whose loss would lose a run (StartExecution).

    Raises:
        InfraError: AWS still throttled after `attempts` tries.
    """
    rng = rng or random.Random()
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:
            if not is_throttle(error):
                raise
            if attempt == attempts - 1:
                raise InfraError(
                    f"AWS kept throttling {what} after {attempts} tries; "
                    "try again later or with a lower --parallel"
                ) from None
            sleep(backoff(attempt, rng=rng))
    raise AssertionError("unreachable")
