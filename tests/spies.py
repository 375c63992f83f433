"""Spies on the database layer, for tests that assert how much work a change took."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection

from relaydesk.core.db import Database


def count_write_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, one entry per `db.run_write` (a locked write transaction)."""
    calls: list[int] = []
    original = db.run_write

    async def counting(transaction: Callable[[Connection], Any]) -> Any:
        calls.append(1)
        return await original(transaction)

    monkeypatch.setattr(db, "run_write", counting)
    return calls
