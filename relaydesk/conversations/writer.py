"""Group commit for message writes: one writer per process and database.

Each message used to pay for its own transaction: BEGIN/COMMIT, on SQLite a hop to the
writer thread, on PostgreSQL the round trips of both. Under load that overhead, not the
statements, was most of the CPU a message cost. Here senders queue their writes and one
drain task stores everything queued in ONE transaction, then wakes each sender only after
that commit. A lone message still commits at once: the drain starts as soon as something
is queued and never waits to fill a batch; batches only form from what arrives while the
previous one is in the database.

Correctness does not depend on this module being the only writer: each batch's store
function guards the seq with the database itself, so several processes, each with its own
writer, keep seqs gap-free. On SQLite the transaction takes the write lock before it reads
`last_seq` and the stored client ids (`store`); on PostgreSQL one statement bumps
`last_seq` only where it is still what the batch was planned on (`store_postgres`). Every
message of a batch is validated before anything is written, so a refused one takes no seq
and the others commit; should a batch fail anyway, its messages are retried one by one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from relaydesk.core.config import get_settings
from relaydesk.core.errors import DomainError

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")


class ServerBusy(DomainError):
    """Too many writes are waiting: refuse at once rather than time out much later."""

    code = "server_busy"
    http_status = 503


@dataclass
class _Pending(Generic[R, T]):
    request: R
    future: asyncio.Future[T | Exception]


class BatchWriter(Generic[R, T]):
    """Queues requests and commits them in groups (see the module docstring).

    `store_batch(requests)` stores a batch, committing it, and returns one outcome per
    request: a result, or the exception refusing that request alone.
    """

    def __init__(
        self, store_batch: Callable[[Sequence[R]], Awaitable[list[T | Exception]]]
    ) -> None:
        self._store_batch = store_batch
        self._queue: list[_Pending[R, T]] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def store(self, request: R) -> T | Exception:
        """Queue `request`; its outcome once the transaction holding it has committed."""
        settings = get_settings()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (tests): whatever was queued on the old one is gone with it.
            self._queue, self._task, self._loop = [], None, loop
        if len(self._queue) >= settings.message_queue_limit:
            raise ServerBusy("the server is busy; retry with the same client_id")
        future: asyncio.Future[T | Exception] = loop.create_future()
        self._queue.append(_Pending(request, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(settings.message_batch_size))
        return await future

    async def _drain(self, batch_size: int) -> None:
        while self._queue:
            # One more turn of the loop: sends already on their way through the socket
            # layer join this batch instead of paying for a transaction of their own.
            await asyncio.sleep(0)
            batch = self._queue[:batch_size]
            del self._queue[:batch_size]
            requests = [item.request for item in batch]
            try:
                outcomes = await self._store_batch(requests)
            except Exception as exc:
                if len(batch) == 1:
                    outcomes = [exc]
                else:
                    # Nothing of the batch committed. Retry each alone, so that whatever
                    # failed (it should not: refusals are outcomes) fails only its sender.
                    log.warning(
                        "group commit of %d messages failed; retrying singly: %r", len(batch), exc
                    )
                    outcomes = [await self._single(request) for request in requests]
            for item, outcome in zip(batch, outcomes, strict=True):
                if not item.future.done():  # else the sender gave up; the write stands
                    item.future.set_result(outcome)

    async def _single(self, request: R) -> T | Exception:
        try:
            return (await self._store_batch([request]))[0]
        except Exception as exc:
            return exc
