"""An admin's site settings (colour, launcher text, greeting) reach the widget on `/demo`,
without a flash of the default colour; a page's own `data-color` still wins."""

from __future__ import annotations

import httpx
from playwright.async_api import BrowserContext, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from tests.e2e.conftest import Widget, errors_of, host_page, open_widget, shoot
from tests.factories import bearer_for, make_staff

GREETING = "Welcome to Juniper & Oak! Ask us about beans, grinds or delivery."
# Every background colour the launcher shows from the moment it is on the page.
RECORD_COLOURS = """
window.__launcherColours = [];
const started = performance.now();
const look = () => {
  const root = document.querySelector("relaydesk-widget")?.shadowRoot;
  const b = root?.querySelector("button.launcher");
  if (b && b.isConnected) {
    const c = getComputedStyle(b).backgroundColor;
    if (window.__launcherColours.at(-1) !== c) window.__launcherColours.push(c);
  }
  if (performance.now() - started < 4000) requestAnimationFrame(look);
};
requestAnimationFrame(look);
"""


async def test_admin_settings_show_on_a_fresh_demo_page(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    admin = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.patch(
            f"/api/v1/sites/{demo_site.id}",
            json={
                "theme": {"color": "#c2255c", "launcher_text": "Ask Juniper", "greeting": GREETING}
            },
            headers={"Authorization": f"Bearer {bearer_for(admin)}"},
        )
        assert response.status_code == 200, response.text

    await context.add_init_script(RECORD_COLOURS)
    page = await context.new_page()
    errors = errors_of(page)
    await page.emulate_media(reduced_motion="reduce")
    await page.goto(f"{live_server}/demo")
    widget = Widget(page)
    await expect(widget.launcher).to_be_visible()
    await expect(widget.launcher).to_have_text("Ask Juniper")
    await expect(widget.launcher).to_have_css("background-color", "rgb(194, 37, 92)")
    await page.wait_for_timeout(300)
    # The launcher never showed the built-in blue first.
    assert await page.evaluate("window.__launcherColours") == ["rgb(194, 37, 92)"]
    await shoot(page, "site-settings-launcher")

    await widget.open()
    await expect(page.locator("relaydesk-widget .intro .bubble")).to_have_text(GREETING)
    await expect(page.locator("relaydesk-widget header")).to_have_css(
        "background-color", "rgb(194, 37, 92)"
    )
    await shoot(page, "site-settings-open")

    # A page that sets its own colour keeps it; what it does not set comes from the site.
    html = (
        "<!doctype html><html lang='en'><body><h1>Another shop</h1>"
        f"<script src='{live_server}/widget/loader.js' data-site-key='demo-site' "
        "data-color='#2b8a3e' async></script></body></html>"
    )
    async with host_page(html) as url:
        own = await context.new_page()
        own_errors = errors_of(own)
        await own.goto(url)
        own_widget = Widget(own)
        await expect(own_widget.launcher).to_have_text("Ask Juniper")
        await expect(own_widget.launcher).to_have_css("background-color", "rgb(43, 138, 62)")
        await own.wait_for_timeout(300)
        assert await own.evaluate("window.__launcherColours") == ["rgb(43, 138, 62)"]
        await own_widget.open()
        await expect(own.locator("relaydesk-widget .intro .bubble")).to_have_text(GREETING)
    assert errors == [] and own_errors == []


async def test_outside_business_hours_the_header_says_the_team_is_away(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    admin = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.patch(
            f"/api/v1/sites/{demo_site.id}",
            # No open day at all: closed whenever the test runs.
            json={"business_hours": {"timezone": "UTC", "weekly": {}}},
            headers={"Authorization": f"Bearer {bearer_for(admin)}"},
        )
        assert response.status_code == 200, response.text
    page = await context.new_page()
    widget = await open_widget(page, f"{live_server}/demo")
    await expect(page.locator("relaydesk-widget .subtitle")).to_have_text(
        "Our team is away; the assistant can still help"
    )
    # The built-in blue, since neither the site nor the page sets a colour.
    # The demo theme's colour (#8a5a34): the site's settings still apply when closed.
    await expect(widget.launcher).to_have_css("background-color", "rgb(138, 90, 52)")
