"""Telling staff about a change to a visitor (an identity, the page they are on): the
staff viewing the visitor's recent conversations get `visitor:updated`.

Sites own the visitor row (`sites/identity.py` stores what the host site says), but which
conversations a visitor has is this layer's knowledge, so the announcing happens here.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.conversations.models import Conversation
from relaydesk.core import realtime
from relaydesk.core.db import Database
from relaydesk.core.models import Visitor
from relaydesk.sites import identity
from relaydesk.sites.identity import VisitorIdentify, VisitorPublic

# Staff are told about the visitor's most recent conversations only: an old one open in
# some console tab can wait for its next reload.
NOTIFY_CONVERSATIONS = 5


async def identify(
    db: Database, *, site_id: int, visitor_id: str, payload: VisitorIdentify
) -> Visitor:
    """`sites.identity.identify` (store it, verified or not), then tell the staff."""
    visitor = await identity.identify(db, site_id=site_id, visitor_id=visitor_id, payload=payload)
    async with db.read() as session:
        conversation_ids = await recent_conversation_ids(session, visitor_id)
    await announce_visitor(visitor, conversation_ids)
    return visitor


async def recent_conversation_ids(session: AsyncSession, visitor_id: str) -> list[str]:
    """The visitor's conversations whose staff hear about a change to the visitor."""
    rows = await session.execute(
        select(Conversation.id)
        .where(Conversation.visitor_id == visitor_id)
        .order_by(col(Conversation.created_at).desc())
        .limit(NOTIFY_CONVERSATIONS)
    )
    return list(rows.scalars())


async def announce_visitor(visitor: Visitor, conversation_ids: list[str]) -> None:
    """`visitor:updated` to the staff viewing these conversations (after the commit)."""
    data = {"visitor": VisitorPublic.of(visitor).model_dump(mode="json")}
    for conversation_id in conversation_ids:
        await realtime.to_staff_side(
            conversation_id, "visitor:updated", {"conversation_id": conversation_id, **data}
        )
