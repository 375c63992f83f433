"""Network cuts, reloads and several tabs: no message lost, none shown twice, in order."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Site
from tests.e2e.conftest import Agent, Widget, conversation_of, errors_of, eventually, open_widget


async def taken_over(db: Database, site: Site, agent: Agent) -> str:
    """The open widget's conversation, accepted by the agent so the bot stays out of it."""
    conversation = await conversation_of(db, site)
    assert (await agent.peer.call("conversation:accept", {"conversation_id": conversation.id}))[
        "ok"
    ]
    assert (await agent.peer.call("conversation:join", {"conversation_id": conversation.id}))["ok"]
    return conversation.id


async def test_offline_sends_arrive_once_and_in_order(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    cid = await taken_over(db, demo_site, agent)
    await widget.send("First, online")
    await expect(widget.confirmed()).to_have_count(1, timeout=5000)

    await context.set_offline(True)
    await expect(page.locator("relaydesk-widget .subtitle")).to_have_text("Reconnecting…")
    await widget.send("Second, typed offline")
    await widget.send("Third, typed offline")
    pending = widget.log.locator(".msg.pending")
    await expect(pending).to_have_count(2)
    await expect(pending.locator(".tick.sending")).to_have_count(2)
    sent = await agent.peer.call(
        "message:send",
        {"conversation_id": cid, "client_id": "agent-1", "text": "Agent, while you were away"},
    )
    assert sent["ok"]
    await page.wait_for_timeout(300)
    await context.set_offline(False)

    await expect(pending).to_have_count(0, timeout=15000)
    await expect(widget.log.locator(".msg.agent", has_text="while you were away")).to_have_count(1)
    texts = [
        "First, online",
        "Second, typed offline",
        "Third, typed offline",
        "Agent, while you were away",
    ]
    # The server's order, from a fresh sync, is the truth everyone must match.
    synced = await agent.peer.call("sync", {"conversation_id": cid, "after_seq": 0})
    server = [m["text"] for m in synced["messages"]]
    assert sorted(server) == sorted(texts) and len(server) == 4
    await expect(widget.log.locator(".msg .bubble")).to_have_text(server)
    seqs = await widget.seqs()
    assert seqs == sorted(seqs) == [m["seq"] for m in synced["messages"]]
    # The agent got each visitor message exactly once.
    await eventually(lambda: len(agent.peer.messages()) >= 3)
    got = [m["text"] for m in agent.peer.messages()]
    assert got.count("Second, typed offline") == 1 and got.count("Third, typed offline") == 1
    assert errors == []


async def test_reload_and_second_tab_show_the_same_conversation(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    widget = await open_widget(page, f"{live_server}/demo")
    cid = await taken_over(db, demo_site, agent)
    await widget.send("Hello from tab one")
    await expect(widget.confirmed()).to_have_count(1)

    await page.reload()
    await widget.open()
    await expect(widget.log.locator(".msg .bubble")).to_have_text(["Hello from tab one"])

    second = await context.new_page()
    other = Widget(second)
    await second.goto(f"{live_server}/demo")
    await other.open()
    await expect(other.log.locator(".msg .bubble")).to_have_text(["Hello from tab one"])

    await other.send("And hello from tab two")
    await agent.peer.call(
        "message:send", {"conversation_id": cid, "client_id": "agent-2", "text": "Hi both!"}
    )
    expected = ["Hello from tab one", "And hello from tab two", "Hi both!"]
    await expect(widget.log.locator(".msg .bubble")).to_have_text(expected)
    await expect(other.log.locator(".msg .bubble")).to_have_text(expected)
    # One visitor, one conversation.
    assert (await conversation_of(db, demo_site)).id == cid


async def test_unsent_message_survives_a_navigation(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    widget = await open_widget(page, f"{live_server}/demo")
    await taken_over(db, demo_site, agent)
    await widget.send("Before going offline")
    await expect(widget.confirmed()).to_have_count(1)
    await context.set_offline(True)
    await widget.send("Written offline, then I left")
    await expect(widget.log.locator(".msg.pending")).to_have_count(1)
    await context.set_offline(False)
    # Navigate away before it could be sent: it is kept and sent from the next page.
    await page.goto(f"{live_server}/demo?lang=en")
    await widget.open()
    await expect(widget.log.locator(".msg.pending")).to_have_count(0)
    await expect(widget.log.locator(".msg[data-seq] .bubble")).to_have_text(
        ["Before going offline", "Written offline, then I left"]
    )


async def test_read_ticks_survive_a_reload(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    widget = await open_widget(page, f"{live_server}/demo")
    cid = await taken_over(db, demo_site, agent)
    await widget.send("Read me")
    await widget.send("And me, later")
    await expect(widget.confirmed()).to_have_count(2)
    first = widget.log.locator(".msg.visitor", has_text="Read me")
    seq = int(await first.get_attribute("data-seq") or 0)
    assert (await agent.peer.call("read", {"conversation_id": cid, "seq": seq}))["ok"]
    await expect(first.locator(".tick.read")).to_have_count(1)

    await page.reload()
    await widget.open()
    await expect(widget.confirmed()).to_have_count(2)
    # The agent read the first message only: after the reload it still says so.
    await expect(
        widget.log.locator(".msg.visitor", has_text="Read me").locator(".tick.read")
    ).to_have_count(1)
    later = widget.log.locator(".msg.visitor", has_text="And me, later")
    await expect(later.locator(".tick.sent")).to_have_count(1)
    await expect(later.locator(".tick.read")).to_have_count(0)


async def test_server_busy_sends_are_retried_with_the_same_client_id(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    cid = await taken_over(db, demo_site, agent)
    pending = widget.log.locator(".msg.pending")

    # The server refuses every send with `server_busy` for a moment: the widget keeps
    # trying on its own, without showing a failure, and the message lands once.
    with override_settings(message_queue_limit=0):
        await widget.send("Sent while the server is busy")
        await expect(pending.locator(".tick.sending")).to_have_count(1)
        await page.wait_for_timeout(1500)
        await expect(pending.locator(".tick.failed")).to_have_count(0)
    await expect(pending).to_have_count(0, timeout=15000)
    await expect(widget.log.locator(".msg[data-seq] .bubble")).to_have_text(
        ["Sent while the server is busy"]
    )

    # Busy for longer than the retries last: the widget offers "Retry", which works.
    with override_settings(message_queue_limit=0):
        await widget.send("Busy for a long time")
        await expect(pending.locator("button.retry")).to_have_text("Retry", timeout=20000)
    await pending.locator("button.retry").click()
    await expect(pending).to_have_count(0)
    synced = await agent.peer.call("sync", {"conversation_id": cid, "after_seq": 0})
    texts = [m["text"] for m in synced["messages"]]
    assert texts == ["Sent while the server is busy", "Busy for a long time"]
    assert errors == []
