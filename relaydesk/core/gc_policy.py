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
- Middle collections of 15-28 ms (all CPU, measured on PostgreSQL, where they set the
  p99 once the two above were tamed). CPython runs one after every ten young ones, so
  about once a second here, and each walks everything that survived a young collection
  and is still alive: the sockets' current asyncio objects again, a second's worth. They
  found nothing to free (0 unreachable in every one measured): what lives that long is
  in use. So they run on a timer too, every `MIDDLE_COLLECTION_INTERVAL_S`, which costs
  the same per pass (the walk is of what is alive, not of what was made since) and
  touches 1/30th as many messages.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)

YOUNG_COLLECTION_INTERVAL_S = 0.1
MIDDLE_COLLECTION_INTERVAL_S = 30.0
FULL_COLLECTION_INTERVAL_S = 300.0
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
    middle_interval: float = MIDDLE_COLLECTION_INTERVAL_S,
    full_interval: float = FULL_COLLECTION_INTERVAL_S,
) -> None:
    """Turn automatic middle and full collections off; collect the youngest generation
    every `young_interval` seconds, the two younger ones every `middle_interval` and
    everything every `full_interval`, until cancelled (then, once no other timer runs,
    CPython's thresholds are restored). CPython still starts young collections by count
    in between."""
    global _running, _saved_thresholds
    if _running == 0:
        _saved_thresholds = gc.get_threshold()
    _running += 1
    young, _, _ = _saved_thresholds or gc.get_threshold()
    gc.set_threshold(young, _NEVER, _NEVER)
    loop = asyncio.get_running_loop()
    next_middle = loop.time() + middle_interval
    next_full = loop.time() + full_interval
    try:
        while True:
            await asyncio.sleep(young_interval)
            now = loop.time()
            if now >= next_full:
                generation, next_full, next_middle = 2, now + full_interval, now + middle_interval
            elif now >= next_middle:
                generation, next_middle = 1, now + middle_interval
            else:
                gc.collect(0)
                continue
            started = time.perf_counter()
            found = gc.collect(generation)
            log.debug(
                "generation %d collection: %d unreachable, %.1f ms",
                generation,
                found,
                (time.perf_counter() - started) * 1000,
            )
    finally:
        _running -= 1
        if _running == 0 and _saved_thresholds is not None:
            gc.set_threshold(*_saved_thresholds)
