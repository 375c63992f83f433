"""Every way the LLM can fail ends in a fallback within the configured timeout, through
the real ChatOpenAI → openai → HTTP path; the breaker then stops calling it."""

from __future__ import annotations

import time

import pytest

from relaydesk.bot import answer, breaker
from relaydesk.bot.policy import BotPolicy
from relaydesk.core.db import Database
from relaydesk.core.models import Site
from relaydesk.testing.llm_standin import LLMStandIn, Reply
from tests.bot.conftest import LLM_TIMEOUT

FAILURES = {
    "server_error": Reply(status=500),
    "rate_limited": Reply(status=429, headers={"retry-after": "7"}),
    "timeout": Reply(hang=True),
    "slow_first_token": Reply("Cards arrive in 5 days [1].", first_token_delay=LLM_TIMEOUT + 2),
    "cut_off": Reply("Cards arrive within five working days [1].", cut_off_after=2),
    "malformed": Reply("Cards arrive within five working days [1].", malformed_after=1),
    "stalls_mid_stream": Reply("Cards arrive within five days [1].", chunk_delay=LLM_TIMEOUT),
}
EXPECTED_KIND = {
    "slow_first_token": "timeout",
    "stalls_mid_stream": "timeout",
}


async def ask(db: Database, site: Site, question: str) -> answer.Reply:
    assert site.id is not None
    reply = await answer.respond(
        db,
        site_id=site.id,
        site_name=site.name,
        question=question,
        history=[],
        policy=BotPolicy(),
    )
    assert reply is not None
    return reply


@pytest.mark.parametrize("kind", sorted(FAILURES))
async def test_failure_falls_back_to_extractive_in_time(
    db: Database, site: Site, llm: LLMStandIn, kind: str
) -> None:
    llm.script(FAILURES[kind])
    started = time.monotonic()
    reply = await ask(db, site, "When will my card arrive?")
    elapsed = time.monotonic() - started
    assert elapsed < LLM_TIMEOUT + 0.5, elapsed
    assert reply.action == "answer"
    assert reply.mode == "extractive"
    assert reply.failure == EXPECTED_KIND.get(kind, kind)
    assert reply.text.startswith("Cards arrive within 5 working days") and reply.text.endswith(
        "[1]"
    )
    assert reply.citations[0]["entry_id"] == "card-arrival"


async def test_rate_limit_opens_breaker_for_retry_after(
    db: Database, site: Site, llm: LLMStandIn
) -> None:
    llm.script(Reply(status=429, headers={"retry-after": "60"}))
    await ask(db, site, "When will my card arrive?")
    reply = await ask(db, site, "I forgot my password")
    assert reply.failure == "circuit_open" and reply.mode == "extractive"
    assert len(llm.requests) == 1, "the breaker kept the second call away from the endpoint"


async def test_breaker_opens_after_repeated_failures_and_recovers() -> None:
    now = [0.0]
    guard = breaker.CircuitBreaker(failure_threshold=3, cooldown=30, clock=lambda: now[0])
    for _ in range(3):
        assert guard.allow()
        guard.failure()
    assert guard.state == "open" and not guard.allow()
    now[0] = 31
    assert guard.allow(), "half-open lets one trial call through"
    assert not guard.allow(), "but only one"
    guard.failure()
    assert guard.state == "open"
    now[0] = 62
    assert guard.allow()
    guard.success()
    assert guard.state == "closed" and guard.allow()


async def test_answer_without_citations_is_replaced(
    db: Database, site: Site, llm: LLMStandIn
) -> None:
    llm.script(Reply("Our cards are the best in the world, trust me."))
    reply = await ask(db, site, "When will my card arrive?")
    assert reply.action == "clarify"
    assert "not sure" in reply.text
    assert "best in the world" not in reply.text
    assert reply.related and reply.related[0]["entry_id"] == "card-arrival"


async def test_citations_to_missing_passages_are_dropped(
    db: Database, site: Site, llm: LLMStandIn
) -> None:
    llm.script(Reply("Cards take 5 working days [1][9], see also [2, 17]."))
    reply = await ask(db, site, "When will my card arrive?")
    assert reply.action == "answer" and reply.mode == "llm"
    assert reply.text == "Cards take 5 working days [1], see also [2]."
    assert [c["n"] for c in reply.citations] == [1, 2]


async def test_no_llm_extractive_and_not_sure(db: Database, site: Site) -> None:
    reply = await ask(db, site, "When will my card arrive?")
    assert reply.mode == "extractive" and reply.action == "answer"
    assert reply.text == (
        "Cards arrive within 5 working days after you order them. You can follow the "
        "delivery in the app under Cards. [1]"
    )
    unsure = await ask(db, site, "What is the weather like on Mars?")
    assert unsure.action == "clarify"
    assert "not sure" in unsure.text and "person" in unsure.text
    assert len(unsure.related) == 3


async def test_live_hang_still_ends_with_fallback_message(
    db: Database, site: Site, llm: LLMStandIn, live_server: str
) -> None:
    from tests.bot.test_live_conversation import open_visitor, say, wait_bot

    llm.script(Reply(hang=True))
    visitor, conversation_id = await open_visitor(live_server, site)
    started = time.monotonic()
    await say(visitor, conversation_id, "When will my card arrive?")
    [message] = await wait_bot(visitor, 1)
    assert time.monotonic() - started < LLM_TIMEOUT + 1
    assert message["payload"]["action"] == "answer"
    assert message["client_id"] == visitor.received["message:stream"][0]["stream_id"]
    assert message["text"].endswith("[1]")
    await visitor.disconnect()
