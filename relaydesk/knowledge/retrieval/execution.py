"""Where retrieval's CPU work runs, and on how many threads (issue 17, part 4).

A search is CPU work from end to end: jieba and pinyin, BM25, the multilingual sentence
encoder for Chinese, all-MiniLM-L6-v2 for English, the matrix products. It never runs on
the event loop: `run_search` hands it to one process-wide executor with one worker per
core the process may use, so a burst of searches queues for the cores instead of all
running at once.

Each search is single-threaded on purpose. With 4 concurrent clients on 2 cores the
Chinese search p95 was 209 ms (bq-faq) where one search took 12 ms. Measured on bq-faq
(3,720 entries, in-process, 200 queries): numpy's OpenBLAS ran on 2 threads per call (the
sentence encoder asks `threadpoolctl` for 1, but that package was not installed, so the
request was dropped) and onnxruntime on 2, and the default thread pool let 4 searches run
at once, so a query's CPU went from 24 ms alone to 56 ms at 4 threads. With BLAS on one
thread it was 17 ms both ways; onnxruntime on one thread took an English query at 4
threads from 14 to 11.5 ms. BLAS's thread count is process-wide, so it is set once (by
whoever builds an index). Parallelism comes from the executor's workers instead, and
from running a large embedding job's batches side by side (embedding.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

SEARCH_THREAD_PREFIX = "relaydesk-search"
_blas_lock = threading.Lock()
_blas_limited = False


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


@functools.lru_cache(maxsize=1)
def search_executor() -> ThreadPoolExecutor:
    """The process's search workers: one per usable core, created on first use."""
    return ThreadPoolExecutor(max_workers=usable_cores(), thread_name_prefix=SEARCH_THREAD_PREFIX)


async def run_search(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn` on a search worker and wait for it without blocking the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(search_executor(), functools.partial(fn, *args, **kwargs))


def single_threaded_blas() -> None:
    """Make numpy's BLAS use one thread in this process (once; later calls are free).

    The count is process-wide, so this is called by whoever builds an index, not per
    search: changing it around each call (as a `threadpoolctl` context would) races with
    the other searches running at the same time.
    """
    global _blas_limited
    if _blas_limited:
        return
    with _blas_lock:
        if _blas_limited:
            return
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
        except Exception:  # a trimmed install or an unknown BLAS: slower, still correct
            log.warning("could not limit BLAS threads; searches may contend for cores")
        _blas_limited = True
