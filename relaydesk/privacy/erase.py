"""Deleting conversations and visitors with everything that hangs off them.

Which rows belong to a conversation is read from the schema, not listed here: every table
with a `conversation_id` column holds per-conversation data (messages, attachments,
notes, labels, read states, bot feedback and CSAT, handoff summaries, event-log rows,
analytics facts), and every table with a `visitor_id` column holds per-visitor data. A
table another domain adds later is erased too without anyone remembering this module.
Aggregate rollups (`analytics_slot`) have neither column: they keep counts per hour,
and no personal data (docs/security.md, "Retention and erasure").

The rows go in one transaction per batch; attachment files are unlinked after it
commits (a file whose row is gone is unreachable; a row whose file is gone would be a
broken link). Safe on two nodes at once: on PostgreSQL each batch locks its
conversations with SKIP LOCKED, so nodes take different batches; on SQLite the write
lock serialises them; either way deleting what another node already deleted is a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

import relaydesk.core.all_models  # noqa: F401  (the metadata must know every table)
from relaydesk.attachments import service as attachments
from relaydesk.attachments.models import Attachment
from relaydesk.conversations.models import Conversation, SenderKind
from relaydesk.core.crypto_models import SearchIndex
from relaydesk.core.models import Event, Visitor

log = logging.getLogger(__name__)

# Tables with a visitor_id that are not the visitor's data: the receipts of requests
# about them (kept as proof the request was done; they name the visitor by random id).
_KEEP = frozenset({"privacy_receipt", "audit_log"})


def _tables_with(column: str, skip: frozenset[str]) -> list[Table]:
    # Dependent tables first, so foreign keys never block a delete.
    return [
        t for t in reversed(SQLModel.metadata.sorted_tables) if column in t.c and t.name not in skip
    ]


def conversation_tables() -> list[Table]:
    return _tables_with("conversation_id", _KEEP | {"conversation"})


def visitor_tables() -> list[Table]:
    return _tables_with("visitor_id", _KEEP | {"conversation"})


def _count(result: object) -> int:
    # A DELETE's CursorResult; typed as a plain Result by the session's execute.
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class Erased:
    rows: Counter[str] = field(default_factory=Counter)
    files: list[Path] = field(default_factory=list)

    def add(self, other: Erased) -> None:
        self.rows.update(other.rows)
        self.files.extend(other.files)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.rows.items()) if v}


async def erase_conversations(session: AsyncSession, conversation_ids: list[str]) -> Erased:
    """Delete these conversations and their rows (in the caller's transaction). The
    attachment files to unlink once it commits are in the result."""
    erased = Erased()
    if not conversation_ids:
        return erased
    found = await session.execute(
        select(Attachment).where(col(Attachment.conversation_id).in_(conversation_ids))
    )
    erased.files = [attachments.path_of(a) for a in found.scalars()]
    for table in conversation_tables():
        result = await session.execute(
            delete(table).where(table.c.conversation_id.in_(conversation_ids))
        )
        erased.rows[table.name] += _count(result)
    result = await session.execute(
        delete(Conversation).where(col(Conversation.id).in_(conversation_ids))
    )
    erased.rows["conversation"] += _count(result)
    return erased


async def erase_visitor_rows(session: AsyncSession, visitor_ids: list[str]) -> Erased:
    """Delete visitors (whose conversations are gone already) and their other rows."""
    erased = Erased()
    if not visitor_ids:
        return erased
    for table in visitor_tables():
        result = await session.execute(delete(table).where(table.c.visitor_id.in_(visitor_ids)))
        erased.rows[table.name] += _count(result)
    # Events about the visitor outside any conversation (identify, page views).
    result = await session.execute(
        delete(Event).where(
            col(Event.conversation_id).is_(None),
            col(Event.actor_kind) == SenderKind.VISITOR,
            col(Event.actor_id).in_(visitor_ids),
        )
    )
    erased.rows["event"] += _count(result)
    # A bulk delete skips the ORM hook that drops a visitor's blind-index row (its name and
    # email tokens), so it goes here, in the same transaction.
    await session.execute(
        delete(SearchIndex).where(
            col(SearchIndex.kind) == "visitor", col(SearchIndex.owner_id).in_(visitor_ids)
        )
    )
    result = await session.execute(delete(Visitor).where(col(Visitor.id).in_(visitor_ids)))
    erased.rows["visitor"] += _count(result)
    return erased


def _unlink(paths: list[Path]) -> int:
    gone = 0
    for path in paths:
        try:
            path.unlink()
            gone += 1
        except FileNotFoundError:
            continue  # another node (or an earlier, interrupted run) removed it
    return gone


async def unlink_files(paths: list[Path]) -> int:
    """Remove attachment files after their rows are committed gone; how many existed."""
    return await asyncio.to_thread(_unlink, paths) if paths else 0
