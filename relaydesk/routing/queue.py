"""The queue as visitors see it: their place among the site's queued conversations, and
whether anyone can take one now. Routing owns it, so the bot (which offers a person) and
the auto-assignment pass (which moves the queue) both read it from here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.core import realtime
from relaydesk.core.db import Database
from relaydesk.core.models import Availability, Site, StaffUser, Team, TeamMember, utcnow
from relaydesk.sites import service as sites
from relaydesk.sites.hours import within_business_hours


async def queue_position(db: Database, conversation: Conversation) -> int | None:
    """1-based place of a queued conversation among its site's queued ones."""
    if conversation.status != ConversationStatus.QUEUED or conversation.queued_at is None:
        return None
    async with db.read() as session:
        ahead = (
            await session.execute(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.site_id == conversation.site_id,
                    Conversation.status == ConversationStatus.QUEUED,
                    col(Conversation.queued_at) < conversation.queued_at,
                )
            )
        ).scalar_one()
    return int(ahead) + 1


async def agents_online(db: Database, site: Site, *, team_id: int | None = None) -> bool:
    """Someone can take the conversation now: an active agent of the site's teams (or of
    `team_id`) is online, within the site's business hours."""
    if not within_business_hours(site.business_hours, utcnow()):
        return False
    async with db.read() as session:
        query = (
            select(func.count())
            .select_from(StaffUser)
            .join(TeamMember, col(TeamMember.user_id) == col(StaffUser.id))
            .join(Team, col(Team.id) == col(TeamMember.team_id))
            .where(
                Team.site_id == site.id,
                StaffUser.availability == Availability.ONLINE,
                col(StaffUser.is_active).is_(True),
            )
        )
        if team_id is not None:
            query = query.where(Team.id == team_id)
        count = (await session.execute(query)).scalar_one()
    return int(count) > 0


async def queue_info(db: Database, conversation: Conversation) -> dict[str, Any]:
    """`{"position", "agents_online"}` as the widget's handoff ack carries it."""
    site = await sites.get_site(db, conversation.site_id)
    online = await agents_online(db, site, team_id=conversation.team_id)
    position = await queue_position(db, conversation) if online else None
    return {"position": position, "agents_online": online}


async def preview(db: Database, conversation: Conversation, site: Site) -> dict[str, Any]:
    """Where the conversation would stand if it joined the queue now (same shape)."""
    online = await agents_online(db, site, team_id=conversation.team_id)
    if not online:
        return {"position": None, "agents_online": False}
    return {
        "position": len(await queued_positions(db, conversation.site_id)) + 1,
        "agents_online": True,
    }


async def queued_positions(db: Database, site_id: int) -> list[tuple[str, int]]:
    """(conversation id, position) of every queued conversation of the site."""
    async with db.read() as session:
        rows = await session.execute(
            select(Conversation.id)
            .where(
                Conversation.site_id == site_id,
                Conversation.status == ConversationStatus.QUEUED,
            )
            .order_by(col(Conversation.queued_at))
        )
        return [(cid, n) for n, cid in enumerate(rows.scalars(), start=1)]


async def broadcast(db: Database, site_id: int) -> None:
    """`queue:position` to every queued conversation of the site."""
    for conversation_id, position in await queued_positions(db, site_id):
        await realtime.to_visitor_side(
            conversation_id,
            "queue:position",
            {"conversation_id": conversation_id, "position": position},
        )
