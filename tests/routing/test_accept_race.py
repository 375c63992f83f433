"""Acceptance 2 of issue 6: two agents race to accept the same queued conversation, 100
times. Exactly one wins every time, and the loser is told who won."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict
from relaydesk.core.models import Event
from tests import sockets
from tests.factories import bearer_for, default_team, make_site
from tests.routing.conftest import add_team, agent, queued, set_mode


@pytest.mark.postgres
async def test_hundred_races_through_the_service(db: Database, backend: str) -> None:
    site = await make_site(db)
    await set_mode(db, await default_team(db, site), "manual")
    ann = await agent(db, site, name="Ann", status=None)
    bob = await agent(db, site, name="Bob", status=None)
    names = {ann.id: "Ann", bob.id: "Bob"}
    wins = {ann.id: 0, bob.id: 0}
    for _ in range(100):
        conversation = await queued(db, site)
        results = await asyncio.gather(
            transitions.accept(db, conversation_id=conversation.id, agent=ann),
            transitions.accept(db, conversation_id=conversation.id, agent=bob),
            return_exceptions=True,
        )
        won = [r for r in results if isinstance(r, Conversation)]
        lost = [r for r in results if isinstance(r, Exception)]
        assert len(won) == 1 and len(lost) == 1, results
        winner = won[0].assignee_id
        error = lost[0]
        assert isinstance(error, Conflict) and error.code == "already_assigned"
        assert error.details["assignee_id"] == winner
        assert error.details["assignee_name"] == names[winner]
        assert names[winner] in error.message
        wins[winner] += 1
        async with db.read() as session:
            row = await session.get(Conversation, conversation.id)
            events = (
                await session.execute(
                    select(Event.type).where(
                        Event.conversation_id == conversation.id,
                        Event.type == "conversation.assigned",
                    )
                )
            ).all()
        assert row is not None and row.assignee_id == winner and row.status == "assigned"
        assert len(events) == 1
    assert sum(wins.values()) == 100


async def test_races_through_two_socket_clients(db: Database, live_server: str) -> None:
    site = await make_site(db)
    await set_mode(db, await default_team(db, site), "manual")
    ann = await agent(db, site, name="Ann", status=None)
    bob = await agent(db, site, name="Bob", status=None)
    peers = [
        await sockets.staff(live_server, bearer_for(ann)),
        await sockets.staff(live_server, bearer_for(bob)),
    ]
    names = {ann.id: "Ann", bob.id: "Bob"}
    try:
        for _ in range(40):
            conversation = await queued(db, site)
            acks = await asyncio.gather(
                *(
                    p.call("conversation:accept", {"conversation_id": conversation.id})
                    for p in peers
                )
            )
            won = [a for a in acks if a["ok"]]
            lost = [a for a in acks if not a["ok"]]
            assert len(won) == 1 and len(lost) == 1, acks
            winner = won[0]["conversation"]["assignee_id"]
            assert won[0]["conversation"]["assignee"]["name"] == names[winner]
            error = lost[0]["error"]
            assert error["code"] == "already_assigned"
            assert error["details"] == {"assignee_id": winner, "assignee_name": names[winner]}
        # Someone of another team learns nothing about who holds it.
        billing = await add_team(db, site, "Billing", mode="manual")
        carol = await agent(db, site, [billing], name="Carol", status=None)
        outsider = await sockets.staff(live_server, bearer_for(carol))
        peers.append(outsider)
        support_only = await queued(db, site, await default_team(db, site))
        assert (await peers[0].call("conversation:accept", {"conversation_id": support_only.id}))[
            "ok"
        ]
        denied = await outsider.call("conversation:accept", {"conversation_id": support_only.id})
        assert denied == {
            "ok": False,
            "error": {"code": "conversation_not_found", "message": "no such conversation"},
        }
    finally:
        for peer in peers:
            await peer.disconnect()
