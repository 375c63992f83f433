"""REST answers, follow-up context, per-site policy, feedback and CSAT, agent assist."""

from __future__ import annotations

import httpx
from sqlmodel import select

from relaydesk.bot import answer
from relaydesk.bot.models import BotCsat, BotFeedback
from relaydesk.bot.policy import BotPolicy
from relaydesk.bot.prompt import Turn
from relaydesk.conversations import hooks
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD
from relaydesk.testing.llm_standin import LLMStandIn, Reply
from tests import sockets
from tests.bot.conftest import configure
from tests.bot.test_live_conversation import open_visitor, say, wait_bot
from tests.factories import bearer_for, make_site, make_staff

# (first turn, follow-up, right entry, threshold). Chinese confidences run low with the
# English-only embedding model, so the Chinese case uses a site threshold fit for it.
FOLLOW_UPS = [
    ("My card still hasn't arrived", "How long does it take?", "card-arrival", 0.5),
    ("I forgot my password", "how long is the link valid?", "reset-password", 0.5),
    ("怎么更换绑定的还款银行卡", "那什么时候生效呢", "zh-repayment-card", 0.15),
]


async def test_follow_ups_use_the_previous_turn(db: Database, site: Site) -> None:
    """Measured: follow-ups answered correctly with context vs. with the question alone."""
    assert site.id is not None
    alone = with_context = 0
    for first, follow_up, expected, threshold in FOLLOW_UPS:
        policy = BotPolicy(answer_threshold=threshold)
        for history, counter in (([], "alone"), ([Turn("visitor", first)], "context")):
            reply = await answer.respond(
                db, site_id=site.id, site_name="S", question=follow_up, history=history,
                policy=policy,
            )  # fmt: skip
            assert reply is not None
            right = reply.action == "answer" and reply.citations[0]["entry_id"] == expected
            if counter == "alone":
                alone += right
            else:
                with_context += right
    assert with_context == len(FOLLOW_UPS)
    assert alone < with_context


async def test_topic_change_is_not_dragged_back(db: Database, site: Site) -> None:
    assert site.id is not None
    reply = await answer.respond(
        db, site_id=site.id, site_name="S", question="I forgot my password",
        history=[Turn("visitor", "When will my card arrive?")], policy=BotPolicy(),
    )  # fmt: skip
    assert reply is not None and reply.citations[0]["entry_id"] == "reset-password"


async def test_rest_answer(db: Database, site: Site, live_server: str) -> None:
    agent = await make_staff(db, site=site)
    outsider = await make_staff(db, site=await make_site(db))
    async with httpx.AsyncClient(base_url=live_server) as client:
        headers = {"Authorization": f"Bearer {bearer_for(agent)}"}
        response = await client.post(
            "/api/v1/bot/answer",
            json={"site": site.id, "question": "When will my card arrive?"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["action"] == "answer" and body["confidence"] >= DEFAULT_ANSWER_THRESHOLD
        assert body["citations"] == [
            {
                "entry_id": "card-arrival",
                "external_id": "ext-card-arrival",
                "title": "When will my card arrive?",
                "url": "https://help.example/card-arrival",
            }
        ]
        handoff = await client.post(
            "/api/v1/bot/answer",
            json={
                "site": site.id,
                "question": "不需要人工, 转人工吧",
                "history": [{"role": "visitor", "text": "hi"}],
            },
            headers=headers,
        )
        assert handoff.json()["action"] == "handoff"
        for bad in (
            {"site": site.id},
            {"site": site.id, "question": ""},
            {"site": site.id, "question": "x" * 20_000},
            {"site": site.id, "question": "ok", "history": [{"role": "god", "text": "x"}]},
            {"site": "one", "question": "q"},
            {"site": site.id, "question": "q\x00"},
        ):
            response = await client.post("/api/v1/bot/answer", json=bad, headers=headers)
            assert response.status_code == 422, (bad, response.text)
        assert (
            await client.post("/api/v1/bot/answer", json={"site": site.id, "question": "q"})
        ).status_code == 401
        foreign = await client.post(
            "/api/v1/bot/answer",
            json={"site": site.id, "question": "q"},
            headers={"Authorization": f"Bearer {bearer_for(outsider)}"},
        )
        assert foreign.status_code == 404
        # Policy: agents read it, supervisors change it.
        url = f"/api/v1/bot/sites/{site.id}/policy"
        assert (await client.get(url, headers=headers)).json()[
            "answer_threshold"
        ] == DEFAULT_ANSWER_THRESHOLD
        put = await client.put(url, json={"answer_threshold": 0.5}, headers=headers)
        assert put.status_code == 403
        boss = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
        boss_headers = {"Authorization": f"Bearer {bearer_for(boss)}"}
        put = await client.put(url, json={"handoff_keywords": ["refund"]}, headers=boss_headers)
        assert put.status_code == 200
        bad_put = await client.put(url, json={"answer_threshold": 7}, headers=boss_headers)
        assert bad_put.status_code == 422
        refund = await client.post(
            "/api/v1/bot/answer",
            json={"site": site.id, "question": "How do I get a refund for a purchase?"},
            headers=headers,
        )
        assert refund.json()["action"] == "handoff"


async def test_low_confidence_turns_hand_off_and_keywords(
    db: Database, site: Site, live_server: str
) -> None:
    await configure(db, site, low_confidence_turns=2, handoff_keywords=["complaint"])
    visitor, conversation_id = await open_visitor(live_server, site)
    await say(visitor, conversation_id, "What is the weather like on Mars?")
    [first] = await wait_bot(visitor, 1)
    assert first["payload"]["action"] == "clarify" and first["payload"]["related"]
    await say(visitor, conversation_id, "Do you sell pizza with pineapple?")
    second = (await wait_bot(visitor, 2))[-1]
    assert second["payload"]["action"] == "handoff"
    assert second["payload"]["reason"] == "low_confidence"
    await visitor.disconnect()

    other, other_id = await open_visitor(live_server, site)
    await say(other, other_id, "I want to file a complaint about my card")
    [message] = await wait_bot(other, 1)
    assert message["payload"]["reason"] == "keyword:complaint"
    await other.disconnect()


async def test_chinese_answer_with_site_threshold(
    db: Database, site: Site, llm: LLMStandIn, live_server: str
) -> None:
    await configure(db, site, answer_threshold=0.25)
    llm.always(Reply("在App的“设置-银行卡”里可以更换 [1]。"))
    visitor, conversation_id = await open_visitor(live_server, site)
    await say(visitor, conversation_id, "怎么更换绑定的还款银行卡")
    [message] = await wait_bot(visitor, 1)
    assert message["payload"]["action"] == "answer"
    assert message["payload"]["citations"][0]["entry_id"] == "zh-repayment-card"
    assert "Simplified Chinese" in llm.requests[0]["messages"][0]["content"]
    await visitor.disconnect()


async def test_feedback_csat_and_assist(db: Database, site: Site, live_server: str) -> None:
    agent = await make_staff(db, site=site)
    console = await sockets.staff(live_server, bearer_for(agent))
    visitor, conversation_id = await open_visitor(live_server, site)
    visitor_message = await say(visitor, conversation_id, "When will my card arrive?")
    [bot] = await wait_bot(visitor, 1)
    await hooks.drain()
    ref = {"conversation_id": conversation_id}
    for rating in ("up", "down"):
        ack = await visitor.call("feedback", {**ref, "message_id": bot["id"], "rating": rating})
        assert ack["ok"], ack
    bad = await visitor.call(
        "feedback", {**ref, "message_id": visitor_message["id"], "rating": "up"}
    )
    assert bad["error"]["code"] == "not_a_bot_message"
    bad = await visitor.call("feedback", {**ref, "message_id": bot["id"], "rating": "meh"})
    assert bad["error"]["code"] == "invalid_payload"
    bad = await visitor.call("feedback", {**ref, "message_id": "0" * 32, "rating": "up"})
    assert bad["error"]["code"] == "message_not_found"
    async with db.read() as session:
        ratings = (await session.execute(select(BotFeedback.rating))).scalars().all()
    assert ratings == ["down"], "rating again replaces the rating"

    assist = await console.call("assist:suggest", ref)
    assert assist["ok"], assist
    assert assist["suggestions"][0]["entry_id"] == "card-arrival"
    assert assist["draft"] is None  # no LLM configured

    early = await visitor.call("csat:submit", {**ref, "score": 5})
    assert early["error"]["code"] == "not_resolved"
    assert (await console.call("conversation:resolve", ref))["ok"]
    for bad_score in (0, 6, "5"):
        bad = await visitor.call("csat:submit", {**ref, "score": bad_score})
        assert bad["error"]["code"] == "invalid_payload"
    assert (await visitor.call("csat:submit", {**ref, "score": 2}))["ok"]
    assert (await visitor.call("csat:submit", {**ref, "score": 4, "comment": "ok"}))["ok"]
    async with db.read() as session:
        rows = (await session.execute(select(BotCsat))).scalars().all()
    assert [(r.score, r.comment) for r in rows] == [(4, "ok")]
    await visitor.disconnect()
    await console.disconnect()


async def test_site_without_knowledge_or_policy_has_no_bot(db: Database, live_server: str) -> None:
    bare = await make_site(db)
    visitor, conversation_id = await open_visitor(live_server, bare)
    await say(visitor, conversation_id, "hello?")
    await hooks.drain()
    assert visitor.received["typing"] == [] and visitor.messages() == []
    await visitor.disconnect()
