"""SQLite checkpoints run on their own thread, never inside a write on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from relaydesk.core import db as db_module
from relaydesk.core.db import Database
from tests.waiting import eventually


def _main_file_pages(path: Path) -> int:
    # Only a checkpoint writes to the database file itself; commits append to the WAL.
    return path.stat().st_size // 4096 if path.exists() else 0


async def _write_rows(database: Database, count: int) -> None:
    def create(connection: Connection) -> None:
        connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, body BLOB)"
        )

    await database.run_write(create)
    for _ in range(count):
        await database.run_write(
            lambda c: c.exec_driver_sql("INSERT INTO note (body) VALUES (randomblob(3000))")
        )


async def test_writes_never_checkpoint_and_the_thread_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "CHECKPOINT_INTERVAL_S", 3600.0)
    path = tmp_path / "a.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.connect() as connection:
            setting = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
        assert setting == 0
        # Past SQLite's default threshold (1000 WAL pages) without any checkpoint: the
        # writes stay in the WAL, so no commit paid for copying them.
        before = _main_file_pages(path)
        await _write_rows(database, 1500)
        assert path.with_name("a.db-wal").stat().st_size > 1000 * 4096
        assert _main_file_pages(path) == before
    finally:
        await database.dispose()
    # Stopping checkpointed everything: the file alone holds the rows, the WAL is gone.
    wal = path.with_name("a.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT count(*) FROM note").fetchone()[0] == 1500


async def test_the_checkpointer_copies_the_wal_while_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "CHECKPOINT_INTERVAL_S", 0.05)
    path = tmp_path / "b.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        before = _main_file_pages(path)
        await _write_rows(database, 50)
        await eventually(lambda: _main_file_pages(path) > before, timeout=5)
    finally:
        await database.dispose()


async def test_the_checkpointer_never_creates_a_missing_database(tmp_path: Path) -> None:
    checkpointer = db_module.WalCheckpointer(f"sqlite:///{tmp_path / 'absent.db'}", interval=0.01)
    await asyncio.sleep(0.1)
    checkpointer.stop()
    assert not (tmp_path / "absent.db").exists()
