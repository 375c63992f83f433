"""Embedding options and the JS API: bad options are ignored with a warning, never fatal."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Site
from tests.e2e.conftest import Widget, errors_of, eventually, host_page

PAGE = """<!doctype html><html lang="zh-CN"><head><title>Shop</title></head><body>
<h1>Options</h1>
<script>
  window.Relaydesk = {position: "left", locale: "fr", hideLauncher: "yes", bogus: 1,
                      greeting: "Welcome to the options shop"};
  window.events = [];
</script>
<script src="{loader}" data-site-key="demo-site" data-color="red;} body{display:none"
        data-launcher-text="Questions?" data-sound="maybe" async></script>
<script>
  addEventListener("load", () => {
    Relaydesk.on("open", () => events.push("open"));
    Relaydesk.on("close", () => events.push("close"));
    Relaydesk.on("ready", () => events.push("ready"));
  });
</script>
</body></html>"""


async def test_bad_options_warn_and_the_api_works(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    html = PAGE.replace("{loader}", f"{live_server}/widget/loader.js")
    async with host_page(html) as url:
        page = await context.new_page()
        errors = errors_of(page)
        warnings: list[str] = []
        page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
        await page.goto(url)
        widget = Widget(page)
        await expect(widget.launcher).to_be_visible()
        await expect(widget.launcher).to_contain_text("Questions?")
        box = await widget.launcher.bounding_box()
        assert box is not None and box["x"] == 20  # position "left" was valid
        assert await page.locator("h1").is_visible()  # the host page is intact
        joined = "\n".join(warnings)
        for bad in ("locale", "hideLauncher", "bogus", "color", "sound"):
            assert bad in joined, (bad, warnings)
        colour = await widget.launcher.evaluate("el => getComputedStyle(el).backgroundColor")
        # The site's own colour (the demo theme's #8a5a34), not the injected value.
        assert colour == "rgb(138, 90, 52)"

        await page.evaluate("Relaydesk.open()")
        await expect(widget.input).to_be_focused()
        # Chinese from the page's <html lang>, since the "fr" option was refused.
        await expect(page.locator("relaydesk-widget .title")).to_have_text("在线客服")
        await expect(page.locator("relaydesk-widget .intro")).to_have_text(
            "Welcome to the options shop"
        )
        await page.keyboard.press("Escape")
        await expect(widget.panel).to_be_hidden()
        await expect(widget.launcher).to_be_focused()
        events = await page.evaluate("events")
        assert [e for e in events if e != "ready"] == ["open", "close"]
        await page.evaluate("Relaydesk.identify({name: 'Lee', email: 'nope'})")
        await eventually(lambda: any("invalid email" in w for w in warnings))
        assert errors == []
