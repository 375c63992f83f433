"""The message columns are spelled out in five places on the write path; they must agree
with the `message` table, the one source of truth:

- `StoreRequest` (what a sender provides: every column but the server-assigned ones),
- the rows `plan_batch` writes (every column),
- `message_public` (reads every column back),
- `store_postgres._MESSAGE_FIELDS` (sent to the PostgreSQL function; it adds created_at),
- the PL/pgSQL function's `INSERT INTO message` and its `json_to_recordset` columns
  (migration 0004).

Adding a column means touching each of them (docs/architecture.md, "Adding a column");
this test names the one you missed."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table

import relaydesk
from relaydesk.conversations import store, store_postgres
from relaydesk.conversations.models import Message
from relaydesk.conversations.schemas import ConversationPublic

MESSAGE: Table = Message.__table__  # type: ignore[attr-defined]
COLUMNS = {c.name for c in MESSAGE.columns}
# Chosen by the server when it stores the message, never by the sender.
SERVER_ASSIGNED = {"id", "seq", "created_at"}
MIGRATION = Path(relaydesk.__file__).parent / "migrations/versions/0004_store_messages_function.py"


def test_the_table_has_the_columns_this_test_knows() -> None:
    # If this fails a column was added or removed: update the places listed above.
    assert {
        "id",
        "conversation_id",
        "seq",
        "sender_kind",
        "sender_id",
        "sender_name",
        "client_id",
        "text",
        "payload",
        "created_at",
    } == COLUMNS


def test_store_request_has_every_column_the_sender_provides() -> None:
    fields = {f.name for f in dataclasses.fields(store.StoreRequest)}
    assert fields == COLUMNS - SERVER_ASSIGNED


def _request() -> store.StoreRequest:
    values: dict[str, Any] = {
        "conversation_id": "c1",
        "sender_kind": "visitor",
        "sender_id": "v1",
        "sender_name": "Vi",
        "client_id": "k1",
        "text": "hello",
        "payload": {},
    }
    return store.StoreRequest(**values)


def test_plan_batch_writes_every_column() -> None:
    now = datetime.now(UTC)
    state = {
        "c1": ConversationPublic(
            id="c1",
            site_id=1,
            visitor_id="v1",
            status="bot",
            assignee_id=None,
            team_id=None,
            handoff_reason=None,
            last_seq=0,
            created_at=now,
            updated_at=now,
        )
    }
    plan = store.plan_batch([_request()], state, {}, now)
    assert not any(isinstance(o, Exception) for o in plan.outcomes), plan.outcomes
    assert [set(row) for row in plan.message_rows] == [COLUMNS]


class _Recording(Mapping[str, Any]):
    """A row that remembers which keys were read."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values, self.read = values, set[str]()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def test_message_public_reads_every_column() -> None:
    row = _Recording(
        {
            "id": "m1",
            "conversation_id": "c1",
            "seq": 1,
            "sender_kind": "visitor",
            "sender_id": None,
            "sender_name": None,
            "client_id": "k1",
            "text": "hi",
            "payload": {},
            "created_at": datetime.now(UTC),
        }
    )
    store.message_public(row)
    assert row.read == COLUMNS


def test_the_postgres_function_gets_every_column_but_the_time_it_stamps() -> None:
    assert set(store_postgres._MESSAGE_FIELDS) == COLUMNS - {"created_at"}
    assert len(store_postgres._MESSAGE_FIELDS) == len(set(store_postgres._MESSAGE_FIELDS))


def _names(sql_list: str) -> list[str]:
    """Column names of `a, b, c` or `a varchar, b int` (types dropped)."""
    return [part.split()[0] for part in sql_list.replace("\n", " ").split(",") if part.strip()]


def test_the_plpgsql_function_inserts_and_reads_every_column() -> None:
    sql = MIGRATION.read_text()
    inserted = re.search(r"INSERT INTO message \(([^)]*)\)", sql)
    assert inserted is not None
    assert set(_names(inserted.group(1))) == COLUMNS
    # The recordset the function reads `p_messages` (the _MESSAGE_FIELDS rows) through.
    recordset = re.search(r"json_to_recordset\(p_messages\)\s+AS m\(([^)]*)\)\s+WHERE", sql)
    assert recordset is not None
    assert _names(recordset.group(1)) == list(store_postgres._MESSAGE_FIELDS)
