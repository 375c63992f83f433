"""The analytics dashboard in a real browser: the empty state, figures, a filter, the
drill-down from a number and from a chart point, CSV export; screenshots in English and
Chinese under test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core import models
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, StaffUser
from relaydesk.sites import service as sites
from tests.e2e.conftest import errors_of, shoot
from tests.factories import PASSWORD, make_site, make_staff


async def _seed(db: Database, site: Site, agent: StaffUser, days_ago: list[int]) -> None:
    """One conversation per entry, started that many days ago at 10:00 UTC: the bot
    answers; every other one is handed off, answered 2 minutes later and resolved."""
    assert site.id is not None
    base = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    try:
        for n, ago in enumerate(days_ago):
            at = base - timedelta(days=ago)
            models.set_clock(lambda at=at: at)
            visitor = await sites.create_visitor(db, site_id=site.id, locale="en")
            chat, _ = await conversations.open_conversation(
                db, site_id=site.id, visitor_id=visitor.id
            )
            await conversations.send_message(
                db,
                conversation_id=chat.id,
                sender=Actor.visitor(visitor.id),
                client_id="v1",
                text="Where is my parcel?",
            )
            await conversations.send_message(
                db, conversation_id=chat.id, sender=BOT, client_id="b1", text="It ships today."
            )
            if n % 2:
                await transitions.request_handoff(
                    db, conversation_id=chat.id, actor=BOT, reason="visitor_asked"
                )
                await transitions.accept(db, conversation_id=chat.id, agent=agent)
                models.set_clock(lambda at=at: at + timedelta(minutes=2))
                await conversations.send_message(
                    db,
                    conversation_id=chat.id,
                    sender=Actor.staff(agent),
                    client_id="a1",
                    text="Let me check.",
                )
                await transitions.resolve(db, conversation_id=chat.id, actor=Actor.staff(agent))
    finally:
        models.set_clock(None)


async def _sign_in(page: Page, base: str, user: StaffUser, lang: str) -> None:
    await page.goto(f"{base}/login?lang={lang}")
    await page.fill("#email", user.email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_dashboard(db: Database, live_server: str, browser: Browser, lang: str) -> None:
    empty = await make_site(db, name="Empty shop")
    site = await make_site(db, name="Juniper & Oak")
    agent = await make_staff(db, site=site, name="Ava Agent")
    admin = await make_staff(db, roles=[Role.ADMIN], name="Ada Admin")
    await _seed(db, site, agent, [1, 1, 2, 3, 3, 3, 5, 6])
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
    await shoot(page, f"analytics-{lang}")

    # Drill-down from a number: the conversations behind it, linked into the inbox.
    await page.click(".an-card[data-metric=handoffs]")
    await expect(page.locator(".an-drill-list li")).to_have_count(4)
    href = await page.locator(".an-drill-list a").first.get_attribute("href")
    assert href is not None and href.startswith("/console#/inbox/all/")

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
