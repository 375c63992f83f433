"""Private notes: staff see them live and on fetch; the visitor never receives one, and
notes take no part in the visitor-visible `seq`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.collab import service as collab
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.policy import load_scope
from relaydesk.core.db import Database
from relaydesk.core.models import Role, StaffUser
from tests import sockets
from tests.conftest import RecordingEmitter
from tests.factories import bearer_for, make_conversation, make_site, make_staff
from tests.waiting import eventually

SECRET = "Private: customer is on the VIP list"


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def auth(user: StaffUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer_for(user)}"}


@pytest.mark.postgres
async def test_rest_add_list_and_idempotent_resend(
    db: Database, client: httpx.AsyncClient, backend: str
) -> None:
    site = await make_site(db)
    agent = await make_staff(db, site=site, name="Nora Note")
    conversation = await make_conversation(db, site)
    url = f"/api/v1/conversations/{conversation.id}/notes"
    first = await client.post(url, json={"client_id": "n-1", "text": SECRET}, headers=auth(agent))
    assert first.status_code == 201, first.text
    note = first.json()
    assert note["text"] == SECRET and note["author"] == {"id": agent.id, "name": "Nora Note"}
    again = await client.post(url, json={"client_id": "n-1", "text": "other"}, headers=auth(agent))
    assert again.status_code == 200 and again.json() == note
    second = await client.post(url, json={"client_id": "n-2", "text": "two"}, headers=auth(agent))
    assert second.status_code == 201
    listed = await client.get(url, headers=auth(agent))
    assert [n["text"] for n in listed.json()] == [SECRET, "two"]
    # Notes never consume the conversation's message sequence.
    fresh = await conversations.get_conversation(db, conversation.id)
    assert fresh.last_seq == 1
    messages = await conversations.sync(db, conversation_id=conversation.id, after_seq=0)
    assert [m.text for m in messages] == ["hello"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"client_id": "n-1", "text": ""}, "empty_text"),
        ({"client_id": "n-1", "text": "   \n "}, "empty_text"),
        ({"client_id": "n-1", "text": "bell\x07"}, "invalid_text"),
        ({"client_id": "n-1", "text": "x" * 10_001}, "text_too_long"),
        ({"client_id": "bad id!", "text": "hi"}, "invalid_payload"),
        ({"client_id": 5, "text": "hi"}, "invalid_payload"),
        ({"client_id": "n-1", "text": "hi", "extra": 1}, "invalid_payload"),
        ({"text": "hi"}, "invalid_payload"),
    ],
)
async def test_rest_bad_input(
    db: Database, client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    site = await make_site(db)
    agent = await make_staff(db, site=site)
    conversation = await make_conversation(db, site)
    response = await client.post(
        f"/api/v1/conversations/{conversation.id}/notes", json=body, headers=auth(agent)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert (
        await collab.list_notes(
            db, scope=await load_scope(db, agent), conversation_id=conversation.id
        )
        == []
    )


async def test_rest_authorization(db: Database, client: httpx.AsyncClient) -> None:
    site, other_site = await make_site(db), await make_site(db)
    owner = await make_staff(db, site=site)
    colleague = await make_staff(db, site=site)
    stranger = await make_staff(db, site=other_site)
    editor = await make_staff(db, site=site, roles=[Role.EDITOR])
    supervisor = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    conversation = await make_conversation(db, site)
    await transitions.accept(db, conversation_id=conversation.id, agent=owner)
    url = f"/api/v1/conversations/{conversation.id}/notes"
    body = {"client_id": "n-1", "text": SECRET}
    # A colleague may not see an owned conversation; another site, an editor neither.
    for user in (colleague, stranger, editor):
        for response in (
            await client.post(url, json=body, headers=auth(user)),
            await client.get(url, headers=auth(user)),
        ):
            assert response.status_code == 404, (user.name, response.text)
            assert response.json()["error"]["code"] == "conversation_not_found"
    # A visitor (or anyone without staff credentials) gets nothing.
    assert (await client.post(url, json=body)).status_code == 401
    assert (await client.get(url)).status_code == 401
    assert (await client.post(url, json=body, headers=auth(owner))).status_code == 201
    listed = await client.get(url, headers=auth(supervisor))
    assert [n["text"] for n in listed.json()] == [SECRET]
    missing = await client.get("/api/v1/conversations/nope/notes", headers=auth(owner))
    assert missing.status_code == 404


async def test_visitor_never_receives_a_note(db: Database, live_server: str) -> None:
    """Staff in the conversation get `note:new`; the visitor's socket gets nothing of the
    note, and neither its `sync` nor `conversation:open` shows it."""
    site, other_site = await make_site(db), await make_site(db)
    agent = await make_staff(db, site=site, name="Ava")
    supervisor = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    outsider = await make_staff(db, site=other_site, roles=[Role.SUPERVISOR])
    visitor = await sockets.visitor(live_server, site.site_key)
    opened = await visitor.call("conversation:open", {})
    cid = opened["conversation"]["id"]
    await visitor.call("message:send", {"conversation_id": cid, "client_id": "v1", "text": "hi"})
    agent_peer = await sockets.staff(live_server, bearer_for(agent))
    lead_peer = await sockets.staff(live_server, bearer_for(supervisor))
    outsider_peer = await sockets.staff(live_server, bearer_for(outsider))
    accepted = await agent_peer.call("conversation:accept", {"conversation_id": cid})
    assert accepted["ok"], accepted
    joined = await lead_peer.call("conversation:join", {"conversation_id": cid})
    assert joined["ok"] and joined["notes"] == []
    denied = await outsider_peer.call("conversation:join", {"conversation_id": cid})
    assert denied["ok"] is False

    ack = await agent_peer.call(
        "note:add", {"conversation_id": cid, "client_id": "note-1", "text": SECRET}
    )
    assert ack["ok"] and ack["duplicate"] is False and ack["note"]["text"] == SECRET
    [pushed] = await lead_peer.wait_for("note:new")
    assert pushed == {"note": ack["note"]}
    await agent_peer.wait_for("note:new")
    resend = await agent_peer.call(
        "note:add", {"conversation_id": cid, "client_id": "note-1", "text": SECRET}
    )
    assert resend["ok"] and resend["duplicate"] is True and resend["note"] == ack["note"]
    reply = await agent_peer.call(
        "message:send", {"conversation_id": cid, "client_id": "a1", "text": "How can I help?"}
    )
    assert reply["ok"]
    # Once the visitor has the agent's reply, everything sent before it has arrived too.
    await eventually(lambda: any(m["client_id"] == "a1" for m in visitor.messages()))

    everything = repr(dict(visitor.received))
    assert SECRET not in everything and "note:" not in everything
    assert "note:new" not in visitor.received
    synced = await visitor.call("sync", {"conversation_id": cid, "after_seq": 0})
    seqs = [m["seq"] for m in synced["messages"]]
    # Gap-free, and the note took no seq: the reply follows the last message directly.
    assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == reply["message"]["seq"]
    assert SECRET not in repr(synced)
    reopened = await visitor.call("conversation:open", {})
    assert SECRET not in repr(reopened)
    assert outsider_peer.received.get("note:new", []) == []
    assert len(lead_peer.received["note:new"]) == 1  # the resend was not fanned out again
    rejoined = await lead_peer.call("conversation:join", {"conversation_id": cid})
    assert rejoined["notes"] == [ack["note"]]
    for peer in (visitor, agent_peer, lead_peer, outsider_peer):
        await peer.disconnect()


async def test_socket_refusals(db: Database, live_server: str) -> None:
    site = await make_site(db)
    editor = await make_staff(db, site=site, roles=[Role.EDITOR])
    agent = await make_staff(db, site=site)
    visitor = await sockets.visitor(live_server, site.site_key)
    cid = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    editor_peer = await sockets.staff(live_server, bearer_for(editor))
    agent_peer = await sockets.staff(live_server, bearer_for(agent))
    note = {"conversation_id": cid, "client_id": "n1", "text": SECRET}
    refused = await editor_peer.call("note:add", note)
    assert refused["ok"] is False and refused["error"]["code"] == "conversation_not_found"
    # The visitor's namespace has no such event at all.
    from_visitor = await visitor.call("note:add", note)
    assert from_visitor["ok"] is False and from_visitor["error"]["code"] == "unknown_event"
    for bad, code in (
        ({**note, "text": "\x00"}, "invalid_text"),
        ({**note, "text": ""}, "empty_text"),
        ({**note, "client_id": ""}, "invalid_payload"),
        ({**note, "conversation_id": 7}, "invalid_payload"),
        ({"conversation_id": cid}, "invalid_payload"),
        ({**note, "conversation_id": "missing"}, "conversation_not_found"),
    ):
        ack = await agent_peer.call("note:add", bad)
        assert ack["ok"] is False and ack["error"]["code"] == code, (bad, ack)
    scope = await load_scope(db, agent)
    assert await collab.list_notes(db, scope=scope, conversation_id=cid) == []
    for peer in (visitor, editor_peer, agent_peer):
        await peer.disconnect()


async def test_note_events_rebuild_the_notes(db: Database, emitted: RecordingEmitter) -> None:
    """state + events = fresh fetch, and nothing of a note goes to the visitor side."""
    site = await make_site(db)
    agent = await make_staff(db, site=site)
    conversation = await make_conversation(db, site)
    scope = await load_scope(db, agent)
    for client_id, text in (("a", "one"), ("b", "two"), ("a", "resend"), ("c", "three")):
        await collab.add_note(
            db, scope=scope, conversation_id=conversation.id, client_id=client_id, text=text
        )
    with pytest.raises(Exception):  # noqa: B017 - any refusal; what matters is no event
        await collab.add_note(
            db, scope=scope, conversation_id=conversation.id, client_id="d", text="\x01"
        )
    seen = [e["data"]["note"] for e in emitted.of("note:new", namespace="/console")]
    assert all(e["room"] == f"conv:{conversation.id}" for e in emitted.of("note:new"))
    fresh = await collab.list_notes(db, scope=scope, conversation_id=conversation.id)
    assert seen == [n.model_dump(mode="json") for n in fresh]
    assert [n.text for n in fresh] == ["one", "two", "three"]
    assert [e for e in emitted.sent if e["namespace"] == "/widget" and "note" in e["event"]] == []
