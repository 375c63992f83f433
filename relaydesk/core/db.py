"""Async database engine and sessions (SQLite by default, PostgreSQL by URL).

SQLite notes: WAL lets readers run beside the single writer, and write transactions start
with `BEGIN IMMEDIATE` so that two writers queue on SQLite's own file lock (with a busy
timeout) instead of failing halfway with "database is locked". That file lock, like
PostgreSQL's row locks, is what keeps per-conversation sequence numbers gap-free across
processes.

Checkpoints (copying the WAL back into the database file, the only step that fsyncs with
synchronous=NORMAL) never run inside a write: SQLite's automatic checkpoint would run in
whichever commit crosses the WAL threshold, which is the event loop's inline writer, and
stall every socket for tens of milliseconds. A `WalCheckpointer` thread runs passive
checkpoints instead; they do not block readers or writers and release the GIL.

Within one process, SQLite writers also queue on an asyncio lock. It adds no correctness
(the file lock already serialises them) but it replaces SQLite's busy handler, which
sleeps in growing steps of up to 100 ms while it waits, with a FIFO hand-over.

`run_write(fn)` runs a whole transaction written against a synchronous Connection. On
PostgreSQL it runs through the async engine (`run_sync`); on SQLite it runs on one
dedicated writer thread with the stdlib driver, because aiosqlite costs a thread hop per
cursor operation (~20 per message) and SQLite's single writer makes that latency the
throughput limit. Same transaction code, same locks, about 5x the messages a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from relaydesk.core import encrypted  # noqa: F401  (the encryption hooks of every read and write)

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# How often the checkpointer copies the WAL into the database file. The WAL grows by a
# few pages per commit in between, so at hundreds of commits a second it stays a few MB.
CHECKPOINT_INTERVAL_S = 1.0
POOL_RECYCLE_SECONDS = 1800
T = TypeVar("T")


class Database:
    """One engine plus two session factories: `read()` and `write()`."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            # No pool_pre_ping: it costs a round trip per checkout, i.e. per transaction.
            # Connections are recycled before servers or proxies drop idle ones, and a
            # transaction that meets a dead connection is retried once (`run_write`).
            kwargs.update(pool_size=20, max_overflow=20, pool_recycle=POOL_RECYCLE_SECONDS)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(relaydesk_write=True)
        self._local_writer = asyncio.Lock() if self.is_sqlite else None
        self._sync_writer: Engine | None = None
        self._inline_writer: Engine | None = None
        self._inline_held: Connection | None = None
        self._writer_thread: ThreadPoolExecutor | None = None
        self._checkpointer: WalCheckpointer | None = None
        if self.is_sqlite:
            sync_url = url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1)
            sync_engine = create_engine(
                sync_url,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                pool_size=1,
                max_overflow=0,
            )
            _configure_sqlite_sync(sync_engine)
            self._sync_writer = sync_engine.execution_options(relaydesk_write=True)
            # The same writes, tried first on the event loop's own thread with no busy wait:
            # a WAL commit takes a millisecond or two, far less than handing the batch to the
            # writer thread, which then has to win the GIL back from this busy thread after
            # every driver call. Only when another process holds the write lock does the
            # batch go to the thread, which may wait for it.
            inline_engine = create_engine(
                sync_url, connect_args={"timeout": 0}, pool_size=1, max_overflow=0
            )
            _configure_sqlite_sync(inline_engine, busy_timeout_ms=0)
            self._inline_writer = inline_engine.execution_options(relaydesk_write=True)
            self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
            if ":///" in sync_url:  # a file, not an in-memory database
                self._checkpointer = WalCheckpointer(sync_url, interval=CHECKPOINT_INTERVAL_S)
        self._dispose_callbacks: list[Callable[[], Awaitable[None]]] = []
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self._write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; its transaction is rolled back at the end."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends without error."""
        if self._local_writer is None:
            async with self._write_sessions() as session, session.begin():
                yield session
            return
        async with self._local_writer, self._write_sessions() as session, session.begin():
            yield session

    async def run_write(self, transaction: Callable[[Connection], T]) -> T:
        """Run `transaction(connection)` in one write transaction and commit it."""
        if self._sync_writer is None or self._writer_thread is None:
            try:
                async with self.engine.begin() as connection:
                    return await connection.run_sync(transaction)
            except DBAPIError as exc:
                # A connection that died while idle in the pool (no pre-ping): the pool has
                # dropped it, and the transaction never committed, so run it again once.
                if not exc.connection_invalidated:
                    raise
                async with self.engine.begin() as connection:
                    return await connection.run_sync(transaction)
        assert self._local_writer is not None
        engine = self._sync_writer

        def run() -> T:
            with engine.begin() as connection:
                return transaction(connection)

        async with self._local_writer:
            if self._inline_writer is not None:
                try:
                    inline = self._inline_connection(self._inline_writer)
                    with inline.begin():
                        return transaction(inline)
                except OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    # Rolled back: another process is writing. Wait for it off the loop.
            return await asyncio.get_running_loop().run_in_executor(self._writer_thread, run)

    def _inline_connection(self, engine: Engine) -> Connection:
        """The inline writer's one connection, kept for the life of the process: checking
        it out of the pool and back for every transaction cost as much as a message's
        statements. Only the event loop's thread uses it, under `_local_writer`."""
        connection = self._inline_held
        if connection is None or connection.closed or connection.invalidated:
            if connection is not None:
                connection.close()
            connection = self._inline_held = engine.connect()
        return connection

    def on_dispose(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Have `dispose` await `callback` first (to close what was opened beside the pool,
        or to let background work that was handed this database finish). Registering the
        same callback again is a no-op."""
        if callback not in self._dispose_callbacks:
            self._dispose_callbacks.append(callback)

    async def dispose(self) -> None:
        callbacks, self._dispose_callbacks = self._dispose_callbacks, []
        for callback in callbacks:
            await callback()
        await self.engine.dispose()
        if self._sync_writer is not None:
            self._sync_writer.engine.dispose()
        if self._inline_held is not None:
            self._inline_held.close()
            self._inline_held = None
        if self._inline_writer is not None:
            self._inline_writer.engine.dispose()
            self._inline_writer = None
        if self._writer_thread is not None:
            self._writer_thread.shutdown(wait=True)
            self._writer_thread = None
            self._sync_writer = None
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None


def _configure_sqlite(engine: AsyncEngine) -> None:
    _configure_sqlite_sync(engine.sync_engine)


def _configure_sqlite_sync(engine: Engine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE is possible.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # the WalCheckpointer's job
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # On the DBAPI cursor: SQLAlchemy's statement machinery (events, caching, result
        # objects) cost more than SQLite's own BEGIN, once per message transaction.
        write = conn.get_execution_options().get("relaydesk_write")
        cursor = conn.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        finally:
            cursor.close()


class WalCheckpointer:
    """A daemon thread running `PRAGMA wal_checkpoint(PASSIVE)` every
    `CHECKPOINT_INTERVAL_S` on its own connection (see the module docstring)."""

    def __init__(self, sync_url: str, interval: float = CHECKPOINT_INTERVAL_S) -> None:
        path = Path(sync_url.split(":///", 1)[1].split("?", 1)[0]).resolve()
        # mode=rw: never create the file (that is the migrations' job).
        self._uri = f"{path.as_uri()}?mode=rw"
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopping.wait(self._interval):
                try:
                    if connection is None:
                        connection = sqlite3.connect(
                            self._uri, timeout=0, isolation_level=None, uri=True
                        )
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    # Busy or not created yet: the next round tries again.
                    log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            if connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    # Leave a small WAL behind: a restart need not replay a large one.
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
