"""The agents' console in a real browser: a visitor asks for a human, the conversation shows
up in the agent's queue live, the agent accepts and replies, the visitor gets the reply."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Site, StaffUser
from tests import sockets
from tests.e2e.conftest import errors_of, shoot
from tests.factories import PASSWORD, make_staff, route_manually
from tests.waiting import eventually


async def sign_in(page: Page, base: str, user: StaffUser, lang: str = "en") -> None:
    await page.goto(f"{base}/login?lang={lang}")
    await page.fill("#email", user.email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")
    # Not wait_for_function: its polling evaluates a string, which the console's CSP
    # (no 'unsafe-eval') refuses, as it should.
    await eventually(
        lambda: page.evaluate(
            "() => Boolean(window.relaydeskConsole && window.relaydeskConsole.socket.connected)"
        ),
        timeout=30,
        message="the console's socket did not connect",
    )


async def test_agent_takes_a_handoff_live(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    # Accepting by hand is the story here; with auto-assignment the handoff would go
    # straight to Ava, who is online in the console.
    await route_manually(db, demo_site)
    user = await make_staff(db, site=demo_site, name="Ava Agent")
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, user)
    await expect(page.locator(".rd-tabs a.on")).to_have_text("Queue")
    await expect(page.locator(".rd-empty-row")).to_be_visible()

    visitor = await sockets.visitor(live_server, demo_site.site_key)
    opened = await visitor.call("conversation:open", {})
    cid = opened["conversation"]["id"]
    sent = await visitor.call(
        "message:send",
        {"conversation_id": cid, "client_id": "v-1", "text": "<b>My order</b> never arrived"},
    )
    assert sent["ok"]
    handoff = await visitor.call("handoff:request", {"conversation_id": cid})
    assert handoff["ok"] and handoff["conversation"]["status"] == "queued"

    row = page.locator(f'.rd-row[data-id="{cid}"]')
    await expect(row).to_have_attribute("data-status", "queued", timeout=2_000)
    await expect(row.locator(".rd-row-snippet")).to_have_text("<b>My order</b> never arrived")
    await expect(page).to_have_title("(1) Console · Relaydesk")
    await shoot(page, "console-inbox-en")

    await row.click()
    await expect(page.locator(".rd-msg.k-visitor .rd-msg-text").first).to_have_text(
        "<b>My order</b> never arrived"
    )
    assert await page.locator(".rd-msg-text b").count() == 0
    await page.click('[data-action="accept"]')
    await expect(page.locator(".rd-conv-title .rd-status")).to_have_text("Assigned")
    reply = page.locator(".rd-compose textarea")
    await expect(reply).to_be_focused()
    await reply.fill("Sorry about that!")
    await reply.press("Shift+Enter")
    await reply.type("Let me check.")
    await reply.press("Enter")
    await expect(page.locator(".rd-msg.k-agent[data-seq] .rd-msg-text").last).to_have_text(
        "Sorry about that!\nLet me check."
    )
    got = await visitor.wait_for("message:new", timeout=5)
    agent_msg = got[-1]["message"]
    assert agent_msg["text"] == "Sorry about that!\nLet me check."
    assert agent_msg["sender"]["kind"] == "agent"

    # Read ticks: the visitor reads it, the agent sees it.
    await visitor.call("read", {"conversation_id": cid, "seq": agent_msg["seq"]})
    await expect(page.locator(".rd-msg.k-agent .rd-tick.read")).to_have_count(1)
    # Typing from the visitor shows up.
    await visitor.call("typing", {"conversation_id": cid, "typing": True})
    await expect(page.locator(".rd-typing")).to_contain_text("typing")
    await expect(page.locator(".rd-summary")).to_contain_text("My order")
    await shoot(page, "console-conversation-en")

    # The accepted conversation is in Mine now, and the queue no longer lists it.
    await page.click('.rd-tabs a[href="#/inbox/mine"]')
    await expect(page.locator(f'.rd-row[data-id="{cid}"]')).to_have_count(1)

    await page.goto(f"{live_server}/console?lang=zh#/inbox/mine/{cid}")
    await expect(page.locator(".rd-conv-title .rd-status")).to_have_text("已分配")
    await expect(page.locator(".rd-details dl")).to_be_visible()
    await expect(page.locator(".rd-summary")).to_be_visible()
    await expect(page.locator(".rd-msg.k-agent .rd-tick.read")).to_have_count(1)
    await shoot(page, "console-conversation-zh")
    await page.click('.rd-tabs a[href="#/inbox/queue"]')
    await shoot(page, "console-inbox-zh")

    await page.click('.rd-tabs a[href="#/inbox/mine"]')
    await page.click(f'.rd-row[data-id="{cid}"]')
    await page.click('[data-action="resolve"]')
    await expect(page.locator(".rd-conv-title .rd-status")).to_have_text("已解决")
    await visitor.disconnect()
    assert errors == []
