"""Issue 5, acceptance 1, end to end on the real `/demo` page with the real demo data
(the seeded site, its help center and its demo agent): a visitor asks, the bot streams a
cited answer from the demo knowledge base, the visitor asks for a person, the agent
accepts and replies, and the visitor sees the reply and the read tick on their message.

Run twice: with the default configuration (no LLM: an extractive, cited answer) and with
an OpenAI-compatible LLM endpoint (the local stand-in), streamed token by token.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlmodel import select

from relaydesk.api.demo import DEMO_AGENT_EMAIL, seed_demo
from relaydesk.core.config import get_settings, override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Site, StaffUser
from relaydesk.testing.llm_standin import LLMStandIn, Reply
from tests import sockets
from tests.e2e.conftest import conversation_of, errors_of, eventually, open_widget, shoot
from tests.factories import bearer_for

QUESTION = "When will I get my refund?"

# Records, inside the page, every streaming bubble the widget shows and its texts, so the
# test can prove the answer arrived in pieces before the stored message replaced it.
WATCH_STREAM = """
() => {
  const root = document.querySelector("relaydesk-widget").shadowRoot;
  window.__streamed = [];
  new MutationObserver(() => {
    for (const b of root.querySelectorAll(".msg.streaming .bubble")) {
      const last = window.__streamed[window.__streamed.length - 1];
      if (b.textContent && b.textContent !== last) window.__streamed.push(b.textContent);
    }
  }).observe(root, { subtree: true, childList: true, characterData: true });
}
"""


def cite_first_passage(body: dict[str, Any]) -> Reply:
    """What a faithful LLM does with the prompt: answer from passage [1] and cite it."""
    prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
    assert "[1]" in prompt, "the prompt carries numbered passages"
    return Reply(
        "Refunds go back to your original payment method within 5 to 10 business days "
        "after we receive your return [1].",
        chunk_delay=0.03,
    )


@pytest.fixture(params=["extractive", "llm"])
async def mode(request: pytest.FixtureRequest, db: Database) -> AsyncIterator[LLMStandIn | None]:
    if request.param == "extractive":
        yield None
        return
    async with LLMStandIn() as llm:
        llm.always(cite_first_passage)
        with override_settings(llm_base_url=llm.base_url, llm_timeout_seconds=10):
            yield llm


@pytest.fixture
async def demo(db: Database, mode: LLMStandIn | None) -> Site:
    """The demo exactly as `relaydesk serve` seeds it (before the server starts)."""
    creds = await seed_demo(db, get_settings().data_dir)
    async with db.read() as session:
        site = await session.get(Site, creds.site_id)
    assert site is not None
    return site


async def demo_agent(db: Database) -> StaffUser:
    async with db.read() as session:
        user = (
            await session.execute(select(StaffUser).where(StaffUser.email == DEMO_AGENT_EMAIL))
        ).scalar_one()
    return user


async def streamed_texts(page: Page) -> list[str]:
    return list(await page.evaluate("window.__streamed"))


async def test_demo_question_cited_answer_handoff_agent_reply_read_tick(
    demo: Site,
    mode: LLMStandIn | None,
    live_server: str,
    db: Database,
    context: BrowserContext,
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    await page.emulate_media(reduced_motion="reduce")
    widget = await open_widget(page, f"{live_server}/demo")
    await page.evaluate(WATCH_STREAM)

    await widget.send(QUESTION)
    answer = widget.log.locator(".msg.bot[data-seq]").first
    await expect(answer).to_be_visible(timeout=30_000)
    # Streamed: the widget showed the answer while it was being written.
    streamed = await streamed_texts(page)
    assert streamed, "no streaming bubble was shown"
    if mode is not None:
        assert len(streamed) > 3 and all(
            later.startswith(earlier) for earlier, later in itertools.pairwise(streamed)
        ), streamed
        assert len(mode.requests) == 1 and mode.requests[0]["stream"] is True
    # Cited: an inline [n] link and the sources list point at the demo help center.
    citation = answer.locator(".bubble a.cite").first
    await expect(citation).to_have_text("1")
    await expect(citation).to_have_attribute("href", re.compile(r"^https?://"))
    await expect(citation).to_have_attribute("rel", re.compile("noopener"))
    await expect(answer.locator(".sources li a").first).to_have_attribute(
        "href", re.compile(r"^https?://")
    )
    await expect(answer.locator(".bubble")).to_contain_text(re.compile("refund", re.I))
    # The link leads to the cited entry's page in the site's public help center.
    cited = await page.request.get(str(await citation.get_attribute("href")))
    assert cited.status == 200
    assert "refund" in (await cited.text()).lower()

    conversation = await conversation_of(db, demo)
    cid = conversation.id
    agent = await demo_agent(db)
    peer = await sockets.staff(live_server, bearer_for(agent))
    try:
        # The visitor asks for a person; the conversation joins the queue.
        await page.locator("relaydesk-widget .ask-human").click()
        queued = await eventually(
            lambda: [
                u
                for u in peer.received["conversation:updated"]
                if u["conversation"]["id"] == cid and u["conversation"]["status"] == "queued"
            ]
        )
        assert queued
        accepted = await peer.call("conversation:accept", {"conversation_id": cid})
        # Routing may already have handed it to the (only) demo agent: both are fine.
        assert accepted["ok"] or accepted["error"]["code"] == "already_assigned", accepted
        joined = await peer.call("conversation:join", {"conversation_id": cid})
        assert joined["ok"] and joined["conversation"]["assignee_id"] == agent.id
        assert [m["text"] for m in joined["messages"] if m["sender"]["kind"] == "visitor"] == [
            QUESTION
        ]

        reply = await peer.call(
            "message:send",
            {
                "conversation_id": cid,
                "client_id": "demo-agent-1",
                "text": "Hi, I'm Ava. I can see your return arrived, so the refund is on its way.",
            },
        )
        assert reply["ok"], reply
        shown = widget.log.locator(".msg.agent", has_text="the refund is on its way")
        await expect(shown).to_have_count(1)
        await expect(page.locator("relaydesk-widget .title")).to_have_text("Ava Agent")

        mine = widget.log.locator(".msg.visitor", has_text=QUESTION)
        await expect(mine.locator(".tick.sent")).to_have_count(1)
        read = await peer.call("read", {"conversation_id": cid, "seq": reply["message"]["seq"]})
        assert read["ok"], read
        await expect(mine.locator(".tick.read")).to_have_count(1)
        await expect(mine.locator(".tick.read")).to_have_attribute("aria-label", "Read")
    finally:
        await peer.disconnect()
    if mode is None:
        await shoot(page, "demo-acceptance")
    assert errors == []
