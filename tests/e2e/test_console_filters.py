"""The inbox's search box and filters in a real browser, and the visitor panel showing the
page a visitor on /demo is on (live, as a single-page app navigates) and their earlier
conversations."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import BrowserContext, expect

from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Site, Visitor, utcnow
from tests.e2e.conftest import conversation_of, errors_of, eventually, open_widget, shoot
from tests.e2e.test_console_inbox import sign_in
from tests.factories import make_conversation, make_staff, route_manually


async def _queued(db: Database, site: Site, text: str) -> Conversation:
    conversation = await make_conversation(db, site, text=text)
    await transitions.request_handoff(
        db,
        conversation_id=conversation.id,
        actor=Actor.visitor(conversation.visitor_id),
        reason="visitor_request",
    )
    return conversation


async def test_search_status_filter_and_the_visitor_panel(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    await route_manually(db, demo_site)
    agent = await make_staff(db, site=demo_site, name="Ava Agent")
    parcel = await _queued(db, demo_site, "我的包裹在哪里？")
    refund = await _queued(db, demo_site, "I need a refund for order #77")
    chatting = await make_conversation(db, demo_site, text="Do you ship to Canada?")

    # A visitor on the demo shop page, who then navigates inside the page (a single-page
    # app: no reload).
    shop = await context.new_page()
    shop_errors = errors_of(shop)
    widget = await open_widget(shop, f"{live_server}/demo")
    await widget.send("Hello, is the oak table in stock?")
    await expect(widget.confirmed().first).to_be_visible()
    visitor_conv = await conversation_of(db, demo_site)
    await shop.evaluate(
        "history.pushState({}, '', '/demo/tables?colour=oak'); document.title = 'Oak tables'"
    )

    async def page_stored() -> bool:
        async with db.read() as session:
            v = await session.get(Visitor, visitor_conv.visitor_id)
        return v is not None and v.last_page_title == "Oak tables"

    await eventually(page_stored)
    # An earlier conversation of the same visitor, resolved by the agent.
    async with db.write() as session:
        earlier = Conversation(
            site_id=demo_site.id,
            visitor_id=visitor_conv.visitor_id,
            created_at=utcnow() - timedelta(days=3),
        )
        session.add(earlier)
    await conversations.send_message(
        db,
        conversation_id=earlier.id,
        sender=Actor.visitor(visitor_conv.visitor_id),
        client_id="v-1",
        text="Can I change my delivery date?",
    )
    await transitions.accept(db, conversation_id=earlier.id, agent=agent)
    await transitions.resolve(db, conversation_id=earlier.id, actor=Actor.staff(agent))

    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, agent)
    rows = page.locator(".rd-row")
    await expect(rows).to_have_count(4)

    # Search: "/" focuses the box; typing filters (debounced) by any message's text.
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.keyboard.press("/")
    search = page.locator(".rd-search-input")
    await expect(search).to_be_focused()
    await search.type("包裹")
    await expect(rows).to_have_count(1)
    await expect(page.locator(f'.rd-row[data-id="{parcel.id}"]')).to_be_visible()
    assert "q=%E5%8C%85%E8%A3%B9" in page.url
    await search.fill("ORDER #7")
    await expect(page.locator(f'.rd-row[data-id="{refund.id}"]')).to_be_visible()
    await expect(rows).to_have_count(1)
    await search.fill("no such words")
    await expect(page.locator(".rd-no-match")).to_be_visible()
    await search.press("Escape")
    await expect(search).to_have_value("")
    await expect(rows).to_have_count(4)
    assert "q=" not in page.url

    # Status: only the waiting ones; the tab counts follow the filter.
    await page.select_option('select[data-filter="status"]', "queued")
    await expect(rows).to_have_count(2)
    await expect(page.locator(f'.rd-row[data-id="{chatting.id}"]')).to_have_count(0)
    await expect(page.locator('.rd-count[data-view="queue"]')).to_have_text("2")
    await shoot(page, "console-inbox-filters-en")
    # A reload keeps the filters (they are in the URL).
    await page.reload()
    await expect(page.locator('select[data-filter="status"]')).to_have_value("queued")
    await expect(rows).to_have_count(2)
    await page.select_option('select[data-filter="status"]', "")
    await expect(rows).to_have_count(4)

    # The visitor panel: the page they are on, as a safe link, and their earlier conversation.
    await page.locator(f'.rd-row[data-id="{visitor_conv.id}"]').click()
    link = page.locator(".rd-details .rd-page-link")
    await expect(link).to_have_text("Oak tables")
    await expect(link).to_have_attribute("href", f"{live_server}/demo/tables?colour=oak")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(link).to_have_attribute("target", "_blank")
    item = page.locator(f'.rd-earlier a[data-id="{earlier.id}"]')
    await expect(item).to_contain_text("Can I change my delivery date?")
    await expect(item.locator(".rd-status")).to_have_text("Resolved")

    # The visitor moves on: the panel follows live, and a markup title stays text.
    await shop.evaluate(
        "history.pushState({}, '', '/demo/cart'); document.title = '<b>Your cart</b>'"
    )
    await expect(link).to_have_text("<b>Your cart</b>")
    await expect(link).to_have_attribute("href", re.compile(r"/demo/cart$"))
    assert await page.locator(".rd-details b").count() == 0
    await shoot(page, "console-visitor-panel-en")

    await item.click()
    await expect(page).to_have_url(re.compile(f"#/inbox/queue/{earlier.id}$"))
    await expect(page.locator(".rd-msg-text").first).to_have_text("Can I change my delivery date?")

    # The same panel and filters in Chinese.
    await page.goto(f"{live_server}/console?lang=zh&status=bot#/inbox/queue/{visitor_conv.id}")
    await expect(page.locator('select[data-filter="status"]')).to_have_value("bot")
    await expect(rows).to_have_count(2)
    await expect(page.locator(".rd-details")).to_contain_text("当前页面")
    await expect(page.locator(".rd-earlier h3")).to_have_text("以往会话")
    await expect(search).to_have_attribute("placeholder", "搜索消息和备注（按 / 键）")
    await shoot(page, "console-visitor-panel-zh")
    assert errors == [] and shop_errors == []
