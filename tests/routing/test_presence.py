"""Presence follows console tabs (online until the last tab closes), honours the agent's
own choice, reaches supervisors live, and works across nodes through Redis, where a dead
node's connections age out."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.routing import connections, presence
from relaydesk.testing.servers import RedisServer
from tests import sockets
from tests.factories import bearer_for, default_team, make_site
from tests.routing.conftest import agent
from tests.waiting import eventually


async def _status(db: Database, user_id: int) -> str:
    return (await presence.get_presence(db, user_id)).status


async def test_online_until_the_last_tab_closes(db: Database, live_server: str) -> None:
    site = await make_site(db)
    user = await agent(db, site, status=None)
    lead = await agent(db, site, status=None, roles=[Role.SUPERVISOR])
    assert user.id is not None
    supervisor = await sockets.staff(live_server, bearer_for(lead))
    assert await _status(db, user.id) == "offline"
    tab1 = await sockets.staff(live_server, bearer_for(user))
    await eventually(lambda: _online(db, user.id))
    tab2 = await sockets.staff(live_server, bearer_for(user))
    await tab1.disconnect()
    await asyncio.sleep(0.3)
    assert await _status(db, user.id) == "online"

    ack = await tab2.call("presence:set", {"status": "away"})
    assert ack == {"ok": True, "presence": {"user_id": user.id, "status": "away", "chosen": "away"}}
    # The supervisor saw every change, in order, ending with what a fresh fetch says.
    await supervisor.wait_for("presence:updated", count=2)
    mine = [p["presence"] for p in supervisor.received["presence:updated"]]
    mine = [p for p in mine if p["user_id"] == user.id]
    assert [p["status"] for p in mine] == ["online", "away"]
    # The agent's own tab hears it too (another tab's selector follows).
    await tab2.wait_for("presence:updated")

    bad = await tab2.call("presence:set", {"status": "busy"})
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"

    await tab2.disconnect()
    await eventually(lambda: _offline(db, user.id))
    await supervisor.wait_for("presence:updated", count=3)
    last = [p["presence"] for p in supervisor.received["presence:updated"]][-1]
    fresh = await presence.get_presence(db, user.id)
    assert last == fresh.model_dump() == {"user_id": user.id, "status": "offline", "chosen": "away"}

    # Away is a deliberate choice and survives a reconnect.
    tab3 = await sockets.staff(live_server, bearer_for(user))
    await eventually(lambda: _is(db, user.id, "away"))
    await tab3.disconnect()
    await supervisor.disconnect()


async def _online(db: Database, user_id: int | None) -> bool:
    assert user_id is not None
    return await _status(db, user_id) == "online"


async def _offline(db: Database, user_id: int | None) -> bool:
    assert user_id is not None
    return await _status(db, user_id) == "offline"


async def _is(db: Database, user_id: int, status: str) -> bool:
    return await _status(db, user_id) == status


async def test_rest_presence_and_agent_list(db: Database, live_server: str) -> None:
    site = await make_site(db)
    team = await default_team(db, site)
    user = await agent(db, site, capacity=7, status=None, name="Cai")
    editor = await agent(db, site, status=None, roles=[Role.EDITOR])
    tab = await sockets.staff(live_server, bearer_for(user))
    headers = {"Authorization": f"Bearer {bearer_for(user)}"}
    async with httpx.AsyncClient(base_url=live_server, headers=headers) as http:
        put = await http.put("/api/v1/me/presence", json={"status": "away"})
        assert put.status_code == 200
        assert put.json() == {"user_id": user.id, "status": "away", "chosen": "away"}
        assert (await http.get("/api/v1/me/presence")).json()["status"] == "away"
        bad = await http.put("/api/v1/me/presence", json={"status": "gone"})
        assert bad.status_code == 422
        listing = (await http.get("/api/v1/agents")).json()
        assert [a for a in listing if a["id"] == user.id] == [
            {
                "id": user.id,
                "name": "Cai",
                "avatar_url": None,
                "roles": ["agent"],
                "team_ids": [team.id],
                "presence": "away",
                "capacity": 7,
                "open_conversations": 0,
            }
        ]
        assert all(a["id"] != editor.id for a in listing)
        spec = (await http.get("/openapi.json")).json()["paths"]
        for path in (
            "/api/v1/me/presence",
            "/api/v1/agents",
            "/api/v1/conversations/{conversation_id}/assign",
            "/api/v1/conversations/{conversation_id}/transfer",
            "/api/v1/conversations/reassign",
        ):
            assert path in spec
    async with httpx.AsyncClient(
        base_url=live_server, headers={"Authorization": f"Bearer {bearer_for(editor)}"}
    ) as http:
        assert (await http.put("/api/v1/me/presence", json={"status": "online"})).status_code == 403
        assert (await http.get("/api/v1/agents")).status_code == 403
    await tab.disconnect()


async def test_presence_across_nodes_through_redis(
    db: Database, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two trackers with their own node ids share one Redis, as two app processes do. A
    tab on each node: closing one keeps the agent online; the other node dying (no more
    heartbeats) ages its connection out, and the sweep then takes the agent offline."""
    monkeypatch.setattr(connections, "NODE_TTL_SECONDS", 1.0)
    site = await make_site(db)
    user = await agent(db, site, status=None)
    assert user.id is not None
    with override_settings(redis_url=redis_server.url):
        await connections.reset_tracker()
        node_a = presence.tracker()
        assert isinstance(node_a, connections.RedisTracker)
        node_b = connections.RedisTracker(redis_server.url)
        try:
            await node_b.add(user.id, "sid-on-b")
            await presence.connected(db, user_id=user.id, sid="sid-on-a")
            assert await _status(db, user.id) == "online"
            assert sorted(await node_a.sids(user.id)) == ["sid-on-a", "sid-on-b"]

            await presence.disconnected(db, user_id=user.id, sid="sid-on-a")
            assert await _status(db, user.id) == "online"  # still a tab on node B
            assert await presence.sweep(db) == 0

            await asyncio.sleep(1.3)  # node B stops renewing its lease: it died
            await node_a.heartbeat()
            assert await node_a.sids(user.id) == []
            assert await presence.sweep(db) == 1
            assert await _status(db, user.id) == "offline"
        finally:
            await node_b.redis.aclose()
            await connections.reset_tracker()
