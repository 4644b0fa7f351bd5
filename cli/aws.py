"""boto3 clients for the real AWS, built from boto3's usual credential chain."""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol


class ClientFactory(Protocol):
    """Anything that makes boto3 clients: the real AWS or the local one."""

    region: str

    def client(self, service: str) -> Any: ...


class AwsSession:
    """The real AWS: profile and region from the flags or boto3's chain."""

    def __init__(self, *, region: str | None = None, profile: str | None = None) -> None:
        import boto3

        self._session = boto3.Session(region_name=region, profile_name=profile)
        self.region = self._session.region_name or ""

    @cache  # noqa: B019 - one client per service for the session's life
    def client(self, service: str) -> Any:
        from botocore.config import Config

        config = Config(retries={"mode": "adaptive", "max_attempts": 10})
        return self._session.client(service, config=config)
