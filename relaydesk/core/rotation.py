"""Key rotation: a new current key, then every encrypted value re-encrypted under it.

`relaydesk keys rotate` (api/keys_cli.py) runs `rotate`. Rows go in primary-key order,
a chunk of rows at a time; each chunk's updates and its checkpoint (the last key done, in
`key_rotation.progress`) commit in one transaction, so a run killed at any point resumes
from its last commit when started again, and redoes nothing. Reads work throughout: the
old keys stay in the keyring (the key file keeps every key), and each value names its key.

Values written while a rotation runs: a server picks up the key file's new current key
within `crypto.RELOAD_SECONDS`; a value written with the old key in that window (or by a
node that has not reloaded) is caught by the final sweep, which re-encrypts every value
not under the target key. Each update is a compare-and-set on the value read, so a value a
server changed meanwhile is never overwritten with an older one.

The same pass encrypts plaintext stored before encryption existed (and indexes it for
search), so after an upgrade one `relaydesk keys rotate` leaves nothing in the clear.

The audit log records each rotation where it is run (`relaydesk keys rotate`, api/keys_cli.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Table, and_, or_, select, update
from sqlmodel import SQLModel, col

from relaydesk.core import crypto
from relaydesk.core.config import get_settings
from relaydesk.core.crypto_models import KeyRotation
from relaydesk.core.db import Database
from relaydesk.core.encrypted import REGISTRY, Protected, write_index
from relaydesk.core.models import utcnow

DEFAULT_CHUNK = 200

# name -> step(db, after, ring) -> (last key done or None when finished, values rotated).
# Domains whose data lives outside the database (attachment files) add theirs.
# (db, last key done, keyring, rows per chunk) -> (new last key or None when done, changed)
FileStep = Callable[[Database, str | None, crypto.Keyring, int], Awaitable[tuple[str | None, int]]]
FILE_STEPS: dict[str, FileStep] = {}


@dataclass
class RotationStatus:
    id: int
    target_kid: str
    finished: bool
    # Per table (or file step): {"after": last key done, "done": values rotated, "finished"}
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target_kid": self.target_kid,
            "finished": self.finished,
            "progress": self.progress,
        }


def _status(row: KeyRotation) -> RotationStatus:
    assert row.id is not None
    return RotationStatus(
        id=row.id,
        target_kid=row.target_kid,
        finished=row.finished_at is not None,
        progress={k: dict(v) for k, v in row.progress.items()},
    )


async def latest(db: Database) -> RotationStatus | None:
    async with db.read() as session:
        row = (
            await session.execute(select(KeyRotation).order_by(col(KeyRotation.id).desc()).limit(1))
        ).scalar_one_or_none()
    return None if row is None else _status(row)


async def start(db: Database) -> RotationStatus:
    """The unfinished rotation if there is one (resume it), else a new one: a new current
    key in the key file (with keys from settings, the operator has put the new key first
    in RELAYDESK_ENCRYPTION_KEYS; the rotation moves everything to it)."""
    current = await latest(db)
    if current is not None and not current.finished:
        return current
    settings = get_settings()
    if settings.encryption_keys is None:
        kid = await asyncio.to_thread(crypto.add_current_key, settings.data_dir)
    else:
        kid = crypto.keyring(settings).current
    async with db.write() as session:
        row = KeyRotation(target_kid=kid, progress={})
        session.add(row)
        await session.flush()
    status = _status(row)
    return status


async def rotate(
    db: Database,
    status: RotationStatus,
    *,
    on_progress: Callable[[RotationStatus], None] | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> RotationStatus:
    """Run (or resume) `status`'s rotation to the end, `chunk` rows per transaction."""
    crypto._cache.clear()  # this process may have just added the key
    ring = crypto.keyring()
    if ring.current != status.target_kid:
        raise crypto.CryptoError(
            f"rotation {status.id} moves values to key {status.target_kid}, but the current "
            f"key is {ring.current}: restore that key as the current one to finish it"
        )
    for spec in REGISTRY.values():
        await _run_step(db, status, spec.table, _table_step(spec), ring, chunk, on_progress)
    for name, step in FILE_STEPS.items():
        await _run_step(db, status, name, step, ring, chunk, on_progress)
    # Values a server wrote under the old key before it noticed the new one.
    await asyncio.sleep(crypto.RELOAD_SECONDS)
    for spec in REGISTRY.values():
        swept = await db.run_write(partial(_sweep, spec=spec, ring=ring))
        if swept:
            status.progress[spec.table]["done"] += swept
    async with db.write() as session:
        row = await session.get(KeyRotation, status.id)
        assert row is not None
        row.progress = status.progress
        row.finished_at = utcnow()
    status.finished = True
    if on_progress:
        on_progress(status)
    return status


async def _run_step(
    db: Database,
    status: RotationStatus,
    name: str,
    step: FileStep,
    ring: crypto.Keyring,
    chunk: int,
    on_progress: Callable[[RotationStatus], None] | None,
) -> None:
    entry = status.progress.setdefault(name, {"after": None, "done": 0, "finished": False})
    while not entry["finished"]:
        after, count = await step(db, entry["after"], ring, chunk)
        entry["done"] += count
        entry["finished"] = after is None
        if after is not None:
            entry["after"] = after
        progress = {k: dict(v) for k, v in status.progress.items()}
        async with db.write() as session:
            row = await session.get(KeyRotation, status.id)
            assert row is not None
            row.progress = progress
        if on_progress:
            on_progress(status)


def _table_step(spec: Protected) -> FileStep:
    async def step(
        db: Database, after: str | None, ring: crypto.Keyring, chunk: int
    ) -> tuple[str | None, int]:
        return await db.run_write(lambda c: _chunk(c, spec, after, ring, chunk))

    return step


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def _chunk(
    connection: Connection, spec: Protected, after: str | None, ring: crypto.Keyring, chunk: int
) -> tuple[str | None, int]:
    """Re-encrypt the next `chunk` rows after `after`; the last key done (None: no rows
    left) and how many values changed."""
    table = _table(spec.table)
    pk = table.c[spec.primary_key]
    query = select(table).order_by(pk).limit(chunk)
    if after is not None:
        query = query.where(pk > (int(after) if _is_int(table, spec) else after))
    rows = [dict(r) for r in connection.execute(query).mappings()]
    changed = sum(_reseal(connection, table, spec, row, ring) for row in rows)
    if not rows:
        return None, 0
    return str(rows[-1][spec.primary_key]), changed


def _sweep(connection: Connection, spec: Protected, ring: crypto.Keyring) -> int:
    table = _table(spec.table)
    prefix = f"{crypto.ENVELOPE}:{ring.current}:%"
    stale = [
        and_(table.c[name].is_not(None), ~table.c[name].like(prefix))
        for name in spec.fields
        if name not in spec.json_fields
    ]
    if not stale:
        return 0
    rows = [dict(r) for r in connection.execute(select(table).where(or_(*stale))).mappings()]
    return sum(_reseal(connection, table, spec, row, ring) for row in rows)


def _is_int(table: Table, spec: Protected) -> bool:
    return table.c[spec.primary_key].type.python_type is int


def _reseal(
    connection: Connection, table: Table, spec: Protected, row: dict[str, Any], ring: crypto.Keyring
) -> int:
    """Re-encrypt `row`'s values not under the current key, compare-and-set on each."""
    binding = row[spec.binding]
    values: dict[str, Any] = {}
    guards = [table.c[spec.primary_key] == row[spec.primary_key]]
    plain_row = dict(row)
    was_plaintext = False
    for name in spec.fields:
        value = row[name]
        if value is None:
            continue
        if isinstance(value, str) and crypto.kid_of(value) == ring.current:
            plain_row[name] = spec.open(name, value, binding, ring)
            continue
        plain = spec.open(name, value, binding, ring)
        plain_row[name] = plain
        was_plaintext = was_plaintext or not (isinstance(value, str) and crypto.is_envelope(value))
        values[name] = spec.seal(name, plain, binding, ring)
        if name not in spec.json_fields:
            # PostgreSQL's json has no equality; those values (summaries) are never updated.
            guards.append(table.c[name] == value)
    if not values:
        return 0
    result = connection.execute(update(table).where(*guards).values(**values))
    if not result.rowcount:
        return 0  # changed meanwhile: the writer used a current key, or the sweep will see it
    if was_plaintext and spec.search_kind:
        # Stored before encryption existed: it never had a search index row.
        write_index(connection, spec, SimpleNamespace(**plain_row))
    return len(values)
