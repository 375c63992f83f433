"""A visitor on /demo and an agent on /console, talking through the real server."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Site
from tests.e2e.conftest import Agent, Widget, conversation_of, errors_of, eventually


async def test_visitor_and_agent_talk_with_read_ticks(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    await page.goto(f"{live_server}/demo")
    widget = Widget(page)
    await widget.open()
    await expect(widget.input).to_be_focused()
    await widget.send("Hi! Where is my order #1042?")

    mine = widget.log.locator(".m.visitor", has_text="order #1042")
    # Shown at once, then acknowledged by the server (it gets a seq and a "sent" tick).
    await expect(mine).to_have_count(1)
    await expect(mine.locator(".tk.sent")).to_have_count(1)
    seq = int(await mine.get_attribute("data-seq") or 0)
    assert seq >= 1

    conversation = await conversation_of(db, demo_site)
    joined = await agent.peer.call("conversation:join", {"conversation_id": conversation.id})
    assert joined["ok"], joined
    assert any(m["text"] == "Hi! Where is my order #1042?" for m in joined["messages"])
    sent = await agent.peer.call(
        "message:send",
        {"conversation_id": conversation.id, "client_id": "a-1", "text": "It ships today!"},
    )
    assert sent["ok"], sent
    reply = widget.log.locator(".m.agent", has_text="It ships today!")
    await expect(reply).to_have_count(1)
    await expect(reply.locator(".who")).to_have_text("Ava Agent")
    # Once assigned, the header names the agent.
    await expect(page.locator("relaydesk-widget .tt")).to_have_text("Ava Agent")

    read = await agent.peer.call(
        "read", {"conversation_id": conversation.id, "seq": sent["message"]["seq"]}
    )
    assert read["ok"], read
    await expect(mine.locator(".tk.read")).to_have_count(1)
    # The open widget reported the visitor's own read marker to the agent.
    await eventually(
        lambda: any(
            r["reader"]["kind"] == "visitor" and r["seq"] >= sent["message"]["seq"]
            for r in agent.peer.received["read"]
        )
    )
    assert errors == []


async def test_typing_indicator_and_unread_badge(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(f"{live_server}/demo")
    widget = Widget(page)
    await widget.open()
    await widget.send("Do you ship to Canada?")
    await expect(widget.confirmed()).not_to_have_count(0)
    conversation = await conversation_of(db, demo_site)
    cid = conversation.id
    assert (await agent.peer.call("conversation:accept", {"conversation_id": cid}))["ok"]
    assert (await agent.peer.call("conversation:join", {"conversation_id": cid}))["ok"]

    # Visitor → agent typing, throttled: a burst of keystrokes sends one `typing: true`.
    await widget.input.press_sequentially("Also to", delay=20)
    typing = await agent.peer.wait_for("typing")
    assert typing[0]["typing"] is True and typing[0]["sender"]["kind"] == "visitor"
    assert len(agent.peer.received["typing"]) == 1

    # Agent → visitor typing.
    await agent.peer.call("typing", {"conversation_id": cid, "typing": True})
    indicator = page.locator("relaydesk-widget .typing")
    await expect(indicator).to_be_visible()
    await expect(indicator).to_contain_text("Ava Agent")

    # Closed widget: a reply raises the launcher badge and flags the tab title.
    await page.locator("relaydesk-widget .x").click()
    await expect(widget.launcher).to_be_focused()
    title = await page.title()
    await agent.peer.call(
        "message:send", {"conversation_id": cid, "client_id": "a-2", "text": "Yes, we do."}
    )
    await expect(widget.launcher.locator("i")).to_have_text("1")
    await expect(page).to_have_title(f"(1) New message · {title}")
    await widget.launcher.click()
    await expect(widget.launcher.locator("i")).to_have_text("")
    await expect(page).to_have_title(title)
    await expect(indicator).to_be_hidden()
