"""Screenshots of the widget's main states, saved under test-artifacts/screenshots/."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Site
from tests.e2e.conftest import Widget, conversation_of, open_widget, shoot


async def test_screenshots_en_zh_mobile_offline(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext, browser: Browser
) -> None:
    page = await context.new_page()
    await page.emulate_media(reduced_motion="reduce")
    await page.goto(f"{live_server}/demo")
    widget = Widget(page)
    await expect(widget.launcher).to_be_visible()
    await shoot(page, "launcher-closed")

    await widget.open()
    await widget.send("Hi! Do you ship to Canada?")
    await expect(widget.confirmed()).to_have_count(1)
    await expect(page.locator("relaydesk-widget .panel.shown")).to_be_visible()
    await shoot(page, "open-en")

    await page.locator("relaydesk-widget .ask-human").click()
    await expect(page.locator("relaydesk-widget form.offline")).to_be_visible()
    await shoot(page, "offline-form")

    zh_context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    zh = await zh_context.new_page()
    await zh.emulate_media(reduced_motion="reduce")
    zh_widget = await open_widget(zh, f"{live_server}/demo?lang=zh")
    await expect(zh.locator("relaydesk-widget .title")).to_have_text("在线客服")
    await expect(zh_widget.input).to_have_attribute("placeholder", "输入消息…")
    await zh_widget.send("你好，请问周末营业吗？")
    await expect(zh_widget.confirmed()).to_have_count(1)
    await shoot(zh, "open-zh")
    await zh_context.close()

    mobile = await browser.new_context(
        viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True
    )
    phone = await mobile.new_page()
    await phone.emulate_media(reduced_motion="reduce")
    await phone.goto(f"{live_server}/demo")
    await shoot(phone, "mobile-closed")
    phone_widget = Widget(phone)
    await phone_widget.open()
    assert await phone_widget.panel.evaluate("el => getComputedStyle(el).width") == "390px"
    await expect(phone_widget.launcher).to_be_hidden()
    await shoot(phone, "mobile-open")
    await mobile.close()
    assert (await conversation_of(db, demo_site)).site_id == demo_site.id
