"""The message write statements store and read back exactly what the ORM does, on the
SQLite driver-cursor path and the SQLAlchemy Core path alike."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlmodel import col, select

from relaydesk.conversations import service, transitions
from relaydesk.conversations.models import Message
from relaydesk.conversations.service import Actor
from relaydesk.conversations.statements import CoreStatements, SqliteStatements, statements_for
from relaydesk.core.db import Database
from relaydesk.core.models import Event
from relaydesk.sites import service as sites
from tests.factories import make_site, make_staff

pytestmark = pytest.mark.postgres

PAYLOAD = {"citations": [{"n": 1, "title": "退货政策 ✓", "url": "https://example.com/a?b=1"}]}


async def test_what_is_stored_reads_back_identically(db: Database, backend: str) -> None:
    site = await make_site(db)
    assert site.id is not None
    agent = await make_staff(db, site=site)
    visitor = await sites.create_visitor(db, site_id=site.id, locale=None)
    conversation, _ = await service.open_conversation(db, site_id=site.id, visitor_id=visitor.id)
    await transitions.accept(db, conversation_id=conversation.id, agent=agent)

    sent = await service.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="c-1",
        text="Где мой заказ? 我的订单在哪里？",
        payload=PAYLOAD,
    )
    resent = await service.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="c-1",
        text="ignored: a resend returns the original",
        payload={},
    )

    async with db.read() as session:
        stored = (
            await session.execute(select(Message).where(Message.conversation_id == conversation.id))
        ).scalar_one()
        events = (
            await session.execute(
                select(Event)
                .where(Event.conversation_id == conversation.id, Event.type == "message.stored")
                .order_by(col(Event.id))
            )
        ).scalars()
        [event] = list(events)
    # The ack, the resend (read back through the write path's own SELECT) and the ORM agree.
    for message in (sent.message, resent.message):
        assert message.id == stored.id
        assert message.seq == stored.seq == 1
        assert message.text == stored.text
        assert message.payload == stored.payload == PAYLOAD
        assert message.created_at == stored.created_at
        assert stored.created_at.tzinfo is not None
        assert stored.created_at.utcoffset() == UTC.utcoffset(None)
    assert not resent.created
    assert event.payload["message_id"] == stored.id
    assert event.created_at == stored.created_at


async def test_the_sqlite_driver_path_is_the_one_used_on_sqlite(db: Database, backend: str) -> None:
    seen: list[type] = []

    def probe(connection: object) -> None:
        seen.append(type(statements_for(connection)))  # type: ignore[arg-type]

    await db.run_write(probe)
    expected = SqliteStatements if backend == "sqlite" else CoreStatements
    assert seen == [expected]
