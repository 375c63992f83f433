"""The widget survives hostile host pages and never turns message text into markup."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Site
from tests.e2e.conftest import (
    Agent,
    Widget,
    conversation_of,
    errors_of,
    host_page,
    open_widget,
    shoot,
)

HOSTILE = """<!doctype html><html lang="en"><head><style>
* { all: unset !important; }
html { font-size: 64px !important; }
body { font: 48px/5 "Comic Sans MS" !important; letter-spacing: 9px !important; }
div, button, textarea, input, relaydesk-widget { z-index: 99999 !important; }
.wall { position: fixed !important; inset: 0 !important; z-index: 2147483646 !important;
        background: rgba(200, 0, 0, .15) !important; display: block !important; }
textarea { display: none !important; }
button { width: 3px !important; height: 3px !important; opacity: 0 !important; }
</style></head><body><div class="wall">A cookie wall fighting for the top</div>
<h1>Hostile shop</h1>
<script src="{loader}" data-site-key="demo-site" async></script></body></html>"""


async def test_hostile_css_does_not_break_the_widget(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    html = HOSTILE.replace("{loader}", f"{live_server}/widget/loader.js")
    async with host_page(html) as url:
        await _check_hostile_page(url, context)


async def _check_hostile_page(url: str, context: BrowserContext) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    await page.goto(url)
    widget = Widget(page)
    box = await widget.launcher.bounding_box()
    assert box is not None
    assert 50 <= box["width"] <= 64 and 50 <= box["height"] <= 64
    assert box["x"] + box["width"] == 1280 - 20 and box["y"] + box["height"] == 800 - 20
    # Nothing covers it: the topmost element at its centre is the widget's host.
    on_top = await page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).tagName",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top == "RELAYDESK-WIDGET"
    await widget.open()
    assert await widget.panel.evaluate("el => getComputedStyle(el).width") == "380px"
    sizes = await widget.input.evaluate(
        "el => [getComputedStyle(el).fontSize, getComputedStyle(el).letterSpacing]"
    )
    assert sizes == ["15px", "normal"]
    await widget.send("Still works")
    await expect(widget.log.locator(".msg.visitor[data-seq]")).to_have_count(1)
    bubble = widget.log.locator(".msg.visitor .bubble")
    assert await bubble.evaluate("el => getComputedStyle(el).fontSize") == "14.5px"
    await shoot(page, "hostile-page")
    assert errors == []


HOSTILE_TEXTS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    "[click me](javascript:window.__pwned=3) javascript:alert(1)",
    '<a href="javascript:window.__pwned=4">link</a> &lt;b&gt;not bold&lt;/b&gt;',
    "\u202eevil.exe\u202c مرحبا بالعالم zero\u200bwidth\u200d\ufeff",
]


async def test_message_text_is_inert(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    conversation = await conversation_of(db, demo_site)
    cid = conversation.id
    assert (await agent.peer.call("conversation:accept", {"conversation_id": cid}))["ok"]
    for n, text in enumerate(HOSTILE_TEXTS):
        sent = await agent.peer.call(
            "message:send", {"conversation_id": cid, "client_id": f"x-{n}", "text": text}
        )
        assert sent["ok"], sent
    await widget.send(HOSTILE_TEXTS[1])
    bubbles = widget.log.locator(".msg .bubble")
    await expect(bubbles).to_have_count(len(HOSTILE_TEXTS) + 1)
    shown = await bubbles.evaluate_all("els => els.map(e => e.textContent)")
    assert shown == [*HOSTILE_TEXTS, HOSTILE_TEXTS[1]]
    inside = await page.evaluate(
        """() => {
          const log = document.querySelector('relaydesk-widget').shadowRoot.querySelector('.log');
          return {tags: [...log.querySelectorAll('script, img, a, b, iframe')].length,
                  pwned: window.__pwned ?? null};
        }"""
    )
    assert inside == {"tags": 0, "pwned": None}
    # Direction follows each message's own text, so RTL text cannot flip its neighbours.
    assert await bubbles.last.get_attribute("dir") == "auto"
    assert errors == []
