"""The local Lambda pool grows for long invocations, not for a burst of short ones
(cli/local/worker_pool.py: a cold start costs more than waiting for a warm worker),
nor while the local AWS's own process is busy (a worker more would wait on it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.server import local_aws

from tests.aws.test_local_pool import _function, _invoke
from tests.aws.together import together

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from itest.cli.local.server import LocalAws

CONCURRENT = 8


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITEST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("ITEST_LAMBDA_WORKERS", str(CONCURRENT))
        with local_aws() as local:
            yield local


def _served_by(aws: LocalAws, name: str, event: dict[str, Any]) -> set[int]:
    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = pool.map(lambda _: _invoke(aws, name, event)["pid"], range(CONCURRENT))
        return set(answers)


def test_a_burst_of_short_invocations_queues_for_the_warm_worker(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child busy for GROW_AFTER_SECONDS gets a sibling: made 5 s here, so that a loaded
    machine stalling a 10 ms invocation for half a second does not look like a long one."""
    from itest.cli.local import worker_pool

    monkeypatch.setattr(worker_pool, "GROW_AFTER_SECONDS", 5.0)
    name = _function(aws, "short")
    _invoke(aws, name, {})  # warm

    assert len(_served_by(aws, name, {"sleep": 0.01})) <= 2  # not one cold start each


def test_long_invocations_get_workers_of_their_own(aws: LocalAws, tmp_path: Path) -> None:
    """Each invocation lasts until all are in a handler at once (not a sleep that a slow
    machine could end before the pool has grown): only a worker each lets them end."""
    name = _function(aws, "long")
    _invoke(aws, name, {})

    served = _served_by(aws, name, together(tmp_path, CONCURRENT))

    assert len(served) == len(list(tmp_path.iterdir())) == CONCURRENT


def test_a_busy_local_aws_does_not_grow_the_pool(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process answering the workers' calls uses more than BUSY_SHARE of a core (50
    runs at once): long invocations queue for the warm worker instead of cold starts."""
    from itest.cli.local import worker_pool

    name = _function(aws, "busy")
    _invoke(aws, name, {})
    monkeypatch.setattr(worker_pool._OwnLoad, "share", lambda self: worker_pool.BUSY_SHARE + 0.1)

    assert len(_served_by(aws, name, {"sleep": 1.0})) == 1
