"""When the garbage collector runs, in a server whose tail latency matters.

Reference counting frees almost everything the moment it is unused; the cyclic collector
only finds cycles, and while it runs no socket is served. Measured under the message
benchmark (500 sockets, 500 messages/s), the messages whose acks were slower than the
p99 arrived, nearly all of them, during one of three kinds of collection:

- Full collections walk every tracked object: ~550k objects of the imported libraries
  (frozen at start-up, see `api/app.py`) and ~100 per connected socket. 60-80 ms each,
  one every 10-20 s. They are off while the server runs; a timer runs one every
  `FULL_COLLECTION_INTERVAL_S` instead, so cycles that outlive the young generations are
  still found.
- Young collections of 15-30 ms. CPython starts one when allocations exceed
  deallocations by 700, but every socket keeps a few asyncio objects (its pending read,
  its timers) that are replaced each time it receives: old ones die as new ones are
  made, so the count barely moves while the youngest generation fills with tens of
  thousands of them. The rare collection that does start then walks them all. So a timer
  also collects the youngest generation every `YOUNG_COLLECTION_INTERVAL_S`: it only ever
  holds a tenth of a second's survivors, and its pauses are a few milliseconds.
- Middle collections. CPython runs one after every ten young ones, and each walks
  everything that survived a young collection since the last one and is still alive: the
  sockets' current asyncio objects, 50-70 per socket (34k objects, 23 ms, for 500), and
  after a burst of connections everything they set up (107k objects, 57-87 ms once 500
  had connected). Most of that is alive: of the 34k, 1.7-1.9k were garbage. On a 30 s
  timer, the first one after the benchmark's clients connected still stalled the server
  for 90-120 ms, and 60 to 100 of its 15,000 messages were acked later than the p99.
  So each timer tick collects the young and the middle generation together: the middle
  one then only ever holds what survived the previous tick, and a tick costs 1.0-1.5 ms
  on average (p90 1.5-2.6, at most 7.5). What lives longer moves on to the oldest
  generation, where reference counting still frees it when it dies; only cycles wait for
  the full collection. That one runs every `FULL_COLLECTION_INTERVAL_S`, or sooner once
  the heap has grown by `FULL_COLLECTION_HEAP_GROWTH` since the last (CPython's own rule
  for its oldest generation), so cycles left by connection churn cannot pile up.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time

log = logging.getLogger(__name__)

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
