"""Conversations written through the service functions at chosen instants (the dashboard
and drill-down tests; the acceptance scenario drives the Socket.IO protocol instead)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core import event_log, models
from relaydesk.core.db import Database
from relaydesk.core.models import Site, StaffUser
from relaydesk.sites import service as sites


@dataclass(frozen=True)
class Chat:
    """Started `days_ago` days before today at 10:00 UTC; the bot answers; with a `reason`
    it is handed off, taken by `agent`, answered 2 minutes later and resolved."""

    days_ago: int
    reason: str | None = None
    agent: StaffUser | None = None


async def seed(db: Database, site: Site, chats: list[Chat]) -> list[str]:
    """The conversations' ids, in the order given."""
    assert site.id is not None
    base = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    ids = []
    try:
        for chat_spec in chats:
            at = base - timedelta(days=chat_spec.days_ago)
            models.set_clock(lambda at=at: at)
            visitor = await sites.create_visitor(db, site_id=site.id, locale="en")
            chat, _ = await conversations.open_conversation(
                db, site_id=site.id, visitor_id=visitor.id
            )
            ids.append(chat.id)
            await conversations.send_message(
                db,
                conversation_id=chat.id,
                sender=Actor.visitor(visitor.id),
                client_id="v1",
                text="Where is my parcel?",
            )
            await conversations.send_message(
                db, conversation_id=chat.id, sender=BOT, client_id="b1", text="It ships today."
            )
            if chat_spec.reason is None or chat_spec.agent is None:
                continue
            await transitions.request_handoff(
                db, conversation_id=chat.id, actor=BOT, reason=chat_spec.reason
            )
            await transitions.accept(db, conversation_id=chat.id, agent=chat_spec.agent)
            models.set_clock(lambda at=at: at + timedelta(minutes=2))
            await conversations.send_message(
                db,
                conversation_id=chat.id,
                sender=Actor.staff(chat_spec.agent),
                client_id="a1",
                text="Let me check.",
            )
            await transitions.resolve(
                db, conversation_id=chat.id, actor=Actor.staff(chat_spec.agent)
            )
    finally:
        models.set_clock(None)
    return ids


async def presence(
    db: Database, site: Site, agent: StaffUser, changes: list[tuple[datetime, str]]
) -> None:
    """`staff.presence_changed` events at the given instants, as the console's presence
    tracking records them."""
    assert site.id is not None and agent.id is not None
    try:
        previous = "offline"
        for at, status in changes:
            models.set_clock(lambda at=at: at)
            async with db.write() as session:
                event_log.record(
                    session,
                    event_log.PresenceChanged(
                        user_id=agent.id, status=status, previous=previous, chosen=status
                    ),
                    site_id=site.id,
                    actor_kind="agent",
                    actor_id=agent.id,
                )
            previous = status
    finally:
        models.set_clock(None)
