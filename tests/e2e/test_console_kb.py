"""The knowledge-base editor in a real browser: write, publish, test a question, import
with progress, diff and restore a version."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from tests.e2e.conftest import errors_of, shoot
from tests.e2e.test_console_inbox import sign_in
from tests.factories import make_staff

BODY = """# Returns

You can return any item within **30 days** for a full refund.

- Keep the receipt
- Use the [returns portal](https://example.com/returns)
- Never [click this](javascript:alert(1))

<img src=x onerror=alert(1)>"""

IMPORTED = b"""# Gift cards

Gift cards never expire and can be used in any of our shops.
"""


async def test_editor_writes_publishes_imports_and_restores(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    editor = await make_staff(db, site=demo_site, roles=[Role.EDITOR], name="Eddie Editor")
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, editor)
    # Editors have no inbox: the console opens on the knowledge base.
    await expect(page.locator('[data-nav="kb"]')).to_have_class("active")
    assert await page.locator('[data-nav="inbox"]').count() == 0

    await page.click('[data-action="new"]')
    await page.fill(".rd-title", "Returns and refunds")
    await page.fill(".rd-body", BODY)
    preview = page.locator(".rd-preview")
    await expect(preview.locator("h1")).to_have_text("Returns")
    await expect(preview.locator("strong")).to_have_text("30 days")
    await expect(preview.locator("li")).to_have_count(3)
    assert await preview.locator("a").count() == 1
    assert await preview.locator("a").get_attribute("href") == "https://example.com/returns"
    assert await preview.locator("img").count() == 0
    await page.click('[data-action="save"]')
    await page.wait_for_url("**/console#/kb/a/*")
    await expect(page.locator(".rd-kb-bar .rd-status")).to_have_text("Draft")

    await page.click('[data-action="publish"]')
    await expect(page.locator(".rd-kb-bar .rd-status")).to_have_text("Published")
    await expect(page.locator(".rd-kb-list .rd-row .rd-status")).to_have_text("Published")

    question = page.locator(".rd-test input")
    await question.fill("How many days do I have to return an item?")
    await question.press("Enter")
    first_hit = page.locator(".rd-hit").first
    await expect(first_hit.locator(".rd-hit-title")).to_have_text("Returns and refunds")
    await expect(first_hit.locator(".rd-hit-scores")).to_contain_text("confidence")

    # A second version, then a diff against the first and a restore of it.
    await page.fill(".rd-body", BODY.replace("30 days", "14 days"))
    await page.keyboard.press("Control+s")
    await expect(page.locator(".rd-version")).to_have_count(2, timeout=5_000)
    await page.locator('.rd-version[data-version="1"] [data-action="diff"]').click()
    await expect(page.locator(".rd-diff-lines .del")).to_contain_text("30 days")
    await expect(page.locator(".rd-diff-lines .add")).to_contain_text("14 days")
    await shoot(page, "console-kb-en")
    await page.locator('.rd-version[data-version="1"] [data-action="restore"]').click()
    await expect(page.locator(".rd-save-status")).to_contain_text("v1")
    await expect(page.locator(".rd-body")).to_have_value(BODY)

    # Import a Markdown file: progress, then the summary, then it is listed.
    await page.set_input_files(
        ".rd-file",
        files=[{"name": "gift-cards.md", "mimeType": "text/markdown", "buffer": IMPORTED}],
    )
    await page.click('[data-action="upload"]')
    await expect(page.locator(".rd-import-result")).to_contain_text("Imported: 1")
    assert await page.locator(".rd-progress").evaluate("el => el.value") == 100
    await expect(page.locator(".rd-kb-list .rd-row-name", has_text="Gift cards")).to_have_count(1)

    await page.goto(f"{live_server}/console?lang=zh#/kb")
    await page.locator(".rd-kb-list .rd-row", has_text="Returns").click()
    await expect(page.locator(".rd-kb-bar .rd-status")).to_have_text("已发布")
    await page.locator(".rd-test input").fill("礼品卡 gift cards expire")
    await page.locator(".rd-test button").click()
    await expect(page.locator(".rd-hit").first).to_be_visible()
    await shoot(page, "console-kb-zh")
    assert errors == []
