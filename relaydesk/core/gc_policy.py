"""When the garbage collector runs, in a server whose tail latency matters.

While the cyclic collector runs no socket is served, and CPython's own schedule let young,
middle and full collections land in the message path (10-120 ms pauses). So a timer
collects the young and middle generations every `YOUNG_COLLECTION_INTERVAL_S` (each tick
then holds only one tick's survivors, about a millisecond of work) and everything every
`FULL_COLLECTION_INTERVAL_S` or once the heap grew by `FULL_COLLECTION_HEAP_GROWTH`.
The measurements behind each choice are in docs/performance.md.

The policy is tuned to CPython 3.11-3.13's three generations; on any other interpreter
(3.14's incremental collector has two) or with `RELAYDESK_GC_TUNING=false` the server
leaves the collector alone.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time

log = logging.getLogger(__name__)

# (implementation, first, last) versions whose collector this policy was measured on.
SUPPORTED_INTERPRETER = ("cpython", (3, 11), (3, 13))

YOUNG_COLLECTION_INTERVAL_S = 0.1
FULL_COLLECTION_INTERVAL_S = 300.0
# Memory blocks in use (`sys.getallocatedblocks`, 0.08 ms to read) that trigger an early
# full collection, relative to what the last one left.
FULL_COLLECTION_HEAP_GROWTH = 0.25
# CPython counts a generation's passes and collects the next one after this many: a
# threshold no server reaches between two timer collections.
_NEVER = 1_000_000_000
# Thresholds are process-wide but a process may run several apps (tests, tools): the first
# timer to start saves CPython's thresholds and the last one to stop puts them back.
_running = 0
_saved_thresholds: tuple[int, int, int] | None = None


def applies(
    enabled: bool = True,
    *,
    implementation: str | None = None,
    version: tuple[int, int] | None = None,
) -> bool:
    """Whether the server should tune the collector: the setting is on and this is an
    interpreter whose generations the policy was measured on."""
    name, first, last = SUPPORTED_INTERPRETER
    implementation = implementation or sys.implementation.name
    version = version or (sys.version_info.major, sys.version_info.minor)
    if not enabled:
        return False
    if implementation != name or not first <= version <= last:
        log.info(
            "garbage collector left at the interpreter's defaults: the tuning is for "
            "%s %d.%d-%d.%d, this is %s %d.%d",
            name,
            *first,
            *last,
            implementation,
            *version,
        )
        return False
    return True


def freeze_long_lived() -> None:
    """Collect, then move every object alive now out of the collector's sight: call it
    once what lives for the whole process (modules, models, dictionaries) is loaded."""
    gc.collect()
    gc.freeze()


async def run_collections(
    young_interval: float = YOUNG_COLLECTION_INTERVAL_S,
    full_interval: float = FULL_COLLECTION_INTERVAL_S,
    heap_growth: float = FULL_COLLECTION_HEAP_GROWTH,
) -> None:
    """Turn automatic middle and full collections off; collect the two younger generations
    every `young_interval` seconds, and everything every `full_interval` or once the heap
    has grown by `heap_growth` since the last full collection, until cancelled (then, once
    no other timer runs, CPython's thresholds are restored). CPython still starts young
    collections by count in between."""
    global _running, _saved_thresholds
    if _running == 0:
        _saved_thresholds = gc.get_threshold()
    _running += 1
    young, _, _ = _saved_thresholds or gc.get_threshold()
    gc.set_threshold(young, _NEVER, _NEVER)
    loop = asyncio.get_running_loop()
    next_full = loop.time() + full_interval
    heap_limit = sys.getallocatedblocks() * (1 + heap_growth)
    try:
        while True:
            await asyncio.sleep(young_interval)
            now = loop.time()
            if now < next_full and sys.getallocatedblocks() < heap_limit:
                gc.collect(1)
                continue
            started = time.perf_counter()
            found = gc.collect()
            next_full = now + full_interval
            heap_limit = sys.getallocatedblocks() * (1 + heap_growth)
            log.debug(
                "full collection: %d unreachable, %.1f ms",
                found,
                (time.perf_counter() - started) * 1000,
            )
    finally:
        _running -= 1
        if _running == 0 and _saved_thresholds is not None:
            gc.set_threshold(*_saved_thresholds)
