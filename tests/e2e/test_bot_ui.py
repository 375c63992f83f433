"""Bot answers (streaming, citations, suggestions, feedback), handoff, offline form, CSAT.

Events the server emits on its own are driven here through the app's own realtime
facade and service functions, so the widget's handling is proven in a real browser.
"""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from relaydesk.conversations import service as conversations
from relaydesk.conversations.service import BOT
from relaydesk.core import realtime
from relaydesk.core.db import Database
from relaydesk.core.models import Availability, Site, StaffUser
from tests.e2e.conftest import Agent, conversation_of, errors_of, open_widget
from tests.factories import route_manually


async def test_streamed_answer_with_citations_suggestions_and_feedback(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    conversation = await conversation_of(db, demo_site)
    cid, stream = conversation.id, "bot-stream-1"
    await expect(page.locator("relaydesk-widget .subtitle")).to_have_text(
        "We usually reply within a few minutes"
    )

    await realtime.to_conversation(
        cid,
        "typing",
        {"conversation_id": cid, "typing": True, "sender": {"kind": "bot", "id": None}},
    )
    await expect(page.locator("relaydesk-widget .typing")).to_contain_text("Assistant is typing")
    deltas = ["Returns are free ", "within 30 days ", "[1]."]
    # Out of order and repeated: the widget shows the contiguous prefix, once.
    for index in (0, 2, 0):
        await realtime.to_conversation(
            cid,
            "message:stream",
            {"conversation_id": cid, "stream_id": stream, "index": index, "delta": deltas[index]},
        )
    streaming = page.locator("relaydesk-widget .msg.streaming .bubble")
    await expect(streaming).to_have_text("Returns are free ")
    await realtime.to_conversation(
        cid,
        "message:stream",
        {"conversation_id": cid, "stream_id": stream, "index": 1, "delta": deltas[1]},
    )
    await expect(streaming).to_have_text("Returns are free within 30 days [1].")

    final = await conversations.send_message(
        db,
        conversation_id=cid,
        sender=BOT,
        client_id=stream,
        text="Returns are free within 30 days [1]. See also [2].",
        payload={
            "action": "answer",
            "confidence": 0.9,
            "citations": [
                {
                    "n": 1,
                    "entry_id": "e1",
                    "title": "Returns policy",
                    "url": "https://shop.example/returns",
                },
                {"n": 2, "entry_id": "e2", "title": "Sneaky", "url": "javascript:alert(1)"},
            ],
            "related": [
                {
                    "entry_id": "e3",
                    "title": "Shipping times",
                    "url": "https://shop.example/shipping",
                }
            ],
            "suggestions": ["How do I print a label?"],
        },
    )
    await expect(page.locator("relaydesk-widget .msg.streaming")).to_have_count(0)
    answer = widget.log.locator(".msg.bot")
    await expect(answer).to_have_count(1)
    await expect(answer.locator(".bubble")).to_have_text(
        "Returns are free within 30 days 1. See also 2."
    )
    cite = answer.locator(".bubble a.cite")
    await expect(cite).to_have_count(1)
    assert await cite.get_attribute("href") == "https://shop.example/returns"
    assert await cite.get_attribute("rel") == "noopener noreferrer nofollow"
    # A javascript: URL is never a link, neither inline nor in the sources list.
    assert await answer.locator("a[href^='javascript']").count() == 0
    await expect(answer.locator(".sources a")).to_have_count(2)  # returns + related shipping
    await expect(answer.locator(".sources", has_text="Sneaky")).to_have_count(1)

    # Feedback goes to the real server and sticks.
    up = answer.locator("button.feedback").first
    await up.click()
    await expect(up).to_have_attribute("aria-pressed", "true")

    # The answer's suggestion is a quick reply that sends itself.
    chip = page.locator("relaydesk-widget .quick-replies .chip", has_text="How do I print a label?")
    await chip.click()
    await expect(widget.log.locator(".msg.visitor", has_text="print a label")).to_have_count(1)
    await expect(page.locator("relaydesk-widget .quick-replies .chip")).to_have_count(0)
    assert final.message.client_id == stream
    assert errors == []


async def test_handoff_queue_then_agent_joins_then_csat(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    await route_manually(db, demo_site)  # the visitor waits in the queue until the agent joins
    async with db.write() as session:
        user = await session.get(StaffUser, agent.user.id)
        assert user is not None
        user.availability = Availability.ONLINE
    page = await context.new_page()
    widget = await open_widget(page, f"{live_server}/demo")
    conversation = await conversation_of(db, demo_site)
    cid = conversation.id

    await page.locator("relaydesk-widget .ask-human").click()
    queue = page.locator("relaydesk-widget .card.queue")
    await expect(queue).to_be_visible()
    await expect(page.locator("relaydesk-widget .ask-human")).to_be_hidden()
    # The server announces the real position (1) on its own schedule after the handoff;
    # wait for it, then re-send ours until the widget shows it, so the two cannot race.
    await expect(queue).to_have_text("You are next in line")
    for _ in range(10):
        await realtime.to_visitor_side(
            cid, "queue:position", {"conversation_id": cid, "position": 3}
        )
        try:
            await expect(queue).to_have_text("You are number 3 in line", timeout=500)
            await page.wait_for_timeout(300)
            await expect(queue).to_have_text("You are number 3 in line", timeout=100)
            break
        except AssertionError:
            continue
    await expect(queue).to_have_text("You are number 3 in line")
    await realtime.to_visitor_side(cid, "queue:position", {"conversation_id": cid, "position": 1})
    await expect(queue).to_have_text("You are next in line")

    accepted = await agent.peer.call("conversation:accept", {"conversation_id": cid})
    assert accepted["ok"], accepted
    await expect(page.locator("relaydesk-widget .title")).to_have_text("Ava Agent")
    await expect(queue).to_have_count(0)
    await agent.peer.call(
        "message:send", {"conversation_id": cid, "client_id": "a-1", "text": "Hi, I'm Ava."}
    )
    await expect(widget.log.locator(".msg.agent .bubble")).to_have_text(["Hi, I'm Ava."])

    resolved = await agent.peer.call("conversation:resolve", {"conversation_id": cid})
    assert resolved["ok"], resolved
    csat = page.locator("relaydesk-widget .card.csat")
    await expect(csat).to_be_visible()
    submit = csat.locator("button.primary")
    await expect(submit).to_be_disabled()
    await csat.locator("button.star").nth(3).click()
    await expect(csat.locator("button.star.on")).to_have_count(4)
    await csat.locator("textarea").fill("Quick and friendly")
    await submit.click()
    await expect(page.locator("relaydesk-widget .card.done")).to_have_text(
        "Thanks for your feedback!"
    )


async def test_offline_form_when_no_agent_is_online(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    page = await context.new_page()
    widget = await open_widget(page, f"{live_server}/demo")
    await conversation_of(db, demo_site)
    await page.locator("relaydesk-widget .ask-human").click()
    form = page.locator("relaydesk-widget form.offline")
    await expect(form).to_be_visible()
    await form.locator("input[type=email]").fill("not-an-email")
    await form.locator("textarea").fill("Please call me back about a wholesale order.")
    await form.locator("button.primary").click()
    await expect(form.locator(".form-error")).to_have_text("Please enter a valid email address.")
    await form.locator("input[type=email]").fill("lee@example.com")
    await form.locator("button.primary").click()
    await expect(page.locator("relaydesk-widget .card.done")).to_have_text(
        "Thanks! We'll reply by email soon."
    )
    # Kept across a reload: the form is not offered again for this conversation.
    await page.reload()
    await widget.open()
    await expect(page.locator("relaydesk-widget .card.done")).to_be_visible()
