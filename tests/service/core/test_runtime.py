"""The runtime settles its heap after start-up and reloads: long-lived objects out of the collector's way."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from attrition.service.core.runtime import settle_heap


class _Node:
    """A cyclic object, which only the cyclic collector can free."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # leave the test process as it was


def test_what_was_settled_is_frozen_and_what_a_reload_replaced_is_collected(thawed: None) -> None:
    model = _Node()
    alive = weakref.ref(model)
    settle_heap()
    assert gc.get_freeze_count() > 0
    gc.collect()
    assert alive() is not None  # still referenced, and now out of every collection's way
    del model  # a reload replaced it: a frozen cycle would never be freed...
    gc.collect()
    assert alive() is not None  # ...by a collection alone,
    settle_heap()
    assert alive() is None  # but the next settle unfreezes first and collects it
