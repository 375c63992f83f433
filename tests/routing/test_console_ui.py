"""The routing UI in a real browser: the presence selector, the transfer dialog (the second
agent sees the conversation arrive live), the away marker on inbox rows, and the
supervisors' bulk reassignment, in English and Chinese, with screenshots."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from relaydesk.conversations import service as conversations
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.routing import presence
from tests import sockets
from tests.e2e.conftest import browser, context, demo_site, errors_of, eventually, shoot
from tests.e2e.test_console_inbox import sign_in
from tests.factories import bearer_for, default_team
from tests.routing.conftest import agent, queued, set_mode

pytestmark = pytest.mark.e2e
__all__ = ["browser", "context", "demo_site"]


async def test_presence_transfer_marker_and_bulk_reassign(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext, browser: Browser
) -> None:
    team = await default_team(db, demo_site)
    await set_mode(db, team, "manual")
    ava = await agent(db, demo_site, [team], status=None, name="Ava Agent")
    ben = await agent(db, demo_site, [team], status=None, name="Ben Okafor")
    sam = await agent(db, demo_site, [team], status=None, roles=[Role.SUPERVISOR], name="Sam Lead")
    assert ava.id is not None and ben.id is not None
    ben_peer = await sockets.staff(live_server, bearer_for(ben))
    conversation = await queued(db, demo_site, team)

    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, ava)
    # The selector shows the agent online as soon as the console connects.
    await expect(page.locator("select.rd-presence")).to_have_value("online")
    await page.locator(f'.rd-row[data-id="{conversation.id}"]').click()
    await page.click('[data-action="accept"]')
    await expect(page.locator('[data-action="transfer"]')).to_be_visible()
    await page.click('[data-action="transfer"]')
    dialog = page.locator(".rd-modal")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator(f'[data-agent="{ben.id}"]')).to_contain_text("Ben Okafor")
    await expect(dialog.locator(f'[data-agent="{ben.id}"] .rd-dot')).to_have_class(
        "rd-dot rd-online"
    )
    await expect(dialog.locator(f'[data-agent="{sam.id}"] .rd-dot')).to_have_class(
        "rd-dot rd-offline"
    )
    await shoot(page, "console-transfer-en")
    await dialog.locator(f'[data-agent="{ben.id}"]').click()
    await expect(dialog).to_be_hidden()
    # The second agent learns of it live.
    updates = await ben_peer.wait_for("conversation:updated")
    assert any(
        u["conversation"]["id"] == conversation.id and u["conversation"]["assignee_id"] == ben.id
        for u in ben_peer.received["conversation:updated"]
    ), updates

    # Ava steps away through the selector.
    await page.select_option("select.rd-presence", "away")
    await eventually(lambda: _status_is(db, ava.id, "away"))

    # Ben goes away too with the conversation still his; the supervisor sees it marked and
    # moves his work back to the team's queue in one go.
    await ben_peer.call("presence:set", {"status": "away"})
    lead = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    lead_page = await lead.new_page()
    lead_errors = errors_of(lead_page)
    await sign_in(lead_page, live_server, sam)
    await lead_page.click('.rd-tabs a[href="#/inbox/all"]')
    row = lead_page.locator(f'.rd-row[data-id="{conversation.id}"]')
    await expect(row.locator(".rd-owner-away")).to_contain_text("Away")
    await shoot(lead_page, "console-inbox-away-marker-en")
    await lead_page.click(".rd-team-status")
    panel = lead_page.locator(".rd-modal")
    await expect(panel.locator(f'[data-reassign="{ben.id}"]')).to_be_visible()
    await shoot(lead_page, "console-team-status-en")
    await panel.locator(f'[data-reassign="{ben.id}"]').click()
    picker = lead_page.locator(".rd-modal").last
    await picker.locator(f'[data-team="{team.id}"]').click()
    await eventually(lambda: _queued(db, conversation.id))
    await expect(row.locator(".rd-status")).to_have_text("Waiting")
    await lead.close()

    zh = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    zh_page = await zh.new_page()
    await sign_in(zh_page, live_server, sam, lang="zh")
    await zh_page.click(".rd-team-status")
    await expect(zh_page.locator(".rd-modal h2")).to_have_text("团队状态")
    await shoot(zh_page, "console-team-status-zh")
    await zh_page.keyboard.press("Escape")
    await zh_page.locator(f'.rd-row[data-id="{conversation.id}"]').click()
    await zh_page.click('[data-action="transfer"]')
    await expect(zh_page.locator(".rd-modal h2")).to_have_text("分配给客服或团队")
    await shoot(zh_page, "console-transfer-zh")
    await zh.close()
    await ben_peer.disconnect()
    assert errors == [] and lead_errors == []


async def _status_is(db: Database, user_id: int | None, status: str) -> bool:
    assert user_id is not None
    return (await presence.get_presence(db, user_id)).status == status


async def _queued(db: Database, conversation_id: str) -> bool:
    return (await conversations.get_conversation(db, conversation_id)).status == "queued"
