"""Group commit: concurrent sends share one transaction, a refused message in the middle of
a batch fails alone, and an overfull write queue refuses at once with `server_busy`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlmodel import func, select

from relaydesk.conversations import service, store, transitions
from relaydesk.conversations.models import Conversation, Message
from relaydesk.conversations.service import BOT, Actor, SendResult
from relaydesk.conversations.writer import ServerBusy
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import Event
from relaydesk.sites import service as sites
from tests.factories import make_site, make_staff
from tests.spies import count_write_transactions

pytestmark = pytest.mark.postgres


async def _conversation(db: Database, site_id: int) -> tuple[str, str]:
    visitor = await sites.create_visitor(db, site_id=site_id, locale=None)
    conversation, _ = await service.open_conversation(db, site_id=site_id, visitor_id=visitor.id)
    return conversation.id, visitor.id


async def test_refused_messages_in_a_batch_fail_alone(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = await make_site(db)
    assert site.id is not None
    owner = await make_staff(db, site=site)
    intruder = await make_staff(db, site=site)
    owned, owned_visitor = await _conversation(db, site.id)
    others = [await _conversation(db, site.id) for _ in range(3)]
    await transitions.accept(db, conversation_id=owned, agent=owner)
    await service.send_message(
        db, conversation_id=owned, sender=Actor.visitor(owned_visitor), client_id="first", text="a"
    )
    transactions = count_write_transactions(db, monkeypatch)

    sends: list[tuple[str, Actor, str]] = []
    for i in range(10):
        conversation_id, visitor_id = others[i % len(others)]
        sends.append((conversation_id, Actor.visitor(visitor_id), f"v{i}"))
        if i == 4:
            # In the middle of the batch: three refusals and a resend.
            sends.append((owned, Actor.staff(intruder), "intruder"))
            sends.append((owned, BOT, "bot"))
            sends.append((owned, Actor.visitor(owned_visitor), "first"))
            sends.append((owned, Actor.staff(owner), "owner"))
    outcomes = await asyncio.gather(
        *(
            service.send_message(db, conversation_id=c, sender=s, client_id=k, text=f"text {k}")
            for c, s, k in sends
        ),
        return_exceptions=True,
    )

    by_key = {k: outcome for (_, _, k), outcome in zip(sends, outcomes, strict=True)}
    assert isinstance(by_key["intruder"], DomainError) and by_key["intruder"].code == "not_assignee"
    assert isinstance(by_key["bot"], DomainError) and by_key["bot"].code == "bot_silenced"
    resend = by_key["first"]
    assert isinstance(resend, SendResult) and not resend.created and resend.message.seq == 1
    owner_message = by_key["owner"]
    assert isinstance(owner_message, SendResult) and owner_message.message.seq == 2
    for i in range(10):
        assert isinstance(by_key[f"v{i}"], SendResult) and by_key[f"v{i}"].created  # type: ignore[union-attr]
    # All of it went through far fewer transactions than messages (the resend's fallback
    # read of the conversation is not a write).
    assert len(transactions) < len(sends) // 2

    async with db.read() as session:
        for conversation_id in [owned, *(c for c, _ in others)]:
            seqs = sorted(
                (
                    await session.execute(
                        select(Message.seq).where(Message.conversation_id == conversation_id)
                    )
                ).scalars()
            )
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            assert seqs == list(range(1, len(seqs) + 1)) and conversation.last_seq == len(seqs)
        stored_events = (
            await session.execute(
                select(func.count()).where(
                    Event.type == "message.stored",
                    Event.conversation_id.in_([owned, *(c for c, _ in others)]),  # type: ignore[union-attr]
                )
            )
        ).scalar_one()
    assert stored_events == 1 + 10 + 1  # "first", the ten visitor messages, the owner's


async def test_full_queue_refuses_with_server_busy_and_retries_succeed(
    db: Database, backend: str
) -> None:
    site = await make_site(db)
    assert site.id is not None
    conversation_id, visitor_id = await _conversation(db, site.id)
    visitor = Actor.visitor(visitor_id)

    async def send(k: int) -> SendResult:
        return await service.send_message(
            db, conversation_id=conversation_id, sender=visitor, client_id=f"m{k}", text=str(k)
        )

    with override_settings(message_queue_limit=3):
        outcomes = await asyncio.gather(*(send(k) for k in range(10)), return_exceptions=True)
        busy = [k for k, outcome in enumerate(outcomes) if isinstance(outcome, ServerBusy)]
        assert busy, "a queue limit of 3 must refuse some of 10 simultaneous sends"
        assert all(isinstance(outcomes[k], SendResult) for k in range(10) if k not in busy)
        busy_error = outcomes[busy[0]]
        assert isinstance(busy_error, ServerBusy)
        assert busy_error.to_dict()["code"] == "server_busy"
        # Clients retry with the same client_id; one at a time never exceeds the limit.
        for k in busy:
            assert (await send(k)).created
        for k in range(10):
            assert not (await send(k)).created  # everything is stored exactly once
    async with db.read() as session:
        seqs = sorted(
            (
                await session.execute(
                    select(Message.seq).where(Message.conversation_id == conversation_id)
                )
            ).scalars()
        )
    assert seqs == list(range(1, 11))


async def test_a_failing_batch_is_retried_message_by_message(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = await make_site(db)
    assert site.id is not None
    conversations = [await _conversation(db, site.id) for _ in range(4)]
    writer = service._writer(db)
    real = writer._store_batch

    async def fails_in_groups(requests: Sequence[store.StoreRequest]) -> list[store.Outcome]:
        if len(requests) > 1:
            raise RuntimeError("simulated failure of a whole group transaction")
        return await real(requests)

    monkeypatch.setattr(writer, "_store_batch", fails_in_groups)
    results = await asyncio.gather(
        *(
            service.send_message(
                db, conversation_id=c, sender=Actor.visitor(v), client_id="x", text="hi"
            )
            for c, v in conversations
        )
    )
    assert [r.message.seq for r in results] == [1, 1, 1, 1]
    assert all(r.created for r in results)
