"""The bot's tables: per-site policy, answer feedback, CSAT, offline messages, handoff
summaries. Everything else the bot needs (its context, its low-confidence streak) is
derived from the conversation's messages and events, so no turn state lives in memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from relaydesk.core import encrypted
from relaydesk.core.models import UTCDateTime, utcnow


def _ts(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


class BotSitePolicy(SQLModel, table=True):
    __tablename__ = "bot_site_policy"

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    # A `relaydesk.bot.policy.BotPolicy` as JSON; unknown or missing keys take defaults.
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()


class BotFeedback(SQLModel, table=True):
    __tablename__ = "bot_feedback"
    __table_args__ = (UniqueConstraint("message_id", "visitor_id", name="uq_bot_feedback_rater"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    message_id: str = Field(foreign_key="message.id", max_length=32)
    visitor_id: str = Field(max_length=32)
    rating: str = Field(max_length=8)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class BotCsat(SQLModel, table=True):
    __tablename__ = "bot_csat"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    visitor_id: str = Field(max_length=32)
    score: int
    comment: str | None = None
    # The resolution being rated: one rating per resolution, a resubmission replaces it.
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class BotOfflineMessage(SQLModel, table=True):
    __tablename__ = "bot_offline_message"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    visitor_id: str = Field(max_length=32)
    email: str = Field(max_length=320)
    message: str
    created_at: datetime = _ts()


class BotHandoffSummary(SQLModel, table=True):
    __tablename__ = "bot_handoff_summary"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    reason: str = Field(max_length=64)
    text: str
    # {"questions": [...], "answers": [{"text", "sources": [...]}], "generated_by": ...}
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


# Visitor text and addresses (core/encrypted.py). Their ids come from the database, so the
# associated data binds each value to its conversation.
encrypted.protect(BotOfflineMessage, fields=["email", "message"], binding="conversation_id")
encrypted.protect(BotCsat, fields=["comment"], binding="conversation_id")
encrypted.protect(
    BotHandoffSummary,
    fields=["text", "details"],
    json_fields=["details"],
    binding="conversation_id",
)
