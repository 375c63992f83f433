"""Backfill: the events a report needs, for rows stored before they were recorded.

Adds `conversation.started`, `message.stored`, `csat.submitted` and `bot.feedback` events
where the stored rows have none (matched by conversation, message id or rating row), at
the rows' own timestamps, then rebuilds the rollups from the whole log. Safe to run
twice: a second run finds nothing missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.analytics import rollup
from relaydesk.bot.models import BotCsat, BotFeedback
from relaydesk.conversations.models import Conversation, Message
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.models import Event

CHUNK = 500


@dataclass
class BackfillResult:
    started: int = 0
    messages: int = 0
    csat: int = 0
    feedback: int = 0
    conversations: int = 0


async def backfill(db: Database) -> BackfillResult:
    result = BackfillResult()
    async with db.read() as session:
        ids = list((await session.execute(select(Conversation.id))).scalars())
    for start in range(0, len(ids), CHUNK):
        await _chunk(db, ids[start : start + CHUNK], result)
    result.conversations = await rollup.rebuild(db)
    return result


async def _chunk(db: Database, ids: list[str], result: BackfillResult) -> None:
    async with db.write() as session:
        events = list(
            (
                await session.execute(
                    select(Event.conversation_id, Event.type, Event.payload).where(
                        col(Event.conversation_id).in_(ids)
                    )
                )
            ).tuples()
        )
        started = {c for c, t, _ in events if t == "conversation.started"}
        messages_seen = {p.get("message_id") for _, t, p in events if t == "message.stored"}
        csat_seen = {c for c, t, _ in events if t == "csat.submitted"}
        feedback_seen = {p.get("message_id") for _, t, p in events if t == "bot.feedback"}
        conversations = (
            await session.execute(select(Conversation).where(col(Conversation.id).in_(ids)))
        ).scalars()
        site_of: dict[str, int] = {}
        for conversation in conversations:
            site_of[conversation.id] = conversation.site_id
            if conversation.id not in started:
                result.started += 1
                _add(
                    session,
                    event_log.ConversationStarted(visitor_id=conversation.visitor_id),
                    conversation.site_id,
                    conversation.id,
                    "visitor",
                    conversation.visitor_id,
                    conversation.created_at,
                )
        messages = (
            await session.execute(select(Message).where(col(Message.conversation_id).in_(ids)))
        ).scalars()
        for message in messages:
            if message.id in messages_seen:
                continue
            result.messages += 1
            _add(
                session,
                event_log.MessageStored(
                    message_id=message.id,
                    seq=message.seq,
                    sender_kind=message.sender_kind,
                    chars=len(message.text),
                ),
                site_of[message.conversation_id],
                message.conversation_id,
                message.sender_kind,
                message.sender_id,
                message.created_at,
            )
        for csat in (
            await session.execute(select(BotCsat).where(col(BotCsat.conversation_id).in_(ids)))
        ).scalars():
            if csat.conversation_id in csat_seen:
                continue
            result.csat += 1
            _add(
                session,
                event_log.CsatSubmitted(score=csat.score, has_comment=bool(csat.comment)),
                csat.site_id,
                csat.conversation_id,
                "visitor",
                csat.visitor_id,
                csat.created_at,
            )
        for rating in (
            await session.execute(
                select(BotFeedback).where(col(BotFeedback.conversation_id).in_(ids))
            )
        ).scalars():
            if rating.message_id in feedback_seen or rating.rating not in ("up", "down"):
                continue
            result.feedback += 1
            _add(
                session,
                event_log.BotFeedbackGiven(
                    message_id=rating.message_id,
                    rating="up" if rating.rating == "up" else "down",
                ),
                rating.site_id,
                rating.conversation_id,
                "visitor",
                rating.visitor_id,
                rating.updated_at,
            )


def _add(
    session: AsyncSession,
    payload: event_log.EventPayload,
    site_id: int,
    conversation_id: str,
    actor_kind: str,
    actor_id: str | None,
    at: datetime,
) -> None:
    event = event_log.record(
        session,
        payload,
        site_id=site_id,
        actor_kind=actor_kind,
        actor_id=actor_id,
        conversation_id=conversation_id,
    )
    event.created_at = at
