"""Role × action matrix for /console socket events, across sites."""

from __future__ import annotations

from typing import Any

import pytest

from relaydesk.core.db import Database
from relaydesk.core.models import Role
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff

ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("conversation:join", {}),
    ("sync", {"after_seq": 0}),
    ("typing", {"typing": True}),
    ("read", {"seq": 1}),
    ("message:send", {"client_id": "staff-1", "text": "Hello from staff"}),
    ("conversation:resolve", {}),
]
# Who may act on a live (bot) conversation of site A.
ROLES = {
    "admin (no team)": (Role.ADMIN, False, True),
    "supervisor of site A": (Role.SUPERVISOR, True, True),
    "agent of site A": (Role.AGENT, True, True),
    "agent of site B": (Role.AGENT, False, False),
    "supervisor of site B": (Role.SUPERVISOR, False, False),
    "editor of site A": (Role.EDITOR, True, False),
}


@pytest.mark.parametrize("who", list(ROLES))
async def test_console_actions_by_role(db: Database, live_server: str, who: str) -> None:
    role, in_site_a, allowed = ROLES[who]
    site_a, site_b = await make_site(db), await make_site(db)
    user = await make_staff(db, roles=[role], site=site_a if in_site_a else site_b)
    visitor = await sockets.visitor(live_server, site_a.site_key)
    conversation_id = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    await visitor.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "v1", "text": "hi"}
    )
    staff = await sockets.staff(live_server, bearer_for(user))
    for event, extra in ACTIONS:
        ack = await staff.call(event, {"conversation_id": conversation_id, **extra})
        if allowed:
            assert ack["ok"] is True, (who, event, ack)
        else:
            assert ack["ok"] is False, (who, event)
            assert ack["error"]["code"] in ("conversation_not_found", "forbidden"), ack
    if not allowed:
        assert staff.messages() == []
        synced = await visitor.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
        assert [m["sender"]["kind"] for m in synced["messages"]] == ["visitor"]
    await staff.disconnect()
    await visitor.disconnect()


async def test_agent_cannot_write_into_a_colleagues_conversation(
    db: Database, live_server: str
) -> None:
    site = await make_site(db)
    owner, other = await make_staff(db, site=site), await make_staff(db, site=site)
    visitor = await sockets.visitor(live_server, site.site_key)
    conversation_id = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    owner_peer = await sockets.staff(live_server, bearer_for(owner))
    other_peer = await sockets.staff(live_server, bearer_for(other))
    accepted = await owner_peer.call("conversation:accept", {"conversation_id": conversation_id})
    assert accepted["ok"] and accepted["conversation"]["assignee_id"] == owner.id
    assert accepted["conversation"]["assignee"]["name"] == owner.name
    [update] = [
        u
        for u in await visitor.wait_for("conversation:updated", count=1)
        if u["conversation"]["status"] == "assigned"
    ]
    assert update["conversation"]["assignee"] == {
        "id": owner.id,
        "name": owner.name,
        "avatar_url": None,
    }
    lost = await other_peer.call("conversation:accept", {"conversation_id": conversation_id})
    assert lost["ok"] is False
    ack = await other_peer.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "x1", "text": "mine now"}
    )
    assert ack["ok"] is False and ack["error"]["code"] == "conversation_not_found"
    for peer in (visitor, owner_peer, other_peer):
        await peer.disconnect()
