"""When the garbage collector runs, in a server whose tail latency matters.

Reference counting frees almost everything the moment it is unused; the cyclic
collector only finds cycles. Its young-generation passes are cheap, but a full
collection walks every tracked object: the ~550k objects of the imported libraries
(frozen at start-up, see `api/app.py`) and the ~100 objects each connected socket keeps.
With 500 sockets that walk took 60-80 ms of CPU, during which no socket is served, and
CPython started one every 10-20 s under load: at 500 messages a second that stall alone
is the ack p99.

So automatic full collections are off while the server runs and a full collection runs
on a timer instead: cycles that survive the young generations are still found, within
`FULL_COLLECTION_INTERVAL_S`, and the stall happens once per interval instead of every
few seconds. The young generations keep CPython's own thresholds.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)

FULL_COLLECTION_INTERVAL_S = 300.0
# CPython counts young-generation passes and starts a full one after this many: a
# threshold no server reaches between two timer collections.
_NEVER = 1_000_000_000


def freeze_long_lived() -> None:
    """Collect, then move every object alive now out of the collector's sight: call it
    once what lives for the whole process (modules, models, dictionaries) is loaded."""
    gc.collect()
    gc.freeze()


async def run_full_collections(interval: float = FULL_COLLECTION_INTERVAL_S) -> None:
    """Turn automatic full collections off and run one every `interval` seconds, until
    cancelled (then CPython's thresholds are restored)."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)
    try:
        while True:
            await asyncio.sleep(interval)
            started = time.perf_counter()
            found = gc.collect()
            log.debug(
                "full collection: %d unreachable, %.1f ms",
                found,
                (time.perf_counter() - started) * 1000,
            )
    finally:
        gc.set_threshold(young, middle, old)
