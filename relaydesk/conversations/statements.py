"""The statements of the message write transaction, for each kind of connection.

`store.store_batch` needs six things of the database: lock a batch's conversations, find
the batch's client ids already stored, bump `last_seq`, insert messages, insert events,
insert the messages' blind-index rows.
On PostgreSQL they are SQLAlchemy Core statements built once. On SQLite (the stdlib
driver, where every write of the process runs on the event loop's thread) SQLAlchemy's
per-statement work, compiling parameters, dispatching events, setting up results, cost
several times what SQLite spends executing them, and it was most of a message's CPU. There
the same statements go straight to the driver's cursor. Values still pass through each
column type's own bind and result processors, so what is stored and read back is
byte-for-byte what SQLAlchemy would store and read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.engine import Dialect

from relaydesk.conversations.models import Conversation, Message
from relaydesk.core.crypto_models import SearchIndex
from relaydesk.core.models import Event

_conversations: Table = Conversation.__table__  # type: ignore[attr-defined]
_messages: Table = Message.__table__  # type: ignore[attr-defined]
_events: Table = Event.__table__  # type: ignore[attr-defined]
_index: Table = SearchIndex.__table__  # type: ignore[attr-defined]

Row = dict[str, Any]


class Statements(Protocol):
    def lock_conversations(self, ids: Sequence[str]) -> list[Row]: ...
    def stored_messages(self, ids: Sequence[str], client_ids: Sequence[str]) -> list[Row]: ...
    def bump_last_seq(self, bumps: Sequence[Mapping[str, Any]]) -> None: ...
    def insert_messages(self, rows: Sequence[Row]) -> None: ...
    def insert_events(self, rows: Sequence[Row]) -> None: ...
    def insert_index(self, rows: Sequence[Row]) -> None: ...


def statements_for(connection: Connection) -> Statements:
    if connection.dialect.name == "sqlite" and connection.dialect.driver == "pysqlite":
        return SqliteStatements(connection)
    return CoreStatements(connection)


# ---------------------------------------------------------------------------------------
# SQLAlchemy Core (PostgreSQL, and any other driver)

# Built once: constructing statements per message cost more CPU than executing them. Bind
# names carry a `p_` prefix so that they never clash with the column names of a SET clause.
_LOCK = (
    select(_conversations)
    .where(_conversations.c.id.in_(bindparam("p_ids", expanding=True)))
    .order_by(_conversations.c.id)
    .with_for_update()
)
_RESENDS = select(_messages).where(
    _messages.c.conversation_id.in_(bindparam("p_ids", expanding=True)),
    _messages.c.client_id.in_(bindparam("p_client_ids", expanding=True)),
)
_BUMP = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("p_id"))
    .values(
        last_seq=_conversations.c.last_seq + bindparam("p_count"),
        updated_at=bindparam("p_now"),
        last_message_at=bindparam("p_now"),
    )
)
_INSERT_MESSAGES = insert(_messages)
_INSERT_EVENTS = insert(_events)
_INSERT_INDEX = insert(_index)


class CoreStatements:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock_conversations(self, ids: Sequence[str]) -> list[Row]:
        # FOR UPDATE in id order: two processes' batches cannot deadlock.
        rows = self._connection.execute(_LOCK, {"p_ids": list(ids)}).mappings()
        return [dict(row) for row in rows]

    def stored_messages(self, ids: Sequence[str], client_ids: Sequence[str]) -> list[Row]:
        rows = self._connection.execute(
            _RESENDS, {"p_ids": list(ids), "p_client_ids": list(client_ids)}
        ).mappings()
        return [dict(row) for row in rows]

    def bump_last_seq(self, bumps: Sequence[Mapping[str, Any]]) -> None:
        self._execute(_BUMP, [dict(b) for b in bumps])

    def insert_messages(self, rows: Sequence[Row]) -> None:
        self._execute(_INSERT_MESSAGES, list(rows))

    def insert_events(self, rows: Sequence[Row]) -> None:
        self._execute(_INSERT_EVENTS, list(rows))

    def insert_index(self, rows: Sequence[Row]) -> None:
        self._execute(_INSERT_INDEX, list(rows))

    def _execute(self, statement: Any, rows: list[Row]) -> None:
        if rows:
            # A single row goes as a plain execute: executemany costs more for one row.
            self._connection.execute(statement, rows[0] if len(rows) == 1 else rows)


# ---------------------------------------------------------------------------------------
# SQLite through the stdlib driver's cursor

Processor = Callable[[Any], Any] | None


@cache
def _codecs(table: Table, dialect: Dialect) -> tuple[dict[str, Processor], dict[str, Processor]]:
    """Each column's bind and result processor for `dialect` (None: passed through)."""
    # dialect_impl: the column's type as this dialect stores it (SQLite keeps datetimes as
    # text, for one), which is where the conversions live.
    types = {c.name: c.type.dialect_impl(dialect) for c in table.columns}
    binds: dict[str, Processor] = {n: t.bind_processor(dialect) for n, t in types.items()}
    results: dict[str, Processor] = {n: t.result_processor(dialect, None) for n, t in types.items()}
    return binds, results


def _bound(process: Processor, values: list[Any]) -> list[Any]:
    """One column's values as the driver takes them. Every row of a batch carries the
    same `now`, so each distinct datetime is converted once (converting one to SQLite's
    text took longer than inserting its row)."""
    if process is None:
        return values
    seen: dict[datetime, Any] = {}
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
        elif type(value) is datetime:
            converted = seen.get(value)
            if converted is None:
                converted = seen[value] = process(value)
            out.append(converted)
        else:
            out.append(process(value))
    return out


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


class SqliteStatements:
    """The same statements on the raw sqlite3 cursor of the transaction's connection. No
    row locks: the transaction began with BEGIN IMMEDIATE, so it holds the database's
    write lock already."""

    def __init__(self, connection: Connection) -> None:
        self._dialect = connection.dialect
        self._cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def _read(self, table: Table, sql: str, params: Sequence[Any]) -> list[Row]:
        _, results = _codecs(table, self._dialect)
        self._cursor.execute(sql, params)
        names = [d[0] for d in self._cursor.description]
        converters = [results[name] for name in names]
        return [
            {
                name: value if convert is None or value is None else convert(value)
                for name, convert, value in zip(names, converters, row, strict=True)
            }
            for row in self._cursor.fetchall()
        ]

    def _insert(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        binds, _ = _codecs(table, self._dialect)
        names = list(rows[0])
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({_placeholders(len(names))})"
        columns = [_bound(binds[name], [row[name] for row in rows]) for name in names]
        values = list(zip(*columns, strict=True))
        if len(values) == 1:
            self._cursor.execute(sql, values[0])
        else:
            self._cursor.executemany(sql, values)

    def lock_conversations(self, ids: Sequence[str]) -> list[Row]:
        sql = f"SELECT * FROM conversation WHERE id IN ({_placeholders(len(ids))})"
        return self._read(_conversations, sql, list(ids))

    def stored_messages(self, ids: Sequence[str], client_ids: Sequence[str]) -> list[Row]:
        sql = (
            f"SELECT * FROM message WHERE conversation_id IN ({_placeholders(len(ids))}) "
            f"AND client_id IN ({_placeholders(len(client_ids))})"
        )
        return self._read(_messages, sql, [*ids, *client_ids])

    def bump_last_seq(self, bumps: Sequence[Mapping[str, Any]]) -> None:
        binds, _ = _codecs(_conversations, self._dialect)
        stamp = binds["updated_at"]
        values = [
            (
                b["p_count"],
                stamp(b["p_now"]) if stamp else b["p_now"],
                stamp(b["p_now"]) if stamp else b["p_now"],
                b["p_id"],
            )
            for b in bumps
        ]
        self._cursor.executemany(
            "UPDATE conversation SET last_seq = last_seq + ?, updated_at = ?, "
            "last_message_at = ? WHERE id = ?",
            values,
        )

    def insert_messages(self, rows: Sequence[Row]) -> None:
        self._insert(_messages, rows)

    def insert_events(self, rows: Sequence[Row]) -> None:
        self._insert(_events, rows)

    def insert_index(self, rows: Sequence[Row]) -> None:
        self._insert(_index, rows)
