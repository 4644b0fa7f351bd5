"""Shared by the local-AWS tests: one local AWS per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from itest.cli.local.server import LocalAws, local_aws


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """A local AWS for the module, with a cache of its own for extracted Lambda code."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITEST_CACHE_DIR", str(tmp_path_factory.mktemp("lambda-cache")))
        with local_aws() as local:
            yield local


@pytest.fixture(scope="module")
def role(aws: LocalAws) -> str:
    """A role ARN for the functions a module creates (moto checks only its form)."""
    return aws.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
