"""Two app processes sharing PostgreSQL and Redis: an agent with a tab on each node stays
online until both are closed, the supervisor on the other node sees every change, and a
transfer made on one node removes the agent's socket on the other node from the
conversation's room."""

from __future__ import annotations

import asyncio

import pytest

from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.sites import service as sites
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff
from tests.integration.test_two_nodes import cluster_url, nodes, seeding
from tests.nodes import Node
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["cluster_url", "nodes"]


async def test_presence_and_room_revocation_across_nodes(
    cluster_url: str, nodes: list[Node]
) -> None:
    (_, url_a), (_, url_b) = nodes
    async with seeding(cluster_url) as db:
        site = await make_site(db)
        ann = await make_staff(db, site=site, name="Ann")
        bob = await make_staff(db, site=site, name="Bob")
        lead = await make_staff(db, site=site, roles=[Role.SUPERVISOR], name="Lee")
        assert site.id is not None
        visitor = await sites.create_visitor(db, site_id=site.id, locale="en")

    supervisor = await sockets.staff(url_a, bearer_for(lead))
    ann_a = await sockets.staff(url_a, bearer_for(ann))
    ann_b = await sockets.staff(url_b, bearer_for(ann))
    await supervisor.wait_for("presence:updated")  # Ann online (first tab)
    await ann_a.disconnect()
    await asyncio.sleep(0.5)
    seen = [p["presence"] for p in supervisor.received["presence:updated"]]
    assert [p["status"] for p in seen if p["user_id"] == ann.id] == ["online"]

    # Ann (tab on node B) owns a conversation; the supervisor on node A moves it to Bob.
    db = Database(cluster_url)
    try:
        conversation, _ = await conversations.open_conversation(
            db, site_id=site.id, visitor_id=visitor.id
        )
        await transitions.request_handoff(
            db, conversation_id=conversation.id, actor=BOT, reason="visitor_request"
        )
        current = await conversations.get_conversation(db, conversation.id)
        if current.assignee_id != ann.id:  # auto-assigned to Ann, the one agent online
            await transitions.assign(
                db,
                conversation_id=conversation.id,
                assignee=ann,
                actor=Actor.staff(lead),
            )
        joined = await ann_b.call("conversation:join", {"conversation_id": conversation.id})
        assert joined["ok"], joined
        ack = await supervisor.call(
            "conversation:transfer", {"conversation_id": conversation.id, "agent_id": bob.id}
        )
        assert ack["ok"] and ack["conversation"]["assignee_id"] == bob.id, ack
        await asyncio.sleep(0.5)  # the leave travels through Redis to node B
        watcher = await sockets.staff(url_a, bearer_for(lead))
        assert (await watcher.call("conversation:join", {"conversation_id": conversation.id}))["ok"]
    finally:
        await db.dispose()
    # Bob writes from node B: the supervisor watching on node A gets it, Ann on B does not.
    bob_peer = await sockets.staff(url_b, bearer_for(bob))
    sent = await bob_peer.call(
        "message:send",
        {"conversation_id": conversation.id, "client_id": "bob-2", "text": "still here"},
    )
    assert sent["ok"], sent
    await watcher.wait_for("message:new")
    await asyncio.sleep(0.3)
    assert [m["text"] for m in ann_b.messages()] == []

    await ann_b.disconnect()

    async def offline() -> bool:
        updates = [p["presence"] for p in supervisor.received["presence:updated"]]
        return any(p["user_id"] == ann.id and p["status"] == "offline" for p in updates)

    await eventually(offline, timeout=5)
    for peer in (supervisor, watcher, bob_peer):
        await peer.disconnect()
