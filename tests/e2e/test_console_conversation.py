"""The console's conversation view with what the bot leaves behind: streamed text, citations,
a handoff (notification, title count), agent-assist suggestions, hand back."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core import realtime
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.knowledge import service as knowledge
from relaydesk.knowledge.models import ArticleCreate, ContentStatus
from tests import sockets
from tests.e2e.conftest import errors_of, shoot
from tests.e2e.test_console_inbox import sign_in
from tests.factories import make_staff

# Records notifications instead of showing them (headless chromium shows none anyway).
FAKE_NOTIFICATION = """
window.__notes = [];
window.Notification = class { constructor(title, opts) { window.__notes.push(title); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); } };
"""


async def test_bot_turns_citations_assist_and_hand_back(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    assert demo_site.id is not None
    await knowledge.create_article(
        db,
        data=ArticleCreate(
            site_id=demo_site.id,
            title="Shipping times",
            body="Orders ship within 2 business days and arrive within a week.",
            status=ContentStatus.PUBLISHED,
        ),
        actor=knowledge.SYSTEM,
    )
    supervisor = await make_staff(db, site=demo_site, roles=[Role.SUPERVISOR], name="Sam Lead")
    await context.add_init_script(FAKE_NOTIFICATION)
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, supervisor)
    await page.click('.rd-tabs a[href="#/inbox/all"]')

    visitor = await sockets.visitor(live_server, demo_site.site_key)
    cid = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    await visitor.call(
        "message:send",
        {"conversation_id": cid, "client_id": "v-1", "text": "When will my order ship?"},
    )
    row = page.locator(f'.rd-row[data-id="{cid}"]')
    await row.click()
    await expect(page.locator(".rd-msg.k-visitor")).to_have_count(1)
    await expect(page.locator(".rd-msg.k-bot .rd-cites").first).to_contain_text("Shipping times")

    stream = "bot:stream-1"
    for index, delta in ((0, "Orders ship "), (2, "[1]."), (1, "within 2 days ")):
        await realtime.to_conversation(
            cid,
            "message:stream",
            {"conversation_id": cid, "stream_id": stream, "index": index, "delta": delta},
        )
    await expect(page.locator(".rd-msg.streaming .rd-msg-text")).to_have_text(
        "Orders ship within 2 days [1]."
    )
    await conversations.send_message(
        db,
        conversation_id=cid,
        sender=BOT,
        client_id=stream,
        text="Orders ship within 2 days [1].",
        payload={
            "action": "answer",
            "citations": [
                {"n": 1, "entry_id": "e1", "title": "Shipping", "url": "https://shop.example/s"},
                {"n": 2, "entry_id": "e2", "title": "Sneaky", "url": "javascript:alert(1)"},
            ],
        },
    )
    # (The real bot answers the visitor too, from the article: two bot turns in all.)
    bot = page.locator(".rd-msg.k-bot[data-seq]", has_text="Orders ship within 2 days [1].")
    await expect(bot).to_have_count(1)
    await expect(page.locator(".rd-msg.streaming")).to_have_count(0)
    await expect(bot.locator(".rd-cites a")).to_have_attribute("href", "https://shop.example/s")
    await expect(bot.locator(".rd-cites span")).to_have_text("[2] Sneaky")

    # A handoff while the supervisor looks at another view: notification and title count.
    await page.click('.rd-tabs a[href="#/inbox/queue"]')
    await transitions.request_handoff(
        db, conversation_id=cid, actor=Actor.visitor(visitor_id(cid, visitor)), reason="asked"
    )
    await expect(page).to_have_title("(1) Console · Relaydesk")
    assert await page.evaluate("window.__notes") == ["New conversation waiting"]
    await expect(row).to_have_attribute("data-status", "queued")

    await row.click()
    await expect(page).to_have_title("Console · Relaydesk")
    await page.click('[data-action="accept"]')
    await expect(page.locator(".rd-conv-title .rd-status")).to_have_text("Assigned")
    await page.click("text=Suggest replies")
    suggestion = page.locator(".rd-suggestion", has_text="Shipping times")
    await expect(suggestion).to_be_visible()
    await suggestion.locator("button").click()
    await expect(page.locator(".rd-compose textarea")).to_have_value(
        "Orders ship within 2 business days and arrive within a week."
    )
    await shoot(page, "console-conversation-assist-en")

    await page.click('[data-action="hand_back"]')
    await expect(page.locator(".rd-conv-title .rd-status")).to_have_text("Bot")
    updates = visitor.received["conversation:updated"]
    await visitor.wait_until(
        lambda: [u["conversation"]["status"] for u in updates][-3:] == ["queued", "assigned", "bot"]
    )
    await visitor.disconnect()
    assert errors == []


def visitor_id(cid: str, peer: sockets.Peer) -> str:
    return str(peer.received["session"][0]["visitor_id"])
