"""The bot's own state: its per-site policy, the context of a conversation it answers in,
and the record of each reply. Feedback and CSAT are in `feedback.py`, offline messages in
`offline.py`, handoff summaries in `summary.py`, the queue in `relaydesk/routing/queue.py`.
Writers own their transaction and record their Event inside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from relaydesk.bot.models import BotSitePolicy
from relaydesk.bot.policy import BotPolicy
from relaydesk.conversations.models import Conversation, Message, SenderKind
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Event, Site, utcnow

CONTEXT_MESSAGES = 40
# Events after which the bot starts over: only later turns are its context.
_FRESH_START = (
    event_log.ConversationReopened.model_fields["type"].default,
    event_log.ConversationHandedBack.model_fields["type"].default,
)


# Policy


async def get_policy(db: Database, site_id: int) -> BotPolicy:
    return await configured_policy(db, site_id) or BotPolicy()


async def configured_policy(db: Database, site_id: int) -> BotPolicy | None:
    """The site's stored policy, or None when nobody has configured the bot."""
    async with db.read() as session:
        row = await session.get(BotSitePolicy, site_id)
    return BotPolicy.model_validate(row.policy) if row is not None else None


async def set_policy(db: Database, *, site_id: int, policy: BotPolicy) -> BotPolicy:
    async with db.write() as session:
        if await session.get(Site, site_id) is None:
            raise NotFound("no such site", code="site_not_found")
        row = await session.get(BotSitePolicy, site_id)
        if row is None:
            row = BotSitePolicy(site_id=site_id)
            session.add(row)
        row.policy = policy.model_dump(mode="json")
        row.updated_at = utcnow()
    return policy


# Context


async def context_messages(db: Database, conversation_id: str) -> list[Message]:
    """The conversation's messages since the bot last started afresh (the conversation
    was reopened or handed back), oldest first, at most `CONTEXT_MESSAGES`."""
    async with db.read() as session:
        fresh = (
            await session.execute(
                select(func.max(Event.created_at)).where(
                    Event.conversation_id == conversation_id,
                    col(Event.type).in_(_FRESH_START),
                )
            )
        ).scalar_one_or_none()
        query = select(Message).where(Message.conversation_id == conversation_id)
        if fresh is not None:
            query = query.where(col(Message.created_at) >= fresh)
        rows = await session.execute(
            query.order_by(col(Message.seq).desc()).limit(CONTEXT_MESSAGES)
        )
        return list(reversed(list(rows.scalars())))


def low_confidence_streak(messages: Sequence[Message]) -> int:
    """How many of the bot's latest replies in a row were not sure."""
    streak = 0
    for message in reversed(messages):
        if message.sender_kind != SenderKind.BOT:
            continue
        if message.payload.get("action") != "clarify" or message.payload.get("small_talk"):
            break
        streak += 1
    return streak


async def record_reply(
    db: Database, *, conversation: Conversation | Any, payload: event_log.BotReplied
) -> None:
    async with db.write() as session:
        event_log.record(
            session,
            payload,
            site_id=conversation.site_id,
            actor_kind=SenderKind.BOT,
            conversation_id=conversation.id,
        )
