"""State + events = a fresh fetch, for what routing adds: transfers (to an agent, to a
team), auto-assignment, presence changes and queue positions. Refused changes emit
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from relaydesk.conversations import service as conversations
from relaydesk.conversations.policy import load_scope
from relaydesk.conversations.schemas import dump
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import Role
from relaydesk.routing import presence
from relaydesk.routing import service as routing
from tests.conftest import RecordingEmitter
from tests.factories import default_team, make_site
from tests.routing.conftest import add_team, agent, queued


def _views(emitted: RecordingEmitter, audiences: dict[str, set[str]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, rooms in audiences.items():
        for update in emitted.of("conversation:updated", namespace="/console"):
            if update["room"] in rooms:
                seen[name] = update["data"]["conversation"]
    return seen


async def test_transfer_events_track_the_state(db: Database, emitted: RecordingEmitter) -> None:
    site = await make_site(db)
    support = await default_team(db, site)
    billing = await add_team(db, site, "Billing", mode="manual")
    ann = await agent(db, site, [support], status=None, name="Ann")
    bob = await agent(db, site, [support], status="online", name="Bob")
    lead = await agent(db, site, [support, billing], status=None, roles=[Role.SUPERVISOR])
    rooms = f"site:{site.id}"
    audiences = {
        "supervisor": {rooms, f"{rooms}:leads"},
        "bob": {rooms, f"staff:{bob.id}"},
        "other agent": {rooms},
    }
    conversation = await queued(db, site, support)  # auto-assigned to Bob, the one online

    async def fresh() -> dict[str, Any]:
        current = await conversations.get_conversation(db, conversation.id)
        return dump(await conversations.describe(db, current))

    expected = await fresh()
    assert expected["assignee_id"] == bob.id
    seen = _views(emitted, audiences)
    assert seen["supervisor"] == seen["bob"] == expected
    assert seen["other agent"] == {**expected, "assignee_id": None, "assignee": None}

    scope = await load_scope(db, lead)
    await routing.transfer(db, scope=scope, conversation_id=conversation.id, agent_id=ann.id)
    expected = await fresh()
    assert expected["assignee"]["name"] == "Ann"
    assert _views(emitted, {"supervisor": audiences["supervisor"]})["supervisor"] == expected
    assert _views(emitted, {"ann": {rooms, f"staff:{ann.id}"}})["ann"] == expected

    await routing.transfer(db, scope=scope, conversation_id=conversation.id, team_id=billing.id)
    expected = await fresh()
    assert (expected["status"], expected["team_id"]) == ("queued", billing.id)
    assert all(view == expected for view in _views(emitted, audiences).values())
    # The visitor's side follows too, and learns its place in the queue.
    widget = [
        e["data"]["conversation"]
        for e in emitted.of("conversation:updated", namespace="/widget")
        if e["data"]["conversation"]["id"] == conversation.id
    ]
    assert widget[-1] == expected
    positions = [
        e["data"] for e in emitted.of("queue:position") if e["room"] == f"conv:{conversation.id}"
    ]
    assert positions[-1] == {"conversation_id": conversation.id, "position": 1}

    before = len(emitted.sent)
    with pytest.raises(DomainError):
        await routing.transfer(db, scope=scope, conversation_id=conversation.id, team_id=billing.id)
    assert len(emitted.sent) == before


async def test_presence_events_track_the_state(db: Database, emitted: RecordingEmitter) -> None:
    site = await make_site(db)
    user = await agent(db, site, status=None)
    assert user.id is not None
    await presence.connected(db, user_id=user.id, sid="tab-1")
    await presence.connected(db, user_id=user.id, sid="tab-2")
    await presence.set_presence(db, user_id=user.id, status="away")
    await presence.disconnected(db, user_id=user.id, sid="tab-1")
    await presence.set_presence(db, user_id=user.id, status="online")
    await presence.disconnected(db, user_id=user.id, sid="tab-2")
    leads = [
        e["data"]["presence"]
        for e in emitted.of("presence:updated")
        if e["room"] == f"site:{site.id}:leads"
    ]
    assert [p["status"] for p in leads] == ["online", "away", "online", "offline"]
    assert leads[-1] == (await presence.get_presence(db, user.id)).model_dump()
    own = [e for e in emitted.of("presence:updated") if e["room"] == f"staff:{user.id}"]
    assert [e["data"]["presence"] for e in own] == leads
