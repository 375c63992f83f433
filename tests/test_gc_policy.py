"""The server's garbage-collection policy: no automatic full collections, a timed one."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref

from relaydesk.core import gc_policy


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_full_collections_run_on_the_timer_and_thresholds_come_back() -> None:
    before = gc.get_threshold()
    task = asyncio.create_task(gc_policy.run_full_collections(interval=0.05))
    await asyncio.sleep(0)
    young, middle, old = gc.get_threshold()
    assert (young, middle) == before[:2] and old > 1_000_000
    # A cycle that has reached the oldest generation is found by the timed collection.
    a, b = Node(), Node()
    a.other, b.other = b, a
    gc.collect(1)
    gc.collect(1)
    gone = weakref.ref(a)
    del a, b
    for _ in range(100):
        if gone() is None:
            break
        await asyncio.sleep(0.02)
    assert gone() is None
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert gc.get_threshold() == before


def test_freeze_long_lived_hides_what_is_alive_now() -> None:
    try:
        gc_policy.freeze_long_lived()
        assert gc.get_freeze_count() > 0
        assert sum(len(gc.get_objects(generation)) for generation in range(3)) < 1000
    finally:
        gc.unfreeze()
