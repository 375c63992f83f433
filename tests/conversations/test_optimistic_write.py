"""PostgreSQL's message write without a transaction (`store_postgres`): a plain batch takes
one statement, and whatever changes a conversation between the state the batch was planned
on and its compare-and-set sends that conversation's messages round again (fresh read,
then the locked path), with the outcome they would have had in a locked transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import select

from relaydesk.conversations import service, store_postgres, transitions
from relaydesk.conversations.models import Conversation, ConversationStatus, Message
from relaydesk.conversations.service import Actor, SendResult
from relaydesk.core import event_log
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import Event, Team
from relaydesk.sites import service as sites
from tests.factories import make_site, make_staff
from tests.spies import count_write_transactions

pytestmark = pytest.mark.postgres_only


def _between_read_and_write(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], Awaitable[Any]]
) -> list[int]:
    """Run `action` once, after the next batch has planned and before its compare-and-set
    (writes `action` makes through another node pass straight through). Returns a list
    that gets one entry per compare-and-set."""
    real = store_postgres._compare_and_set
    pending = [action]
    calls: list[int] = []

    async def interleaved(*args: Any) -> Any:
        if pending:
            await pending.pop()()
        calls.append(1)
        return await real(*args)

    monkeypatch.setattr(store_postgres, "_compare_and_set", interleaved)
    return calls


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    real = store_postgres._read
    calls: list[int] = []

    async def counting(*args: Any) -> Any:
        calls.append(1)
        return await real(*args)

    monkeypatch.setattr(store_postgres, "_read", counting)
    return calls


async def _open(db: Database, site_id: int) -> tuple[str, Actor]:
    visitor = await sites.create_visitor(db, site_id=site_id, locale=None)
    conversation, _ = await service.open_conversation(db, site_id=site_id, visitor_id=visitor.id)
    return conversation.id, Actor.visitor(visitor.id)


async def _stored(db: Database, conversation_id: str) -> list[Message]:
    async with db.read() as session:
        rows = await session.execute(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)  # type: ignore[arg-type]
        )
        return list(rows.scalars())


async def test_plain_batches_commit_without_the_locked_path(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = await make_site(db)
    assert site.id is not None
    opened = [await _open(db, site.id) for _ in range(4)]
    locked = count_write_transactions(db, monkeypatch)

    sends = [(c, v, f"m{i}") for i in range(3) for c, v in opened]
    results = await asyncio.gather(
        *(
            service.send_message(
                db,
                conversation_id=c,
                sender=v,
                client_id=k,
                text=f"text {k} 你好",
                payload={"attachments": [{"id": k}]},
            )
            for c, v, k in sends
        )
    )

    assert locked == []
    assert all(r.created for r in results)
    for conversation_id, _ in opened:
        mine = [r for r in results if r.message.conversation_id == conversation_id]
        assert [r.message.seq for r in mine] == [1, 2, 3]
        assert [r.conversation.last_seq for r in mine] == [1, 2, 3]
        stored = await _stored(db, conversation_id)
        # What was acked is exactly what a fresh read finds.
        assert [(m.id, m.seq, m.client_id, m.text, m.payload) for m in stored] == [
            (r.message.id, r.message.seq, r.message.client_id, r.message.text, r.message.payload)
            for r in mine
        ]
        assert all(m.created_at == r.message.created_at for m, r in zip(stored, mine, strict=True))
    async with db.read() as session:
        conversations = {
            c.id: c
            for c in (
                await session.execute(
                    select(Conversation).where(
                        Conversation.id.in_([c for c, _ in opened])  # type: ignore[attr-defined]
                    )
                )
            ).scalars()
        }
        events = list(
            (await session.execute(select(Event).where(Event.type == "message.stored"))).scalars()
        )
    assert all(c.last_seq == 3 and c.last_message_at is not None for c in conversations.values())
    assert sorted((e.conversation_id, e.payload["seq"]) for e in events) == sorted(
        (r.message.conversation_id, r.message.seq) for r in results
    )
    assert {e.actor_kind for e in events} == {"visitor"} and all(
        e.site_id == site.id for e in events
    )


async def test_a_message_stored_by_another_node_in_between_keeps_seqs_gap_free(
    db: Database,
    database_url: str,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = await make_site(db)
    assert site.id is not None
    conversation_id, visitor = await _open(db, site.id)
    other_node = Database(database_url)
    theirs: list[SendResult] = []

    async def other_node_sends() -> None:
        theirs.append(
            await service.send_message(
                other_node,
                conversation_id=conversation_id,
                sender=visitor,
                client_id="theirs",
                text="a",
            )
        )

    attempts = _between_read_and_write(monkeypatch, other_node_sends)
    locked = count_write_transactions(db, monkeypatch)
    try:
        ours = await service.send_message(
            db, conversation_id=conversation_id, sender=visitor, client_id="ours", text="b"
        )
    finally:
        await other_node.dispose()

    assert theirs[0].message.seq == 1 and ours.message.seq == 2 and ours.created
    assert ours.conversation.last_seq == 2
    # Our compare-and-set did not match (rather than fail on a constraint), and the second
    # one, planned on a fresh read, stored the message.
    assert len(attempts) == 3  # ours, the other node's, ours again
    assert locked == []
    assert not [r for r in caplog.records if r.name == store_postgres.__name__]
    assert [m.client_id for m in await _stored(db, conversation_id)] == ["theirs", "ours"]


async def test_in_a_batch_only_the_conversations_whose_bump_matched_get_messages(
    db: Database,
    database_url: str,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One statement stores the matching conversation's message and nothing of the other,
    whose message is planned again on a fresh read (not by the locked path, which a
    constraint violation of a wrongly inserted message would have sent it to)."""
    site = await make_site(db)
    assert site.id is not None
    (calm, calm_visitor), (busy, busy_visitor) = [await _open(db, site.id) for _ in range(2)]
    other_node = Database(database_url)

    async def other_node_sends() -> None:
        await service.send_message(
            other_node, conversation_id=busy, sender=busy_visitor, client_id="theirs", text="a"
        )

    attempts = _between_read_and_write(monkeypatch, other_node_sends)
    locked = count_write_transactions(db, monkeypatch)
    try:
        calm_result, busy_result = await asyncio.gather(
            service.send_message(
                db, conversation_id=calm, sender=calm_visitor, client_id="ours", text="b"
            ),
            service.send_message(
                db, conversation_id=busy, sender=busy_visitor, client_id="ours", text="c"
            ),
        )
    finally:
        await other_node.dispose()

    assert len(attempts) == 3  # the batch, the other node's, the busy conversation again
    assert locked == []
    assert not [r for r in caplog.records if r.name == store_postgres.__name__]
    assert calm_result.message.seq == 1 and busy_result.message.seq == 2
    assert [(m.client_id, m.seq) for m in await _stored(db, calm)] == [("ours", 1)]
    assert [(m.client_id, m.seq) for m in await _stored(db, busy)] == [("theirs", 1), ("ours", 2)]
    async with db.read() as session:
        events = (
            await session.execute(select(Event).where(Event.type == "message.stored"))
        ).scalars()
        assert sorted((e.conversation_id, e.payload["seq"]) for e in events) == sorted(
            [(calm, 1), (busy, 1), (busy, 2)]
        )


async def test_a_batch_of_remembered_conversations_takes_one_statement(
    db: Database, database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stale memory (another node wrote since) costs a read and a second statement, never
    a wrong seq."""
    site = await make_site(db)
    assert site.id is not None
    opened = [await _open(db, site.id) for _ in range(3)]
    for c, v in opened:
        await service.send_message(db, conversation_id=c, sender=v, client_id="1", text="a")
    reads = _count_reads(monkeypatch)
    attempts = _between_read_and_write(monkeypatch, lambda: asyncio.sleep(0))

    remembered = await asyncio.gather(
        *(
            service.send_message(db, conversation_id=c, sender=v, client_id="2", text="b")
            for c, v in opened
        )
    )
    assert reads == [] and len(attempts) == 1
    assert [r.message.seq for r in remembered] == [2, 2, 2]

    other_node = Database(database_url)
    try:
        stale_id, stale_visitor = opened[0]
        await service.send_message(
            other_node, conversation_id=stale_id, sender=stale_visitor, client_id="3", text="c"
        )
    finally:
        await other_node.dispose()
    attempts.clear()
    reads.clear()
    after = await service.send_message(
        db, conversation_id=stale_id, sender=stale_visitor, client_id="4", text="d"
    )
    assert after.message.seq == 4 and after.conversation.last_seq == 4
    assert len(reads) == 1 and len(attempts) == 2
    assert [m.seq for m in await _stored(db, stale_id)] == [1, 2, 3, 4]


async def test_a_refusal_is_never_decided_from_memory(
    db: Database, database_url: str, backend: str
) -> None:
    """This node remembers the conversation as the first agent's; another node transferred
    it meanwhile. The new assignee's message is accepted, the old one's refused."""
    site = await make_site(db)
    assert site.id is not None
    first = await make_staff(db, site=site)
    second = await make_staff(db, site=site)
    conversation_id, _ = await _open(db, site.id)
    await transitions.accept(db, conversation_id=conversation_id, agent=first)
    await service.send_message(
        db, conversation_id=conversation_id, sender=Actor.staff(first), client_id="a", text="hi"
    )
    other_node = Database(database_url)
    try:
        await transitions.transfer_to_agent(
            other_node, conversation_id=conversation_id, assignee=second, actor=Actor.staff(first)
        )
    finally:
        await other_node.dispose()

    accepted = await service.send_message(
        db, conversation_id=conversation_id, sender=Actor.staff(second), client_id="b", text="x"
    )
    assert accepted.created and accepted.message.seq == 2
    assert accepted.conversation.assignee_id == second.id
    with pytest.raises(DomainError) as refused:
        await service.send_message(
            db, conversation_id=conversation_id, sender=Actor.staff(first), client_id="c", text="y"
        )
    assert refused.value.code == "not_assignee"


async def test_a_transfer_in_between_refuses_the_previous_assignees_message(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = await make_site(db)
    assert site.id is not None
    owner = await make_staff(db, site=site)
    successor = await make_staff(db, site=site)
    conversation_id, _ = await _open(db, site.id)
    await transitions.accept(db, conversation_id=conversation_id, agent=owner)

    async def transfer() -> None:
        await transitions.transfer_to_agent(
            db, conversation_id=conversation_id, assignee=successor, actor=Actor.staff(owner)
        )

    _between_read_and_write(monkeypatch, transfer)
    with pytest.raises(DomainError) as refused:
        await service.send_message(
            db,
            conversation_id=conversation_id,
            sender=Actor.staff(owner),
            client_id="late",
            text="x",
        )

    assert refused.value.code == "not_assignee"
    assert await _stored(db, conversation_id) == []
    async with db.read() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    assert conversation.last_seq == 0 and conversation.assignee_id == successor.id


async def test_a_resolve_in_between_makes_the_visitors_message_reopen_it(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transition writes no message, so only the status in the compare-and-set notices
    it: planned on `assigned`, the message would be stored into a resolved conversation."""
    site = await make_site(db)
    assert site.id is not None
    agent = await make_staff(db, site=site)
    conversation_id, visitor = await _open(db, site.id)
    await transitions.accept(db, conversation_id=conversation_id, agent=agent)

    async def resolve() -> None:
        await transitions.resolve(db, conversation_id=conversation_id, actor=Actor.staff(agent))

    _between_read_and_write(monkeypatch, resolve)
    result = await service.send_message(
        db, conversation_id=conversation_id, sender=visitor, client_id="after", text="again"
    )

    assert result.created and result.message.seq == 1
    assert result.conversation.status == ConversationStatus.BOT
    async with db.read() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    assert conversation.status == ConversationStatus.BOT and conversation.assignee_id is None


async def test_the_acked_conversation_is_the_committed_one(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change no validation depends on (the team of a queued conversation) still shows in
    what the sender, and the fan-out, are given."""
    site = await make_site(db)
    assert site.id is not None
    conversation_id, visitor = await _open(db, site.id)
    await transitions.request_handoff(
        db, conversation_id=conversation_id, actor=visitor, reason="visitor_asked"
    )
    billing = Team(site_id=site.id, name="Billing", routing_mode="manual")
    async with db.write() as session:
        session.add(billing)

    async def move_to_billing() -> None:
        await transitions.transfer_to_team(
            db, conversation_id=conversation_id, team=billing, actor=visitor
        )

    _between_read_and_write(monkeypatch, move_to_billing)
    locked = count_write_transactions(db, monkeypatch)
    result = await service.send_message(
        db, conversation_id=conversation_id, sender=visitor, client_id="q", text="still there?"
    )

    assert locked == []  # status and assignee held: the fast path committed it
    assert result.conversation.status == ConversationStatus.QUEUED
    assert result.conversation.team_id == billing.id


async def test_a_resend_of_an_earlier_message_is_answered_with_the_stored_one(
    db: Database, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    site = await make_site(db)
    assert site.id is not None
    conversation_id, visitor = await _open(db, site.id)
    first = await service.send_message(
        db, conversation_id=conversation_id, sender=visitor, client_id="m1", text="one"
    )

    resend, second = await asyncio.gather(
        service.send_message(
            db, conversation_id=conversation_id, sender=visitor, client_id="m1", text="one"
        ),
        service.send_message(
            db, conversation_id=conversation_id, sender=visitor, client_id="m2", text="two"
        ),
    )

    assert not resend.created and resend.message.id == first.message.id
    assert second.created and second.message.seq == 2
    assert [m.client_id for m in await _stored(db, conversation_id)] == ["m1", "m2"]
    # The statement saw the stored client id and wrote nothing (rather than failing on the
    # unique constraint), and the locked path answered both.
    assert not [r for r in caplog.records if r.name == store_postgres.__name__]


async def test_state_changing_messages_take_the_locked_path(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = await make_site(db)
    assert site.id is not None
    agent = await make_staff(db, site=site)
    conversation_id, visitor = await _open(db, site.id)
    locked = count_write_transactions(db, monkeypatch)
    reads = _count_reads(monkeypatch)

    takeover = await service.send_message(
        db, conversation_id=conversation_id, sender=Actor.staff(agent), client_id="a", text="hi"
    )
    await transitions.resolve(db, conversation_id=conversation_id, actor=Actor.staff(agent))
    reopened = await service.send_message(
        db, conversation_id=conversation_id, sender=visitor, client_id="v", text="again"
    )

    assert takeover.status_changed and takeover.conversation.assignee_id == agent.id
    assert reopened.status_changed and reopened.conversation.status == ConversationStatus.BOT
    assert len(locked) == 2
    # Straight there: no second, fresh-read try first, which could not store them either.
    assert len(reads) == 2
    assert [m.seq for m in await _stored(db, conversation_id)] == [1, 2]


@pytest.mark.parametrize("committed", [False, True], ids=["before-commit", "after-commit"])
async def test_a_lost_connection_falls_back_without_losing_or_doubling(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch, committed: bool
) -> None:
    """The connection drops during the compare-and-set, before or after PostgreSQL
    committed it: either way the message is stored once and the sender gets it."""
    site = await make_site(db)
    assert site.id is not None
    conversation_id, visitor = await _open(db, site.id)
    real = store_postgres._compare_and_set

    async def dropped(*args: Any) -> Any:
        if committed:
            await real(*args)
        raise ConnectionResetError("connection lost")

    monkeypatch.setattr(store_postgres, "_compare_and_set", dropped)
    result = await service.send_message(
        db, conversation_id=conversation_id, sender=visitor, client_id="m", text="hello"
    )

    stored = await _stored(db, conversation_id)
    assert [(m.id, m.seq) for m in stored] == [(result.message.id, 1)]
    # Stored by the locked path, or found there as stored: no second fan-out either way.
    assert result.created is not committed
    # The pool dropped the broken connection: the next write works.
    monkeypatch.setattr(store_postgres, "_compare_and_set", real)
    after = await service.send_message(
        db, conversation_id=conversation_id, sender=visitor, client_id="n", text="again"
    )
    assert after.created and after.message.seq == 2


async def test_the_store_writes_through_the_migrated_function_and_closes_with_the_database(
    database_url: str, backend: str
) -> None:
    """The write is the function of migration 0009_message_events_in_write (0004's, plus
    the blind index, plus the messages' own events), prepared on the store's connection,
    and disposing of the database closes that connection."""
    node = Database(database_url)
    site = await make_site(node)
    assert site.id is not None
    conversation_id, visitor = await _open(node, site.id)
    await service.send_message(
        node, conversation_id=conversation_id, sender=visitor, client_id="m", text="hi"
    )
    store = service._writer(node)._store_batch.__self__  # type: ignore[attr-defined]
    assert isinstance(store, store_postgres.OptimisticStore)
    connection = store._connection
    assert connection is not None
    assert "relaydesk_store_messages_v3(" in store_postgres._WRITE
    # Prepared by the write above: the call and the function's statements are planned once.
    assert any(
        "relaydesk_store_messages_v3" in row["statement"]
        for row in await connection.fetch("SELECT statement FROM pg_prepared_statements")
    )

    await node.dispose()
    assert connection.is_closed()


async def test_the_functions_message_events_are_the_message_paths_rows(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function makes each message's `message.stored` row in the database (migration
    0009): it must be the row `event_log.message_stored_row` makes on the locked path and
    on SQLite, in the messages' order, for every sender kind; none with the log off."""
    site = await make_site(db)
    assert site.id is not None
    agent = await make_staff(db, site=site)
    visitor = await sites.create_visitor(db, site_id=site.id, locale=None)
    conversation, _ = await service.open_conversation(db, site_id=site.id, visitor_id=visitor.id)
    await transitions.accept(db, conversation_id=conversation.id, agent=agent)
    assert agent.id is not None
    senders = [Actor.visitor(visitor.id), Actor.staff(agent), Actor.visitor(visitor.id)]
    texts = ["hello 你好", "hi, how can I help?", "我的订单 4417 在哪里"]
    locked = count_write_transactions(db, monkeypatch)
    results = await asyncio.gather(
        *(
            service.send_message(
                db, conversation_id=conversation.id, sender=s, client_id=f"k{i}", text=t
            )
            for i, (s, t) in enumerate(zip(senders, texts, strict=True))
        )
    )
    with override_settings(event_log="off"):
        await service.send_message(
            db, conversation_id=conversation.id, sender=senders[0], client_id="off", text="x"
        )
    assert locked == []  # all through the function

    async with db.read() as session:
        events = list(
            (
                await session.execute(
                    select(Event)
                    .where(Event.conversation_id == conversation.id, Event.type == "message.stored")
                    .order_by(Event.id)  # type: ignore[arg-type]
                )
            ).scalars()
        )
    expected = [
        event_log.message_stored_row(
            site_id=site.id,
            conversation_id=conversation.id,
            sender_kind=r.message.sender.kind,
            sender_id=r.message.sender.id,
            message_id=r.message.id,
            seq=r.message.seq,
            chars=len(text),
            created_at=r.message.created_at,
        )
        for r, text in sorted(zip(results, texts, strict=True), key=lambda p: p[0].message.seq)
    ]
    columns = ("site_id", "type", "conversation_id", "actor_kind", "actor_id", "payload")
    assert [{c: getattr(e, c) for c in columns} for e in events] == [
        {c: row[c] for c in columns} for row in expected
    ]
    assert [e.created_at for e in events] == [row["created_at"] for row in expected]
    assert {e["actor_kind"] for e in expected} == {"visitor", "agent"}
