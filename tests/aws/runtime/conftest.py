"""In-process moto for the runtime tests: every test gets a fresh fake account.

Scoped to this folder so that the local-stack tests beside it, which talk to a
moto server over HTTP, never run under the in-process mock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from itest.lambdas import scenario_store, secrets
from itest.lambdas.aws import client
from moto import mock_aws

from tests.aws.tables import create_pk_sk_table

if TYPE_CHECKING:
    from .machine import Clock

RESULTS_TABLE = "itest-results"
BUCKET = "itest-scenarios"


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        _forget_clients()
        secrets._cache.clear()
        scenario_store._cache.clear()
        yield
    _forget_clients()


def _forget_clients() -> None:
    """Drop cached clients and boto3's default session, which caches the config
    files it read: tests after these may point AWS_CONFIG_FILE elsewhere."""
    client.cache_clear()
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The engine's clock, advanced by the Wait states of :func:`machine.execute`."""
    from itest.lambdas import states

    from .machine import Clock

    fake = Clock()
    monkeypatch.setattr(states, "clock", fake)
    return fake


@pytest.fixture
def results_table(monkeypatch: pytest.MonkeyPatch) -> str:
    """The results table as infra creates it (pk, sk strings)."""
    create_pk_sk_table(client("dynamodb"), RESULTS_TABLE)
    monkeypatch.setenv("RESULTS_TABLE", RESULTS_TABLE)
    return RESULTS_TABLE


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> str:
    client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("SCENARIO_BUCKET", BUCKET)
    return BUCKET


@pytest.fixture
def orders_table() -> str:
    """A target service's table, keyed by ``pk``."""
    client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "orders"
