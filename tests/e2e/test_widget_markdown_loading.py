"""No raw Markdown ever shows in the widget while its renderer (the widget-md chunk) is on
its way, is late, or fails to load and is fetched again (issue 15, acceptance 5), in English
and Chinese. The chunk is held back by route interception; a MutationObserver and an
animation-frame sampler inside the page record any moment the chat's text holds `**`."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from relaydesk.conversations import service as conversations
from relaydesk.conversations.service import BOT
from relaydesk.core.db import Database
from relaydesk.core.models import Site
from tests.e2e.conftest import Widget, conversation_of, errors_of, open_widget, shoot
from tests.e2e.test_widget_turns import widget_holds
from tests.factories import route_manually

CHUNK = "**/widget/widget-md.*.js"

# Runs before any page script. Every DOM change inside the widget's shadow root (checked
# synchronously, before the browser can paint it) and every animation frame: if the chat's
# text contains `**`, it is recorded. `samples` proves the checks ran at all.
WATCH = """
(() => {
  const seen = (window.__rawMarkdown = []);
  window.__samples = 0;
  const check = (why) => {
    const host = document.querySelector("relaydesk-widget");
    const root = host && host.shadowRoot;
    if (!root) return;
    window.__samples++;
    for (const el of root.querySelectorAll(".log, .live")) {
      const text = el.innerText || "";
      if (text.includes("**")) seen.push(why + ": " + text);
    }
  };
  let observed = false;
  const frame = () => {
    check("frame");
    const root = document.querySelector("relaydesk-widget")?.shadowRoot;
    if (root && !observed) {
      observed = true;
      new MutationObserver(() => check("mutation")).observe(root, {
        subtree: true, childList: true, characterData: true,
      });
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
"""

CASES = {
    "en": ("Try the **Colombia Huila Decaf**, roasted __this week__.", "Colombia Huila Decaf"),
    "zh": ("推荐 **哥伦比亚 Huila 低因**，**本周**烘焙。", "哥伦比亚 Huila 低因"),
}


async def raw_markdown_seen(page: Page) -> list[str]:
    samples = await page.evaluate("window.__samples")
    assert samples > 0, "the in-page watcher never ran"
    seen: list[str] = await page.evaluate("window.__rawMarkdown")
    return seen


async def widget_with_bot_answer(
    db: Database, site: Site, page: Page, url: str, text: str
) -> Widget:
    await route_manually(db, site)
    widget = await open_widget(page, url)
    cid = (await conversation_of(db, site)).id
    await widget_holds(page, cid)
    await conversations.send_message(
        db, conversation_id=cid, sender=BOT, client_id="bot-md-held", text=text
    )
    return widget


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_bubbles_wait_for_the_renderer_without_raw_markdown(
    lang: str, live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    text, bold = CASES[lang]
    release = asyncio.Event()
    fetched: list[str] = []

    async def hold(route: Route) -> None:
        fetched.append(route.request.url)
        await release.wait()
        await route.continue_()

    page = await context.new_page()
    errors = errors_of(page)
    await page.add_init_script(WATCH)
    await page.route(CHUNK, hold)
    widget = await widget_with_bot_answer(
        db, demo_site, page, f"{live_server}/demo?lang={lang}", text
    )
    bubble = widget.log.locator(".msg.bot .bubble")
    # The answer has arrived, the renderer has not: the bubble waits, busy, with dots.
    await expect(bubble.locator(".dots")).to_be_visible()
    await expect(bubble).to_have_attribute("aria-busy", "true")
    assert len(fetched) == 1
    await shoot(page, f"widget-markdown-held-{lang}")

    release.set()
    await expect(bubble.locator("strong")).to_have_count(2)  # `__…__`, `**…**` too
    await expect(bubble.locator("strong").first).to_have_text(bold)
    await expect(bubble).not_to_have_attribute("aria-busy", "true")
    await shoot(page, f"widget-markdown-released-{lang}")
    assert await raw_markdown_seen(page) == []
    assert errors == []


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_late_or_failed_renderer_shows_unmarked_text_then_renders(
    lang: str, live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    text, bold = CASES[lang]
    release = asyncio.Event()
    attempts: list[str] = []

    async def fail_then_hold(route: Route) -> None:
        attempts.append(route.request.url)
        if len(attempts) == 1:
            await route.abort("connectionreset")  # a network blip: fetched again 1 s later
            return
        await release.wait()
        await route.continue_()

    page = await context.new_page()
    await page.add_init_script(WATCH)
    await page.route(CHUNK, fail_then_hold)
    widget = await widget_with_bot_answer(
        db, demo_site, page, f"{live_server}/demo?lang={lang}", text
    )
    bubble = widget.log.locator(".msg.bot .bubble")
    # Past the hold time (3 s) the text shows, without its markers, while the retry waits.
    await expect(bubble).to_have_text(text.replace("**", "").replace("__", ""))
    assert len(attempts) == 2
    await shoot(page, f"widget-markdown-unmarked-{lang}")

    release.set()
    await expect(bubble.locator("strong").first).to_have_text(bold)
    await shoot(page, f"widget-markdown-late-{lang}")
    assert await raw_markdown_seen(page) == []
