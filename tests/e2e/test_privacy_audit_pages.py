"""The privacy and audit-log pages in a real browser, in English and Chinese: an admin
looks a visitor up, exports their data, erases them (the visitor's widget socket is
closed), and finds both in the audit log, filtered, with a CSV link for the same filter."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Dialog, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Role
from tests.e2e.conftest import errors_of, shoot
from tests.factories import PASSWORD, make_site, make_staff
from tests.privacy.helpers import visitor_with_data

TEXT = {
    "en": {
        "export": "Export data",
        "erase": "Erase visitor",
        "audit": "Audit log",
        "panel": "Export or erase…",
    },
    "zh": {"export": "导出数据", "erase": "删除访客", "audit": "审计日志", "panel": "导出或删除…"},
}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_export_erase_and_audit_pages(
    db: Database, live_server: str, browser: Browser, lang: str
) -> None:
    site = await make_site(db, name="Acme 商店")
    admin = await make_staff(db, roles=[Role.ADMIN], name="Ada Admin")
    world = await visitor_with_data(live_server, site, "PW-MARKER")
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN" if lang == "zh" else "en-US"
    )
    page = await context.new_page()
    errors = errors_of(page)
    await page.goto(f"{live_server}/login?lang={lang}&next=/console/admin/privacy")
    await page.fill("#email", admin.email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live_server}/console/admin/privacy")

    # An unknown id is said to be unknown.
    await page.fill("#p-visitor", "0" * 32)
    async with page.expect_navigation():
        await page.click("#rd-visitor-find button[type=submit]")
    await expect(page.locator("#rd-visitor-missing")).to_be_visible()

    # From the conversation's visitor panel to the privacy page, with the visitor found.
    await page.goto(f"{live_server}/console#/inbox/all/{world.conversation_id}")
    link = page.locator("a.rd-privacy-link")
    await expect(link).to_have_text(TEXT[lang]["panel"])
    await shoot(page, f"privacy-panel-link-{lang}")
    async with page.expect_navigation():
        await link.click()
    found = page.locator("#rd-visitor-found")
    await expect(found).to_contain_text("mia@example.com")
    await expect(page.locator("#rd-visitor-export")).to_have_text(TEXT[lang]["export"])
    await shoot(page, f"privacy-visitor-{lang}")

    async with page.expect_navigation():
        await page.click("#rd-visitor-export")
    export_row = page.locator('#rd-receipts tr[data-kind="export"]')
    await expect(export_row).to_have_count(1)
    async with page.expect_download() as download:
        await export_row.locator("a[download]").click()
    assert (await download.value).suggested_filename.endswith(".zip")

    await page.goto(f"{live_server}/console/admin/privacy?visitor={world.visitor_id}")

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)
    await expect(page.locator("#rd-visitor-delete")).to_have_text(TEXT[lang]["erase"])
    async with page.expect_navigation():
        await page.click("#rd-visitor-delete")
    await expect(page.locator('#rd-receipts tr[data-kind="delete"]')).to_have_count(1)
    await world.peer.wait_until(lambda: not world.peer.client.connected)
    await shoot(page, f"privacy-receipts-{lang}")

    await page.goto(f"{live_server}/console/admin/audit")
    await expect(page.locator("h1")).to_have_text(TEXT[lang]["audit"])
    await expect(page.locator('#rd-audit tr[data-action="privacy.export"]')).to_have_count(1)
    await expect(page.locator('#rd-audit tr[data-action="auth.login"]')).not_to_have_count(0)
    await page.select_option("#a-action", "privacy.delete")
    async with page.expect_navigation():
        await page.click("#rd-audit-filters button[type=submit]")
    rows = page.locator("#rd-audit tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(admin.email)
    href = await page.locator("#rd-audit-csv").get_attribute("href")
    assert href == "/api/v1/audit.csv?action=privacy.delete"
    await shoot(page, f"audit-log-{lang}")
    assert errors == []
    await context.close()
