"""Finding 7: connection floods. No per-IP connection limit, a visitor row for every
tokenless connection, and opened, empty conversations in the staff inbox. Now: a per-IP
cap, the visitor row made on first real use, empty conversations kept out of inboxes."""

from __future__ import annotations

import httpx
import pytest
import socketio
from sqlalchemy import func, select

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Visitor
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff


async def _visitor_rows(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Visitor))).scalar_one())


async def test_tokenless_connections_make_no_visitor_rows(db: Database, live_server: str) -> None:
    site = await make_site(db)
    peers = [await sockets.visitor(live_server, site.site_key) for _ in range(20)]
    assert await _visitor_rows(db) == 0
    # First real use makes the row; the same token on a later connection finds it.
    opened = await peers[0].call("conversation:open", {})
    assert opened["ok"] and await _visitor_rows(db) == 1
    token = peers[1].received["session"][0]["visitor_token"]
    again = await sockets.visitor(live_server, site.site_key, token=token)
    assert (await again.call("conversation:open", {}))["ok"]
    assert await _visitor_rows(db) == 2
    for peer in [*peers, again]:
        await peer.disconnect()


async def test_one_address_may_hold_only_so_many_sockets(db: Database, live_server: str) -> None:
    site = await make_site(db)
    with override_settings(max_connections_per_ip=3):
        held = [await sockets.visitor(live_server, site.site_key) for _ in range(3)]
        refused = sockets.Peer("/widget")
        reasons: list[object] = []
        refused.client.on("connect_error", reasons.append, namespace="/widget")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(live_server, {"site_key": site.site_key})
        assert "too_many_connections" in str(reasons)
        await held.pop().disconnect()
        held.append(await sockets.visitor(live_server, site.site_key))  # a slot came free
        with override_settings(rate_limits="off"):
            held.append(await sockets.visitor(live_server, site.site_key))
        for peer in held:
            await peer.disconnect()


async def test_opened_empty_conversations_stay_out_of_the_inbox(
    db: Database, live_server: str
) -> None:
    site = await make_site(db)
    admin = {"Authorization": f"Bearer {bearer_for(await make_staff(db, roles=[Role.ADMIN]))}"}
    console = await sockets.staff(live_server, bearer_for(await make_staff(db, site=site)))
    visitors = [await sockets.visitor(live_server, site.site_key) for _ in range(5)]
    for peer in visitors:
        assert (await peer.call("conversation:open", {}))["ok"]
    async with httpx.AsyncClient(base_url=live_server, headers=admin) as client:
        listed = (await client.get("/api/v1/conversations", params={"view": "all"})).json()
        assert listed["items"] == []
        assert console.received["conversation:updated"] == []
        conversation_id = (await visitors[0].call("conversation:open", {}))["conversation"]["id"]
        await visitors[0].call(
            "message:send",
            {"conversation_id": conversation_id, "client_id": "c1", "text": "hello"},
        )
        [update] = await console.wait_for("conversation:updated")
        assert update["conversation"]["id"] == conversation_id
        listed = (await client.get("/api/v1/conversations", params={"view": "all"})).json()
        assert [row["id"] for row in listed["items"]] == [conversation_id]
    for peer in [*visitors, console]:
        await peer.disconnect()
