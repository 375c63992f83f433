"""Every legal transition works and records its event; every illegal one is refused with a
clear error and leaves the state unchanged. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlmodel import select

from relaydesk.conversations import service, transitions
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.service import BOT, Actor
from relaydesk.conversations.state import ALLOWED, Transition
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, Forbidden, IllegalTransition
from relaydesk.core.models import Event, StaffUser
from tests.factories import make_site, make_staff

pytestmark = pytest.mark.postgres
S = ConversationStatus


async def new_conversation(db: Database) -> tuple[Conversation, StaffUser, StaffUser]:
    site = await make_site(db)
    visitor = await _visitor(db, site.id)
    conversation, _ = await service.open_conversation(db, site_id=site.id, visitor_id=visitor)
    return conversation, await make_staff(db, site=site), await make_staff(db, site=site)


async def _visitor(db: Database, site_id: Any) -> str:
    from relaydesk.sites import service as sites

    return (await sites.create_visitor(db, site_id=site_id, locale="en")).id


async def put_in(db: Database, conversation: Conversation, status: S, agent: StaffUser) -> None:
    """Drive a fresh (bot) conversation into `status` through legal moves only."""
    if status == S.QUEUED:
        await transitions.request_handoff(
            db, conversation_id=conversation.id, actor=BOT, reason="low_confidence"
        )
    elif status == S.ASSIGNED:
        await transitions.accept(db, conversation_id=conversation.id, agent=agent)
    elif status == S.RESOLVED:
        await transitions.resolve(db, conversation_id=conversation.id, actor=Actor.staff(agent))


def runner(
    transition: Transition, db: Database, conversation: Conversation, a: StaffUser, b: StaffUser
) -> Callable[[], Awaitable[Conversation]]:
    cid = conversation.id
    return {
        Transition.REQUEST_HANDOFF: lambda: transitions.request_handoff(
            db, conversation_id=cid, actor=BOT, reason="visitor_request"
        ),
        Transition.ASSIGN: lambda: transitions.assign(
            db, conversation_id=cid, assignee=b, actor=Actor.staff(a)
        ),
        Transition.RESOLVE: lambda: transitions.resolve(
            db, conversation_id=cid, actor=Actor.staff(a)
        ),
        Transition.REOPEN: lambda: transitions.reopen(
            db, conversation_id=cid, actor=Actor.staff(a)
        ),
        Transition.HAND_BACK: lambda: transitions.hand_back(
            db, conversation_id=cid, actor=Actor.staff(a)
        ),
    }[transition]


CASES = [(t, s) for t in Transition for s in S]


@pytest.mark.parametrize(
    ("transition", "start"), CASES, ids=[f"{t.value}-from-{s.value}" for t, s in CASES]
)
async def test_transition_matrix(
    db: Database, backend: str, transition: Transition, start: S
) -> None:
    conversation, a, b = await new_conversation(db)
    await put_in(db, conversation, start, a)
    before = await service.get_conversation(db, conversation.id)
    assert before.status == start
    events_before = await _event_types(db, conversation.id)
    run = runner(transition, db, conversation, a, b)
    expected = ALLOWED[transition].get(start)
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            await run()
        assert start.value in info.value.message and info.value.code == "illegal_transition"
        after = await service.get_conversation(db, conversation.id)
        assert after.status == start
        assert after.assignee_id == before.assignee_id
        assert await _event_types(db, conversation.id) == events_before
        return
    result = await run()
    after = await service.get_conversation(db, conversation.id)
    assert result.status == after.status == expected
    new_events = (await _event_types(db, conversation.id))[len(events_before) :]
    assert len(new_events) == 1
    if expected == S.ASSIGNED:
        assert after.assignee_id == b.id
    if expected in (S.BOT, S.QUEUED) and start != S.BOT:
        assert after.assignee_id is None


async def _event_types(db: Database, conversation_id: str) -> list[str]:
    async with db.read() as session:
        rows = await session.execute(
            select(Event.type).where(Event.conversation_id == conversation_id).order_by(Event.id)
        )
        return list(rows.scalars())


async def test_second_accept_names_the_winner(db: Database, backend: str) -> None:
    conversation, a, b = await new_conversation(db)
    await put_in(db, conversation, S.QUEUED, a)
    await transitions.accept(db, conversation_id=conversation.id, agent=a)
    with pytest.raises(Conflict) as info:
        await transitions.accept(db, conversation_id=conversation.id, agent=b)
    assert info.value.code == "already_assigned"
    assert info.value.details["assignee_id"] == a.id


async def test_agent_message_takes_over_from_bot_and_queue(db: Database, backend: str) -> None:
    for start in (S.BOT, S.QUEUED):
        conversation, a, _ = await new_conversation(db)
        await put_in(db, conversation, start, a)
        result = await service.send_message(
            db, conversation_id=conversation.id, sender=Actor.staff(a), client_id="a1", text="hi"
        )
        assert result.conversation.status == S.ASSIGNED
        assert result.conversation.assignee_id == a.id
        assert (await _event_types(db, conversation.id))[-2:] == [
            "conversation.assigned",
            "message.stored",
        ]


async def test_who_may_write_when(db: Database, backend: str) -> None:
    conversation, a, b = await new_conversation(db)
    await put_in(db, conversation, S.ASSIGNED, a)
    with pytest.raises(Conflict) as silenced:
        await service.send_message(
            db, conversation_id=conversation.id, sender=BOT, client_id="b1", text="I can help!"
        )
    assert silenced.value.code == "bot_silenced"
    with pytest.raises(Forbidden) as other:
        await service.send_message(
            db, conversation_id=conversation.id, sender=Actor.staff(b), client_id="x", text="mine"
        )
    assert other.value.code == "not_assignee"
    await transitions.resolve(db, conversation_id=conversation.id, actor=Actor.staff(a))
    with pytest.raises(Conflict) as resolved:
        await service.send_message(
            db, conversation_id=conversation.id, sender=Actor.staff(a), client_id="y", text="hi"
        )
    assert resolved.value.code == "conversation_resolved"
    # A new visitor message reopens it for the bot, with a clean slate.
    result = await service.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(conversation.visitor_id),
        client_id="v",
        text="one more thing",
    )
    assert result.conversation.status == S.BOT
    assert result.conversation.assignee_id is None
    assert result.conversation.handoff_reason is None
    bot = await service.send_message(
        db, conversation_id=conversation.id, sender=BOT, client_id="b2", text="Sure!"
    )
    assert bot.message.seq == result.message.seq + 1
    # Refused messages used no sequence numbers.
    assert [
        m.seq for m in await service.sync(db, conversation_id=conversation.id, after_seq=0)
    ] == [
        1,
        2,
    ]
