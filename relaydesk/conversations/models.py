"""The conversation tables: conversations, their messages and each participant's read
state. The write path (`store.py`, `store_postgres.py`) spells the message columns out
again; `tests/conversations/test_message_columns.py` keeps them in step with `Message`.

Ids that strangers see are random UUIDs so they reveal nothing; timestamps are
timezone-aware UTC (core/models.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from relaydesk.core import encrypted
from relaydesk.core.models import UTCDateTime, new_id, utcnow


def _ts(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class ConversationStatus(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class SenderKind(StrEnum):
    VISITOR = "visitor"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Conversation(SQLModel, table=True):
    # Inbox pages list the newest conversations first under a broad filter (a site's
    # queue, an agent's own): walking this index newest-first finds a page of 50 after a
    # few hundred rows instead of sorting every match.
    __table_args__ = (Index("ix_conversation_updated_at_id", "updated_at", "id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    site_id: int = Field(foreign_key="site.id", index=True)
    visitor_id: str = Field(foreign_key="visitor.id", index=True, max_length=32)
    status: str = Field(default=ConversationStatus.BOT, index=True, max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    handoff_reason: str | None = Field(default=None, max_length=64)
    # The last sequence number handed out, bumped in the same transaction (or statement)
    # that stores the messages: the write lock (SQLite) or a compare-and-set on it
    # (PostgreSQL, conversations/store_postgres.py) serialises writers, and a message that
    # does not commit leaves no gap.
    last_seq: int = Field(default=0)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_message_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_message_conversation_seq"),
        UniqueConstraint("conversation_id", "client_id", name="uq_message_conversation_client"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    conversation_id: str = Field(foreign_key="conversation.id", max_length=32)
    seq: int
    sender_kind: str = Field(max_length=16)
    sender_id: str | None = Field(default=None, max_length=64)
    sender_name: str | None = Field(default=None, max_length=200)
    client_id: str = Field(max_length=64)
    text: str
    # Extra structured data: citations on bot answers, attachment references and so on.
    payload: dict[str, Any] = _json(dict)
    created_at: datetime = _ts()


class ReadState(SQLModel, table=True):
    __tablename__ = "read_state"

    conversation_id: str = Field(foreign_key="conversation.id", primary_key=True, max_length=32)
    participant_kind: str = Field(primary_key=True, max_length=16)
    participant_id: str = Field(primary_key=True, max_length=64)
    last_read_seq: int = Field(default=0)
    updated_at: datetime = _ts()


# Messages are written by Core statements (store.py), which encrypt and index them there;
# the ORM hooks decrypt them wherever they are read.
MESSAGE = encrypted.protect(
    Message,
    fields=["text"],
    search_kind="message",
    search_fields=["text"],
    conversation_attr="conversation_id",
)
