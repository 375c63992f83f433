"""Socket payloads and handler bodies for the bot's widget and console events. The
namespaces (relaydesk/widget/events.py, relaydesk/agents_console/events.py) keep only
thin handlers that authorise and call these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from relaydesk.bot import assist, summary, turn
from relaydesk.bot import feedback as feedback_store
from relaydesk.bot import offline as offline_store
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.schemas import Id, Payload
from relaydesk.core.db import Database
from relaydesk.core.text import clean_text
from relaydesk.routing import queue as routing_queue

MAX_FORM_CHARS = 5000
MAX_COMMENT_CHARS = 2000
# Deliberately loose (one @, a dot in the domain, no spaces): the address is shown to an
# agent who replies by hand, and strict RFC parsing refuses real addresses.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


class OfflineSubmit(Payload):
    conversation_id: Id
    email: Email
    message: str


class FeedbackSubmit(Payload):
    conversation_id: Id
    message_id: Id
    rating: Literal["up", "down"]


class CsatSubmit(Payload):
    conversation_id: Id
    score: int = Field(ge=1, le=5)
    comment: str | None = None


async def offline_submit(db: Database, *, visitor_id: str, payload: OfflineSubmit) -> None:
    message = clean_text(payload.message, max_chars=MAX_FORM_CHARS, field="message")
    await offline_store.leave_offline_message(
        db,
        conversation_id=payload.conversation_id,
        visitor_id=visitor_id,
        email=payload.email,
        message=message,
    )


async def feedback(db: Database, *, visitor_id: str, payload: FeedbackSubmit) -> None:
    await feedback_store.rate_message(
        db,
        conversation_id=payload.conversation_id,
        message_id=payload.message_id,
        visitor_id=visitor_id,
        rating=payload.rating,
    )


async def csat(db: Database, *, visitor_id: str, payload: CsatSubmit) -> None:
    comment = None
    if payload.comment is not None and payload.comment.strip():
        comment = clean_text(payload.comment, max_chars=MAX_COMMENT_CHARS, field="comment")
    await feedback_store.submit_csat(
        db,
        conversation_id=payload.conversation_id,
        visitor_id=visitor_id,
        score=payload.score,
        comment=comment,
    )


async def handoff_requested(db: Database, conversation: Conversation) -> dict[str, Any]:
    """After the widget's `handoff:request`: summary, queue fan-out; the ack's `queue`."""
    await turn.after_handoff(db, conversation)
    return await routing_queue.queue_info(db, conversation)


async def assist_suggest(db: Database, conversation: Conversation) -> dict[str, Any]:
    return await assist.suggest(db, conversation=conversation)


async def handoff_summary(db: Database, conversation: Conversation) -> dict[str, Any]:
    """The summary of the handoff the conversation is in: none once it is back with the
    bot (handed back, or a resolved one the visitor wrote in again), when it is history."""
    row = (
        None
        if conversation.status == ConversationStatus.BOT
        else await summary.latest_summary(db, conversation.id)
    )
    offline = await offline_store.offline_messages(db, conversation.id)
    return {
        "summary": summary.summary_public(row) if row is not None else None,
        "offline_messages": [
            {"email": m.email, "message": m.message, "created_at": m.created_at.isoformat()}
            for m in offline
        ],
    }
