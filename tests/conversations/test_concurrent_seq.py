"""Acceptance: 50 concurrent senders × 20 messages into one conversation get seqs 1..1000
with no gap and no duplicate, on SQLite and PostgreSQL. The senders are split over two
separate engines (two connection pools, as two app processes would have), so nothing
process-local can be what keeps the order."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from relaydesk.conversations import service
from relaydesk.conversations.models import Conversation, Message
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Event
from relaydesk.sites import service as sites
from tests.factories import make_site

pytestmark = pytest.mark.postgres
SENDERS, PER_SENDER = 50, 20


async def test_fifty_concurrent_senders_get_gap_free_seqs(
    db: Database, database_url: str, backend: str
) -> None:
    site = await make_site(db)
    visitor = await sites.create_visitor(db, site_id=site.id, locale=None)  # type: ignore[arg-type]
    conversation, _ = await service.open_conversation(db, site_id=site.id, visitor_id=visitor.id)  # type: ignore[arg-type]
    second_node = Database(database_url)

    async def sender(n: int) -> list[int]:
        node = db if n % 2 else second_node
        seqs = []
        for i in range(PER_SENDER):
            result = await service.send_message(
                node,
                conversation_id=conversation.id,
                sender=Actor.visitor(visitor.id),
                client_id=f"s{n}-m{i}",
                text=f"sender {n} message {i}",
            )
            seqs.append(result.message.seq)
        return seqs

    try:
        per_sender = await asyncio.gather(*(sender(n) for n in range(SENDERS)))
    finally:
        await second_node.dispose()

    for seqs in per_sender:
        assert seqs == sorted(seqs), "one sender's messages must keep their order"
    all_seqs = sorted(s for seqs in per_sender for s in seqs)
    assert all_seqs == list(range(1, SENDERS * PER_SENDER + 1))
    async with db.read() as session:
        stored = list(
            (
                await session.execute(
                    select(Message.seq).where(Message.conversation_id == conversation.id)
                )
            ).scalars()
        )
        last_seq = (await session.get(Conversation, conversation.id)).last_seq  # type: ignore[union-attr]
        events = (
            (
                await session.execute(
                    select(Event).where(
                        Event.conversation_id == conversation.id, Event.type == "message.stored"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(stored) == all_seqs
    assert last_seq == SENDERS * PER_SENDER
    assert len(events) == SENDERS * PER_SENDER


async def test_concurrent_resends_store_once(db: Database, backend: str) -> None:
    site = await make_site(db)
    visitor = await sites.create_visitor(db, site_id=site.id, locale=None)  # type: ignore[arg-type]
    conversation, _ = await service.open_conversation(db, site_id=site.id, visitor_id=visitor.id)  # type: ignore[arg-type]
    results = await asyncio.gather(
        *(
            service.send_message(
                db,
                conversation_id=conversation.id,
                sender=Actor.visitor(visitor.id),
                client_id="retry-storm",
                text="same message",
            )
            for _ in range(20)
        )
    )
    assert len({r.message.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert {r.message.seq for r in results} == {1}
