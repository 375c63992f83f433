"""The server's garbage-collection policy: the younger generations on a timer, the
oldest on a longer one or when the heap grows."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import weakref
from collections.abc import AsyncIterator, Callable

from relaydesk.api.app import create_app
from relaydesk.core import gc_policy
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from tests.waiting import eventually

# Ticks every 20 ms; no full collection unless a test asks for one.
TICK = {"young_interval": 0.02, "full_interval": 60.0, "heap_growth": 100.0}


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _live_cycle() -> Node:
    held = Node()
    held.other = Node()
    held.other.other = held
    return held


def _garbage_cycle() -> Callable[[], Node | None]:
    return weakref.ref(_live_cycle())


def _garbage_after(collect: Callable[[], object]) -> Callable[[], Node | None]:
    """A cycle that was alive through `collect()`, which moved it to an older
    generation, and is garbage now."""
    held = _live_cycle()
    collect()
    gone = weakref.ref(held)
    del held
    return gone


async def _until_gone(gone: Callable[[], Node | None]) -> bool:
    await eventually(lambda: gone() is None, timeout=2)
    return True


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def _timer(**options: float) -> AsyncIterator[None]:
    task = asyncio.create_task(gc_policy.run_collections(**{**TICK, **options}))
    await asyncio.sleep(0)  # it has set the thresholds
    try:
        yield
    finally:
        await _stop(task)


async def test_full_collections_run_on_the_timer_and_thresholds_come_back() -> None:
    before = gc.get_threshold()
    async with _timer(full_interval=0.1):
        young, middle, old = gc.get_threshold()
        assert young == before[0] and middle > 1_000_000 and old > 1_000_000
        gone = _garbage_after(lambda: gc.collect(1))  # in the oldest generation
        assert await _until_gone(gone)
    assert gc.get_threshold() == before


async def test_the_oldest_generation_waits_for_the_full_collection() -> None:
    async with _timer():
        gone = _garbage_after(lambda: gc.collect(1))
        await asyncio.sleep(0.2)  # ten ticks
        assert gone() is not None
    gc.collect()


async def test_a_growing_heap_brings_the_full_collection_forward() -> None:
    async with _timer(heap_growth=0.05):
        gone = _garbage_after(lambda: gc.collect(1))
        await asyncio.sleep(0.1)
        assert gone() is not None
        # A tenth more memory blocks than when the timer started: past the 5 % growth.
        grown = [object() for _ in range(sys.getallocatedblocks() // 10)]
        assert await _until_gone(gone)
        del grown


async def test_each_tick_collects_the_middle_generation_too() -> None:
    async with _timer():
        gc.collect()
        gone = _garbage_after(lambda: gc.collect(0))  # in the middle generation
        gc.collect(0)
        assert gone() is not None  # no young collection finds it
        assert await _until_gone(gone)


async def test_the_youngest_generation_is_collected_on_the_timer_not_by_count() -> None:
    before = gc.get_threshold()
    # Allocation counts that never trigger a collection on their own, as under steady
    # churn: only the timer can find this cycle.
    gc.set_threshold(1_000_000, 1_000_000, 1_000_000)
    try:
        async with _timer():
            gc.collect()
            gone = _garbage_cycle()
            assert gone() is not None
            assert await _until_gone(gone)
    finally:
        gc.set_threshold(*before)


async def test_overlapping_timers_restore_the_thresholds_only_when_the_last_stops() -> None:
    before = gc.get_threshold()
    first = asyncio.create_task(gc_policy.run_collections(young_interval=0.02))
    await asyncio.sleep(0)
    second = asyncio.create_task(gc_policy.run_collections(young_interval=0.02))
    await asyncio.sleep(0)
    await _stop(first)
    assert gc.get_threshold()[2] > 1_000_000  # the other app's timer still runs
    await _stop(second)
    assert gc.get_threshold() == before


def test_freeze_long_lived_hides_what_is_alive_now() -> None:
    try:
        gc_policy.freeze_long_lived()
        assert gc.get_freeze_count() > 0
        assert sum(len(gc.get_objects(generation)) for generation in range(3)) < 1000
    finally:
        gc.unfreeze()


def test_the_policy_applies_only_to_cpython_3_11_to_3_13_and_can_be_switched_off() -> None:
    assert gc_policy.applies(implementation="cpython", version=(3, 11))
    assert gc_policy.applies(implementation="cpython", version=(3, 13))
    # 3.14's incremental collector has two generations: the thresholds mean something else.
    assert not gc_policy.applies(implementation="cpython", version=(3, 14))
    assert not gc_policy.applies(implementation="cpython", version=(3, 10))
    assert not gc_policy.applies(implementation="pypy", version=(3, 11))
    assert not gc_policy.applies(False, implementation="cpython", version=(3, 12))


async def test_the_server_leaves_the_collector_alone_when_the_setting_is_off(
    db: Database,
) -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with override_settings(gc_tuning=False):
        app = create_app()
        async with app.api.router.lifespan_context(app.api):
            for _ in range(2):  # the warm-up task runs to its first await (after its freeze)
                await asyncio.sleep(0)
            assert gc.get_threshold() == before
            assert gc.get_freeze_count() == frozen
