"""Acceptance: a visitor and an agent talk through a real server; reconnect replays exactly
what was missed; resends are idempotent."""

from __future__ import annotations

from relaydesk.core.db import Database
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff
from tests.waiting import assert_quiet


async def test_visitor_and_agent_talk_and_reconnect_replays_exactly_the_gap(
    db: Database, live_server: str
) -> None:
    site = await make_site(db)
    agent_user = await make_staff(db, site=site)
    visitor = await sockets.visitor(live_server, site.site_key)
    token = visitor.received["session"][0]["visitor_token"]
    agent = await sockets.staff(live_server, bearer_for(agent_user))

    opened = await visitor.call("conversation:open", {})
    assert opened["ok"] and opened["messages"] == []
    conversation_id = opened["conversation"]["id"]
    joined = await agent.call("conversation:join", {"conversation_id": conversation_id})
    assert joined["ok"]

    ack = await visitor.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "v-1", "text": "Hi!"}
    )
    assert ack["ok"] and ack["message"]["seq"] == 1
    [delivered] = await agent.wait_for("message:new")
    assert delivered["message"]["seq"] == 1
    assert delivered["message"]["text"] == "Hi!"
    assert delivered["message"]["sender"]["kind"] == "visitor"

    reply = await agent.call(
        "message:send",
        {"conversation_id": conversation_id, "client_id": "a-1", "text": "Hello, how can I help?"},
    )
    assert reply["ok"] and reply["message"]["seq"] == 2
    await visitor.wait_for("message:new")
    # The visitor's own message came back in its ack, not as an echo.
    assert [m["seq"] for m in visitor.messages()] == [2]
    assert visitor.messages()[0]["sender"] == {
        "kind": "agent",
        "id": str(agent_user.id),
        "name": agent_user.name,
    }
    last_seen = visitor.messages()[-1]["seq"]

    await visitor.disconnect()
    for n in range(3):
        ack = await agent.call(
            "message:send",
            {
                "conversation_id": conversation_id,
                "client_id": f"a-gap-{n}",
                "text": f"while away {n}",
            },
        )
        assert ack["ok"]

    back = await sockets.visitor(live_server, site.site_key, token=token)
    assert back.received["session"][0]["visitor_id"] == visitor.received["session"][0]["visitor_id"]
    synced = await back.call("sync", {"conversation_id": conversation_id, "after_seq": last_seen})
    assert synced["ok"]
    assert [m["text"] for m in synced["messages"]] == [
        "while away 0",
        "while away 1",
        "while away 2",
    ]
    assert [m["seq"] for m in synced["messages"]] == [3, 4, 5]
    # Exactly once: nothing arrives live that sync already returned. The sentinel, a new
    # message, arrives after anything the server could still send for the old ones.
    sentinel = await agent.call(
        "message:send",
        {"conversation_id": conversation_id, "client_id": "a-after", "text": "after sync"},
    )
    assert sentinel["ok"]
    await assert_quiet(
        back,
        "message:new",
        after=0,
        sentinel="message:new",
        is_sentinel=lambda p: p["message"]["text"] == "after sync",
    )
    await back.disconnect()
    await agent.disconnect()


async def test_resend_with_same_client_id_returns_original_and_fans_out_nothing(
    db: Database, live_server: str
) -> None:
    site = await make_site(db)
    agent_user = await make_staff(db, site=site)
    visitor = await sockets.visitor(live_server, site.site_key)
    agent = await sockets.staff(live_server, bearer_for(agent_user))
    conversation_id = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    await agent.call("conversation:join", {"conversation_id": conversation_id})
    token = visitor.received["session"][0]["visitor_token"]
    other_tab = await sockets.visitor(live_server, site.site_key, token=token)
    assert (await other_tab.call("conversation:open", {}))["ok"]

    payload = {"conversation_id": conversation_id, "client_id": "same-1", "text": "once"}
    first = await visitor.call("message:send", payload)
    second = await visitor.call("message:send", payload)
    third = await visitor.call("message:send", {**payload, "text": "different text, same id"})
    assert first["ok"] and second["ok"] and third["ok"]
    assert second["message"]["id"] == third["message"]["id"] == first["message"]["id"]
    assert second["message"]["seq"] == first["message"]["seq"] == 1
    assert third["message"]["text"] == "once"

    nxt = await visitor.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "next", "text": "two"}
    )
    assert nxt["message"]["seq"] == 2  # the resends consumed no sequence number
    # "two" is the sentinel: the resends' fan-out, had there been one, came before it.
    for peer in (agent, other_tab):
        await assert_quiet(
            peer,
            "message:new",
            after=1,
            sentinel="message:new",
            is_sentinel=lambda p: p["message"]["text"] == "two",
        )
        assert [m["text"] for m in peer.messages()] == ["once", "two"]
    # The sender has its messages from its acks; an agent's reply is its sentinel.
    reply = await agent.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "a-2", "text": "ok"}
    )
    assert reply["ok"]
    await assert_quiet(
        visitor,
        "message:new",
        after=0,
        sentinel="message:new",
        is_sentinel=lambda p: p["message"]["text"] == "ok",
    )
    await visitor.disconnect()
    await other_tab.disconnect()
    await agent.disconnect()
