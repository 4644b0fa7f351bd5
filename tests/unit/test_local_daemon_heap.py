"""The background local AWS keeps its start-up heap out of full garbage collections
(cli/local/daemon.py), after collecting the start-up's garbage."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from itest.cli.local import daemon


class _Node:
    """Something a reference cycle can hold."""

    def __init__(self) -> None:
        self.itself = self


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_what_start_up_made_is_frozen_and_its_garbage_collected_first() -> None:
    dropped = weakref.ref(_Node())  # garbage only a collection frees: a cycle
    held = _Node()
    kept = weakref.ref(held)

    daemon.keep_the_start_up_heap()

    assert dropped() is None  # collected, not frozen for good
    assert gc.get_freeze_count() > 1000  # this test process's modules and objects
    del held  # a cycle made garbage after the freeze...
    gc.collect()
    assert kept() is not None  # ...which later full collections leave alone
