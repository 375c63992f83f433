"""What the conversation's details panel adds to its inbox row: the visitor's earlier
conversations (and the snippet both use)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import and_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from relaydesk.conversations.models import Conversation, Message
from relaydesk.conversations.policy import StaffScope, can_view
from relaydesk.core import markdown
from relaydesk.core.db import Database

SNIPPET_CHARS = 140
EARLIER = 10


class EarlierConversation(BaseModel):
    """One of the visitor's earlier conversations, in the details panel."""

    id: str
    status: str
    created_at: datetime
    last_message: str | None
    last_sender: str | None


def snippet(message: Message | None) -> str | None:
    """The message as inbox rows show it: plain text (no `**`), one line, cut short."""
    text = markdown.plain(message.text) if message is not None else None
    if text is not None and len(text) > SNIPPET_CHARS:
        text = text[: SNIPPET_CHARS - 1] + "…"
    return text


async def earlier_conversations(
    db: Database,
    *,
    scope: StaffScope,
    conversation: Conversation,
    visible: ColumnElement[bool],
    limit: int = EARLIER,
) -> list[EarlierConversation]:
    """The same visitor's conversations started before this one that the caller may view
    (`visible`: the inbox's visibility as SQL; every row is checked with `can_view` again),
    newest first, each with its last message."""
    query = (
        sa_select(Conversation, Message)
        .outerjoin(
            Message,
            and_(
                col(Message.conversation_id) == col(Conversation.id),
                col(Message.seq) == col(Conversation.last_seq),
            ),
        )
        .where(
            col(Conversation.visitor_id) == conversation.visitor_id,
            col(Conversation.id) != conversation.id,
            col(Conversation.created_at) <= conversation.created_at,
            visible,
        )
        .order_by(col(Conversation.created_at).desc(), col(Conversation.id).desc())
        .limit(limit)
    )
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    return [
        EarlierConversation(
            id=other.id,
            status=other.status,
            created_at=other.created_at,
            last_message=snippet(message),
            last_sender=message.sender_kind if message is not None else None,
        )
        for other, message in rows
        if can_view(scope, other)
    ]
