"""Offline messages: when nobody can take a queued conversation, the visitor leaves an
email address and a message for an agent to answer later."""

from __future__ import annotations

from sqlmodel import col, select

from relaydesk.bot.models import BotOfflineMessage
from relaydesk.conversations.models import Conversation, ConversationStatus, SenderKind
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, NotFound


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
