"""The analytics dashboard in a real browser: the empty state, figures, a filter, the
drill-down from a number and from a chart point into the inbox's own list view, CSV export;
screenshots in English and Chinese under test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Role, StaffUser
from tests.analytics.seed import Chat, presence, seed
from tests.e2e.conftest import errors_of, shoot
from tests.factories import PASSWORD, make_site, make_staff


async def _sign_in(page: Page, base: str, user: StaffUser, lang: str) -> None:
    await page.goto(f"{base}/login?lang={lang}")
    await page.fill("#email", user.email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")


async def _expect_rows(page: Page, ids: set[str]) -> None:
    """The inbox list shows exactly these conversations. Each check retries, so a list that
    is still being re-rendered is waited for, never read half-way."""
    await expect(page.locator(".rd-list .rd-row")).to_have_count(len(ids))
    for conversation_id in ids:
        await expect(page.locator(f'.rd-list .rd-row[data-id="{conversation_id}"]')).to_have_count(
            1
        )


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_dashboard(db: Database, live_server: str, browser: Browser, lang: str) -> None:
    empty = await make_site(db, name="Empty shop")
    site = await make_site(db, name="Juniper & Oak")
    agent = await make_staff(db, site=site, name="Ava Agent")
    admin = await make_staff(db, roles=[Role.ADMIN], name="Ada Admin")
    # Every other one handed off to Ava and resolved; the rest stay with the bot.
    days = [1, 1, 2, 3, 3, 3, 5, 6]
    ids = await seed(
        db, site, [Chat(d, "visitor_asked" if n % 2 else None, agent) for n, d in enumerate(days)]
    )
    # Ava online from 09:00 to 17:00 on each of the last seven days.
    nine = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    shifts = [
        (nine - timedelta(days=d), nine - timedelta(days=d, hours=-8)) for d in range(7, 0, -1)
    ]
    await presence(
        db,
        site,
        agent,
        [(at, s) for on, off in shifts for at, s in ((on, "online"), (off, "offline"))],
    )
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = await context.new_page()
    errors = errors_of(page)
    await _sign_in(page, live_server, admin, lang)
    # The nav link is live now.
    await page.click("a[data-nav=analytics]")
    await page.goto(f"{live_server}/console/analytics?site={empty.id}")
    await page.wait_for_selector(".an-empty, .an-error")
    assert await page.locator(".an-error").count() == 0, await page.inner_text("main")
    await expect(page.locator(".an-empty")).to_be_visible()
    await shoot(page, f"analytics-empty-{lang}")

    await page.goto(f"{live_server}/console/analytics?site={site.id}")
    conversations_card = page.locator(".an-card[data-metric=conversations] strong")
    await expect(conversations_card).to_have_text("8")
    await expect(page.locator(".an-card[data-metric=handoffs] strong")).to_have_text("4")
    await expect(page.locator("#an-chart canvas")).to_have_count(1)
    # Utilisation: Ava's row (seven 8-hour shifts online in the 30 days shown).
    util = page.locator(".an-table-utilisation tbody tr")
    await expect(util).to_have_count(1)
    await expect(util.locator("td").nth(2)).to_have_text("56.0 h")
    await expect(page.locator("#an-util-chart canvas")).to_have_count(1)
    await page.set_viewport_size({"width": 1280, "height": 1500})
    await shoot(page, f"analytics-{lang}")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Drill-down from a number: the inbox's own list view shows exactly the conversations
    # behind it (resolved ones too), under a banner naming the figure.
    dashboard = page.url
    await page.click(".an-card[data-metric=handoffs]")
    await page.wait_for_url(lambda url: "/console?drill=" in url)
    banner = page.locator(".rd-drill")
    await expect(banner).to_be_visible()
    await expect(page.locator(".rd-drill-count")).to_have_attribute("data-total", "4")
    await _expect_rows(page, {ids[n] for n in (1, 3, 5, 7)})
    await shoot(page, f"analytics-drill-number-{lang}")
    # Opening a row keeps the drill-down; "clear" goes back to the plain view.
    await page.locator(".rd-list .rd-row").first.click()
    await expect(page.locator(".rd-list .rd-row")).to_have_count(4)
    await expect(banner).to_be_visible()

    # From the utilisation table: the agent's conversations (the four handed off to Ava).
    await page.goto(dashboard)
    await page.click(".an-table-utilisation tbody a.an-drill-link")
    await page.wait_for_url(lambda url: "/console?drill=" in url)
    await expect(page.locator(".rd-drill-count")).to_have_attribute("data-total", "4")
    await expect(page.locator(".rd-list .rd-row")).to_have_count(4)

    # Drill-down from a chart point: 3 days ago (three conversations, any status).
    await page.goto(dashboard)
    over = page.locator("#an-chart .u-over")
    await expect(over).to_be_visible()
    box = await over.bounding_box()
    assert box is not None
    # 30 daily points from 29 days ago to today, spread over the plot's width.
    x = box["x"] + box["width"] * (29 - 3) / 29
    await page.mouse.move(x, box["y"] + box["height"] / 2)
    await page.mouse.click(x, box["y"] + box["height"] / 2)
    await page.wait_for_url(lambda url: "/console?drill=" in url)
    await expect(page.locator(".rd-drill-count")).to_have_attribute("data-total", "3")
    await _expect_rows(page, set(ids[3:6]))
    await expect(page.locator(".rd-drill-range")).to_have_text(
        (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    )
    await shoot(page, f"analytics-drill-point-{lang}")
    await page.click(".rd-drill-clear")
    await expect(banner).to_be_hidden()
    assert "drill=" not in page.url

    await page.goto(dashboard)
    # A filter: the last two days only (1 day ago: two conversations).
    start = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    await page.fill("input[name=from]", start)
    await page.click(".an-filters button[type=submit]")
    await expect(conversations_card).not_to_have_text("8")

    # CSV export: one row per conversation.
    async with page.expect_download() as info:
        await page.click(".an-export")
    download = await info.value
    path = await download.path()
    assert path is not None
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("conversation_id,")
    assert len(lines) - 1 == int(await conversations_card.inner_text())
    assert errors == []
    await context.close()
