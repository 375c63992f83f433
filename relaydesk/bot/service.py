"""The bot's reads and writes: site policy, a conversation's current context, the queue,
feedback, CSAT, offline messages and handoff summaries. Writers own their transaction and
record their Event inside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from relaydesk.bot.models import (
    BotCsat,
    BotFeedback,
    BotHandoffSummary,
    BotOfflineMessage,
    BotSitePolicy,
)
from relaydesk.bot.policy import BotPolicy
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, InvalidInput, NotFound
from relaydesk.core.models import (
    Conversation,
    ConversationStatus,
    Event,
    Message,
    SenderKind,
    Site,
    utcnow,
)

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


async def get_site(db: Database, site_id: int) -> Site:
    async with db.read() as session:
        site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("no such site", code="site_not_found")
    return site


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


# Feedback, CSAT, offline messages


async def rate_message(
    db: Database, *, conversation_id: str, message_id: str, visitor_id: str, rating: str
) -> None:
    async with db.write() as session:
        conversation = await session.get(Conversation, conversation_id)
        message = await session.get(Message, message_id)
        if conversation is None or message is None or message.conversation_id != conversation_id:
            raise NotFound("no such message", code="message_not_found")
        if message.sender_kind != SenderKind.BOT:
            raise InvalidInput("only bot messages can be rated", code="not_a_bot_message")
        row = (
            await session.execute(
                select(BotFeedback).where(
                    BotFeedback.message_id == message_id, BotFeedback.visitor_id == visitor_id
                )
            )
        ).scalar_one_or_none()
        previous = row.rating if row is not None else None
        if row is None:
            row = BotFeedback(
                site_id=conversation.site_id,
                conversation_id=conversation_id,
                message_id=message_id,
                visitor_id=visitor_id,
                rating=rating,
            )
            session.add(row)
        else:
            row.rating = rating
            row.updated_at = utcnow()
        event_log.record(
            session,
            event_log.BotFeedbackGiven(
                message_id=message_id,
                rating=rating,
                previous=previous,
            ),
            site_id=conversation.site_id,
            actor_kind=SenderKind.VISITOR,
            actor_id=visitor_id,
            conversation_id=conversation_id,
        )


async def submit_csat(
    db: Database, *, conversation_id: str, visitor_id: str, score: int, comment: str | None
) -> None:
    async with db.write() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        if conversation.status != ConversationStatus.RESOLVED:
            raise Conflict("only a resolved conversation can be rated", code="not_resolved")
        row = (
            await session.execute(
                select(BotCsat).where(
                    BotCsat.conversation_id == conversation_id,
                    BotCsat.resolved_at == conversation.resolved_at,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            row = BotCsat(
                site_id=conversation.site_id,
                conversation_id=conversation_id,
                visitor_id=visitor_id,
                score=score,
                resolved_at=conversation.resolved_at,
            )
            session.add(row)
        row.score, row.comment, row.created_at = score, comment, utcnow()
        event_log.record(
            session,
            event_log.CsatSubmitted(score=score, has_comment=bool(comment)),
            site_id=conversation.site_id,
            actor_kind=SenderKind.VISITOR,
            actor_id=visitor_id,
            conversation_id=conversation_id,
        )


async def leave_offline_message(
    db: Database, *, conversation_id: str, visitor_id: str, email: str, message: str
) -> BotOfflineMessage:
    async with db.write() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        if conversation.status != ConversationStatus.QUEUED:
            raise Conflict(
                "the offline form is for conversations waiting for a person",
                code="not_queued",
            )
        row = BotOfflineMessage(
            site_id=conversation.site_id,
            conversation_id=conversation_id,
            visitor_id=visitor_id,
            email=email,
            message=message,
        )
        session.add(row)
        event_log.record(
            session,
            event_log.OfflineMessageLeft(chars=len(message)),
            site_id=conversation.site_id,
            actor_kind=SenderKind.VISITOR,
            actor_id=visitor_id,
            conversation_id=conversation_id,
        )
    return row


async def offline_messages(db: Database, conversation_id: str) -> list[BotOfflineMessage]:
    async with db.read() as session:
        rows = await session.execute(
            select(BotOfflineMessage)
            .where(BotOfflineMessage.conversation_id == conversation_id)
            .order_by(col(BotOfflineMessage.created_at))
        )
        return list(rows.scalars())


# Handoff summaries


async def store_summary(
    db: Database,
    *,
    conversation: Conversation,
    reason: str,
    text: str,
    details: dict[str, Any],
    generated_by: str,
) -> BotHandoffSummary:
    async with db.write() as session:
        row = BotHandoffSummary(
            site_id=conversation.site_id,
            conversation_id=conversation.id,
            reason=reason,
            text=text,
            details={**details, "generated_by": generated_by},
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
        event_log.record(
            session,
            event_log.HandoffSummarized(
                summary_id=row.id,
                generated_by=generated_by,
            ),
            site_id=conversation.site_id,
            actor_kind=SenderKind.BOT,
            conversation_id=conversation.id,
        )
    return row


async def latest_summary(db: Database, conversation_id: str) -> BotHandoffSummary | None:
    async with db.read() as session:
        return (
            await session.execute(
                select(BotHandoffSummary)
                .where(BotHandoffSummary.conversation_id == conversation_id)
                .order_by(col(BotHandoffSummary.id).desc())
                .limit(1)
            )
        ).scalar_one_or_none()


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


def summary_public(row: BotHandoffSummary) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "reason": row.reason,
        "text": row.text,
        "details": row.details,
        "created_at": _iso(row.created_at),
    }


def _iso(value: datetime) -> str:
    return value.isoformat()
