"""What visitors think of the bot: a thumbs up or down on one of its answers, and the
satisfaction score (CSAT) of a resolved conversation. Each writer records its Event in the
same transaction."""

from __future__ import annotations

from sqlmodel import select

from relaydesk.bot.models import BotCsat, BotFeedback
from relaydesk.conversations.models import Conversation, ConversationStatus, Message, SenderKind
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, InvalidInput, NotFound
from relaydesk.core.models import utcnow


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
