"""The bot in live conversations, end to end: a real server, Socket.IO clients, the
stand-in LLM behind the real ChatOpenAI client."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import select

from relaydesk.bot.models import BotHandoffSummary
from relaydesk.conversations import hooks
from relaydesk.conversations.models import Conversation
from relaydesk.core.db import Database
from relaydesk.core.models import Availability, Event, Site
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD
from relaydesk.testing.llm_standin import LLMStandIn, Reply
from tests import sockets
from tests.bot.conftest import configure
from tests.factories import bearer_for, make_staff, route_manually
from tests.waiting import assert_quiet


def cid() -> str:
    return uuid.uuid4().hex


async def open_visitor(live_server: str, site: Site) -> tuple[sockets.Peer, str]:
    peer = await sockets.visitor(live_server, site.site_key)
    ack = await peer.call("conversation:open", {})
    assert ack["ok"], ack
    return peer, ack["conversation"]["id"]


async def say(peer: sockets.Peer, conversation_id: str, text: str) -> dict[str, Any]:
    ack = await peer.call(
        "message:send", {"conversation_id": conversation_id, "client_id": cid(), "text": text}
    )
    assert ack["ok"], ack
    return ack["message"]  # type: ignore[no-any-return]


def bot_messages(peer: sockets.Peer) -> list[dict[str, Any]]:
    return [m for m in peer.messages() if m["sender"]["kind"] == "bot"]


async def wait_bot(peer: sockets.Peer, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    await peer.wait_until(lambda: len(bot_messages(peer)) >= count, timeout)
    return bot_messages(peer)


async def test_question_gets_streamed_cited_answer(
    db: Database, site: Site, llm: LLMStandIn, live_server: str
) -> None:
    llm.always(Reply("Your card arrives within 5 working days [1].", chunk_delay=0.01))
    visitor, conversation_id = await open_visitor(live_server, site)
    await say(visitor, conversation_id, "When will my card arrive?")
    [message] = await wait_bot(visitor, 1)

    deltas = visitor.received["message:stream"]
    assert len(deltas) > 1, "the answer is streamed in several deltas"
    assert [d["index"] for d in deltas] == list(range(len(deltas)))
    assert {d["stream_id"] for d in deltas} == {message["client_id"]}
    assert "".join(d["delta"] for d in deltas) == message["text"]
    assert message["text"] == "Your card arrives within 5 working days [1]."
    payload = message["payload"]
    assert payload["action"] == "answer"
    assert payload["confidence"] >= DEFAULT_ANSWER_THRESHOLD
    assert payload["citations"] == [
        {
            "n": 1,
            "entry_id": "card-arrival",
            "external_id": "ext-card-arrival",
            "title": "When will my card arrive?",
            "url": "https://help.example/card-arrival",
        }
    ]
    # The bot stops "typing" once its answer is stored, so that signal may trail the answer.
    signals = await visitor.wait_for("typing", count=2)
    typing = [t for t in signals if t["sender"]["kind"] == "bot"]
    assert [t["typing"] for t in typing] == [True, False]
    # The prompt: rules first, passages as delimited data, the question last.
    [request] = llm.requests
    roles = [m["role"] for m in request["messages"]]
    assert roles[:2] == ["system", "system"] and roles[-1] == "user"
    assert request["stream"] is True
    assert "Cards arrive within 5 working days" in request["messages"][1]["content"]
    await visitor.disconnect()


async def test_handoff_agent_silence_resolve_and_fresh_start(
    db: Database, site: Site, llm: LLMStandIn, live_server: str
) -> None:
    def reply(request: dict[str, Any]) -> Reply:
        if "Transcript" in str(request["messages"]):
            return Reply("Visitor typed 转人工 and asked for a person.")
        return Reply("Cards arrive within 5 working days [1].")

    llm.always(reply)
    await route_manually(db, site)  # queued until the agent accepts, not auto-assigned
    agent = await make_staff(db, site=site)
    async with db.write() as session:
        stored = await session.get(type(agent), agent.id)
        assert stored is not None
        stored.availability = Availability.ONLINE
    console = await sockets.staff(live_server, bearer_for(agent))
    visitor, conversation_id = await open_visitor(live_server, site)

    await say(visitor, conversation_id, "转人工")
    [handoff] = await wait_bot(visitor, 1)
    assert handoff["payload"]["action"] == "handoff"
    assert handoff["payload"]["reason"] == "visitor_asked"
    assert handoff["payload"]["queue"] == {"position": 1, "agents_online": True}
    assert "人工" in handoff["text"]
    [position] = await visitor.wait_for("queue:position")
    assert position == {"conversation_id": conversation_id, "position": 1}
    await hooks.drain()
    async with db.read() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.status, conversation.handoff_reason) == ("queued", "visitor_asked")
        summaries = (await session.execute(select(BotHandoffSummary))).scalars().all()
    assert len(summaries) == 1 and "转人工" in summaries[0].text
    assert summaries[0].details["generated_by"] == "llm"
    assert summaries[0].details["questions"] == ["转人工"]
    assert [("Transcript" in str(r)) for r in llm.requests] == [True], "no answer was generated"

    ack = await console.call("conversation:accept", {"conversation_id": conversation_id})
    assert ack["ok"], ack
    summary_ack = await console.call("handoff:summary", {"conversation_id": conversation_id})
    assert summary_ack["ok"] and summary_ack["summary"]["reason"] == "visitor_asked"

    await say(visitor, conversation_id, "When will my card arrive?")
    await say(visitor, conversation_id, "hello? anyone?")
    await hooks.drain()
    # The sentinel: the agent's reply reaches the visitor after any bot message would have.
    seen = len(visitor.received["message:new"])
    reply = await console.call(
        "message:send",
        {"conversation_id": conversation_id, "client_id": "agent-1", "text": "I am here."},
    )
    assert reply["ok"], reply
    await assert_quiet(
        visitor,
        "message:new",
        after=seen,
        sentinel="message:new",
        is_sentinel=lambda p: p["message"]["text"] == "I am here.",
    )
    assert len(bot_messages(visitor)) == 1, "the bot stays silent once a human took over"

    ack = await console.call("conversation:resolve", {"conversation_id": conversation_id})
    assert ack["ok"], ack
    await say(visitor, conversation_id, "When will my card arrive?")
    messages = await wait_bot(visitor, 2)
    fresh = messages[-1]
    assert fresh["payload"]["action"] == "answer", "reopened: the bot answers, no handoff loop"
    assert fresh["payload"]["citations"][0]["entry_id"] == "card-arrival"
    # Only turns after the reopen are in the prompt: "转人工" is not.
    assert "转人工" not in str(llm.requests[-1]["messages"])
    await visitor.disconnect()
    await console.disconnect()


async def test_no_agents_online_offers_offline_form(
    db: Database, site: Site, live_server: str
) -> None:
    visitor, conversation_id = await open_visitor(live_server, site)
    await say(visitor, conversation_id, "I want to talk to a real person")
    [handoff] = await wait_bot(visitor, 1)
    assert handoff["payload"]["queue"] == {"position": None, "agents_online": False}
    assert handoff["payload"]["offline_form"] is True
    await hooks.drain()
    bad = await visitor.call(
        "offline:submit",
        {"conversation_id": conversation_id, "email": "not-an-email", "message": "hi"},
    )
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
    ack = await visitor.call(
        "offline:submit",
        {"conversation_id": conversation_id, "email": "vi@example.test", "message": "Call me"},
    )
    assert ack["ok"], ack
    async with db.read() as session:
        types = (await session.execute(select(Event.type))).scalars().all()
    assert "conversation.offline_message" in types and "bot.replied" in types
    await visitor.disconnect()


async def test_widget_button_ack_carries_queue(db: Database, site: Site, live_server: str) -> None:
    await configure(db, site)
    visitor, conversation_id = await open_visitor(live_server, site)
    ack = await visitor.call("handoff:request", {"conversation_id": conversation_id})
    assert ack["ok"], ack
    assert ack["queue"] == {"position": None, "agents_online": False}
    assert ack["conversation"]["status"] == "queued"
    await visitor.disconnect()
