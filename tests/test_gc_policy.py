"""The server's garbage-collection policy: the younger generations on a timer, the
oldest on a longer one or when the heap grows."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import weakref
from collections.abc import Callable

from relaydesk.core import gc_policy


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> Callable[[], Node | None]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


async def _until_gone(gone: Callable[[], Node | None]) -> bool:
    for _ in range(100):
        if gone() is None:
            return True
        await asyncio.sleep(0.02)
    return False


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _cycle_in_oldest_generation() -> Callable[[], Node | None]:
    """A cycle that was alive through a collection of the two younger generations, which
    moved it to the oldest, and is garbage now."""
    held = Node()
    held.other = Node()
    held.other.other = held
    gc.collect(1)
    gone = weakref.ref(held)
    del held
    return gone


async def test_full_collections_run_on_the_timer_and_thresholds_come_back() -> None:
    before = gc.get_threshold()
    task = asyncio.create_task(
        gc_policy.run_collections(young_interval=0.02, full_interval=0.1, heap_growth=100)
    )
    await asyncio.sleep(0)
    young, middle, old = gc.get_threshold()
    assert young == before[0] and middle > 1_000_000 and old > 1_000_000
    # A cycle that has reached the oldest generation is found by the timed full collection.
    gone = _cycle_in_oldest_generation()
    assert await _until_gone(gone)
    await _stop(task)
    assert gc.get_threshold() == before


async def test_the_oldest_generation_waits_for_the_full_collection() -> None:
    task = asyncio.create_task(
        gc_policy.run_collections(young_interval=0.02, full_interval=60, heap_growth=100)
    )
    try:
        await asyncio.sleep(0)
        gone = _cycle_in_oldest_generation()
        await asyncio.sleep(0.2)  # ten ticks
        assert gone() is not None
    finally:
        await _stop(task)
    gc.collect()


async def test_a_growing_heap_brings_the_full_collection_forward() -> None:
    task = asyncio.create_task(
        gc_policy.run_collections(young_interval=0.02, full_interval=60, heap_growth=0.05)
    )
    try:
        await asyncio.sleep(0)
        gone = _cycle_in_oldest_generation()
        await asyncio.sleep(0.1)
        assert gone() is not None
        # A tenth more memory blocks than when the timer started: past the 5 % growth.
        grown = [object() for _ in range(sys.getallocatedblocks() // 10)]
        assert await _until_gone(gone)
        del grown
    finally:
        await _stop(task)


async def test_each_tick_collects_the_middle_generation_too() -> None:
    task = asyncio.create_task(
        gc_policy.run_collections(young_interval=0.02, full_interval=60, heap_growth=100)
    )
    try:
        await asyncio.sleep(0)
        gc.collect()
        held = Node()
        held.other = Node()
        held.other.other = held
        gc.collect(0)  # survives a young collection: now in the middle generation
        gone = weakref.ref(held)
        del held
        gc.collect(0)
        assert gone() is not None  # no young collection finds it
        assert await _until_gone(gone)
    finally:
        await _stop(task)


async def test_the_youngest_generation_is_collected_on_the_timer_not_by_count() -> None:
    before = gc.get_threshold()
    # Allocation counts that never trigger a collection on their own, as under steady
    # churn: only the timer can find this cycle.
    gc.set_threshold(1_000_000, 1_000_000, 1_000_000)
    task = asyncio.create_task(gc_policy.run_collections(young_interval=0.02, full_interval=60))
    try:
        gc.collect()
        gone = _cycle()
        assert gone() is not None
        assert await _until_gone(gone)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.set_threshold(*before)


async def test_overlapping_timers_restore_the_thresholds_only_when_the_last_stops() -> None:
    before = gc.get_threshold()
    first = asyncio.create_task(gc_policy.run_collections(young_interval=0.02))
    await asyncio.sleep(0)
    second = asyncio.create_task(gc_policy.run_collections(young_interval=0.02))
    await asyncio.sleep(0)
    for task, still_running in ((first, True), (second, False)):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if still_running:
            assert gc.get_threshold()[2] > 1_000_000  # the other app's timer still runs
    assert gc.get_threshold() == before


def test_freeze_long_lived_hides_what_is_alive_now() -> None:
    try:
        gc_policy.freeze_long_lived()
        assert gc.get_freeze_count() > 0
        assert sum(len(gc.get_objects(generation)) for generation in range(3)) < 1000
    finally:
        gc.unfreeze()
