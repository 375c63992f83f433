"""What the visitor sees as the conversation changes hands (issue 17, part 5), and Markdown
from the bot and agents rendered, never as raw `**`, in the widget and the console inbox,
in English and Chinese (issue 15, part 4)."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, Page, expect

from relaydesk.bot import extractive
from relaydesk.bot.policy import VISITOR_ASKED
from relaydesk.bot.turn import hand_off
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.service import BOT
from relaydesk.core import realtime
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Availability, Site, StaffUser
from tests.e2e.conftest import Agent, conversation_of, errors_of, open_widget, shoot
from tests.e2e.test_console_inbox import sign_in
from tests.factories import route_manually


async def widget_holds(page: Page, conversation_id: str) -> None:
    """Waits until the widget has its conversation (a `typing` for it shows): events sent
    before that would be for a conversation it does not know yet. Re-sent, since one sent
    before the widget's socket joined the conversation reaches no one."""
    typing = page.locator("relaydesk-widget .typing")
    event = {"conversation_id": conversation_id, "typing": True, "sender": {"kind": "bot"}}
    for _ in range(40):
        await realtime.to_conversation(conversation_id, "typing", event)
        try:
            await expect(typing).to_be_visible(timeout=500)
            return
        except AssertionError:
            continue
    await expect(typing).to_be_visible()


async def bot_hands_off(db: Database, conversation: Conversation, *, online: bool) -> None:
    """What the bot's turn does on a handoff (bot/turn.py `_reply`): its message, with the
    queue preview in the payload, then the handoff. Driven here so the test does not wait
    on a search index; tests/bot covers the turn itself."""
    queue = {"position": 1 if online else None, "agents_online": online}
    key = "handoff_queued_no_position" if online else "handoff_offline"
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=BOT,
        client_id="bot-handoff",
        text=extractive.text("en", key),
        payload={"action": "handoff", "queue": queue, "offline_form": not online},
    )
    await hand_off(db, conversation_id=conversation.id, reason=VISITOR_ASKED)


async def test_bot_handoff_without_agents_shows_the_offline_form(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    conversation = await conversation_of(db, demo_site)
    await widget_holds(page, conversation.id)
    await bot_hands_off(db, conversation, online=False)
    # The bot asks for an email; the form is there without "Talk to a person".
    await expect(widget.log.locator(".msg.bot .bubble")).to_contain_text("Leave your email")
    form = page.locator("relaydesk-widget form.offline")
    await expect(form).to_be_visible()
    await expect(page.locator("relaydesk-widget .card.queue")).to_have_count(0)
    await expect(page.locator("relaydesk-widget .ask-human")).to_be_hidden()
    await expect(page.locator("relaydesk-widget .ask-human-chip")).to_be_hidden()
    await shoot(page, "widget-offline-after-bot-handoff")
    assert errors == []


async def test_assignment_clears_queue_and_chip_and_resolve_clears_typing(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    async with db.write() as session:
        user = await session.get(StaffUser, agent.user.id)
        assert user is not None
        user.availability = Availability.ONLINE
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    conversation = await conversation_of(db, demo_site)
    await widget_holds(page, conversation.id)
    await bot_hands_off(db, conversation, online=True)
    # Auto-assigned to Ava (online): no queue status and no "Talk to a person" left.
    await expect(page.locator("relaydesk-widget .title")).to_have_text("Ava Agent")
    await expect(page.locator("relaydesk-widget .card.queue")).to_have_count(0)
    await expect(page.locator("relaydesk-widget .ask-human")).to_be_hidden()
    chips = page.locator("relaydesk-widget .ask-human-chip")
    for n in range(await chips.count()):
        await expect(chips.nth(n)).to_be_hidden()
    bot = widget.log.locator(".msg.bot .bubble")
    await expect(bot).to_have_count(1)
    assert "queue" not in (await bot.text_content() or "")
    cid = (await conversation_of(db, demo_site)).id

    typing = page.locator("relaydesk-widget .typing")
    assert (await agent.peer.call("conversation:join", {"conversation_id": cid}))["ok"]
    await agent.peer.call("typing", {"conversation_id": cid, "typing": True})
    await expect(typing).to_contain_text("Ava Agent is typing")
    resolved = await agent.peer.call("conversation:resolve", {"conversation_id": cid})
    assert resolved["ok"], resolved
    await expect(page.locator("relaydesk-widget .card.csat")).to_be_visible()
    await expect(typing).to_be_hidden()
    await shoot(page, "widget-resolved-no-typing")
    assert errors == []


CASES = {
    "en": (
        "Try the **Colombia Huila Decaf**: see [our beans](https://shop.example/beans).",
        "Colombia Huila Decaf",
        "**Ethiopia Yirgacheffe** ships *today*.",
    ),
    "zh": (
        "推荐 **哥伦比亚 Huila 低因**，详见[咖啡豆](https://shop.example/beans)。",
        "哥伦比亚 Huila 低因",
        "**埃塞俄比亚耶加雪菲** *今天*发货。",
    ),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_markdown_in_widget_and_inbox(
    lang: str,
    live_server: str,
    db: Database,
    demo_site: Site,
    agent: Agent,
    context: BrowserContext,
) -> None:
    bot_text, bold, agent_text = CASES[lang]
    await route_manually(db, demo_site)
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo?lang={lang}")
    cid = (await conversation_of(db, demo_site)).id
    await widget_holds(page, cid)
    await conversations.send_message(
        db, conversation_id=cid, sender=BOT, client_id="bot-md-1", text=bot_text
    )
    bubble = widget.log.locator(".msg.bot .bubble")
    await expect(bubble.locator("strong")).to_have_text(bold)
    link = bubble.locator("a")
    await expect(link).to_have_attribute("href", "https://shop.example/beans")
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    assert "**" not in (await bubble.text_content() or "")
    assert (await agent.peer.call("conversation:accept", {"conversation_id": cid}))["ok"]
    sent = await agent.peer.call(
        "message:send", {"conversation_id": cid, "client_id": "a-md", "text": agent_text}
    )
    assert sent["ok"], sent
    reply = widget.log.locator(".msg.agent .bubble")
    await expect(reply.locator("strong")).to_have_count(1)
    await expect(reply.locator("em")).to_have_count(1)
    shown = await widget.log.evaluate("el => el.textContent")
    assert "**" not in shown
    await shoot(page, f"widget-markdown-{lang}")

    # The inbox row's preview is plain text; the conversation renders the Markdown.
    console = await context.new_page()
    await sign_in(console, live_server, agent.user, lang=lang)
    await console.goto(f"{live_server}/console#/inbox/mine")
    row = console.locator(f'.rd-row[data-id="{cid}"]')
    snippet = row.locator(".rd-row-snippet")
    await expect(snippet).to_have_text(agent_text.replace("**", "").replace("*", ""))
    await row.click()
    await expect(console.locator(".rd-msg.k-agent .rd-msg-text strong")).to_have_count(1)
    await expect(console.locator(".rd-msg.k-bot .rd-msg-text strong")).to_have_text(bold)
    body = await console.locator(".rd-log").text_content()
    assert "**" not in (body or "")
    await shoot(console, f"console-markdown-{lang}")
    assert errors == []


async def test_widget_checks_files_against_the_servers_limit(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    # RELAYDESK_ATTACHMENT_MAX_BYTES, served by /widget/config: not a number of the widget's.
    with override_settings(attachment_max_bytes=1024 * 1024):
        page = await context.new_page()
        errors = errors_of(page)
        widget = await open_widget(page, f"{live_server}/demo")
        await page.locator("relaydesk-widget .composer input[type=file]").set_input_files(
            {
                "name": "scan.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-" + b"0" * 1_100_000,
            }
        )
        await expect(page.locator("relaydesk-widget .file-error")).to_have_text(
            "That file is too large (1 MB at most)."
        )
        await expect(widget.log.locator(".msg.pending")).to_have_count(0)
        assert errors == []
