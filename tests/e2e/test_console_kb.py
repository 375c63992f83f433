"""The knowledge-base editor in a real browser: write, publish, test a question, import
with progress, diff and restore a version."""

from __future__ import annotations

import asyncio

from playwright.async_api import BrowserContext, Locator, Page, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.knowledge import service
from relaydesk.knowledge.models import ContentStatus, FaqEntryCreate
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


async def _ask(page: Page, question: str) -> Locator:
    box = page.locator(".rd-test input")
    await box.fill(question)
    await box.press("Enter")
    # The first search of a site builds its index, which takes a while on a busy machine.
    await expect(page.locator(".rd-hits")).to_have_attribute("data-query", question, timeout=30_000)
    return page.locator(".rd-hit .rd-hit-title")


async def test_editor_writes_edits_publishes_and_deletes_an_faq_entry(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    await service.create_faq_entry(
        db,
        data=FaqEntryCreate(
            site_id=demo_site.id or 0,
            title="Opening hours",
            questions=["When are you open?"],
            answer="Monday to Friday, 9:00 to 18:00.",
            status=ContentStatus.PUBLISHED,
        ),
        actor=service.SYSTEM,
    )
    editor = await make_staff(db, site=demo_site, roles=[Role.EDITOR], name="Eddie Editor")
    page = await context.new_page()
    errors = errors_of(page)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await sign_in(page, live_server, editor)

    # A new entry from the FAQ tab: several phrasings, Markdown answer, tags and locale.
    await page.locator(".rd-tab", has_text="FAQ").click()
    await expect(page.locator('[data-action="new"]')).to_have_text("New FAQ entry")
    await page.click('[data-action="new"]')
    await page.wait_for_url("**/console#/kb/newf")
    await page.fill(".rd-title", "Bicycle parking")
    await page.fill(".rd-questions", "Where can I park my bike?\n\n  Is there a bike rack?  ")
    await page.fill(".rd-body", "There is a **covered bike rack** next to the entrance.")
    await expect(page.locator(".rd-preview strong")).to_have_text("covered bike rack")
    await page.fill('input[name="tags"]', "store, parking")
    await page.select_option('select[name="locale"]', "en")
    await page.click('[data-action="save"]')
    await page.wait_for_url("**/console#/kb/f/*")
    await expect(page.locator(".rd-kb-bar .rd-status")).to_have_text("Draft")
    await expect(page.locator(".rd-questions")).to_have_value(
        "Where can I park my bike?\nIs there a bike rack?"
    )
    row = page.locator(".rd-kb-list .rd-row", has_text="Bicycle parking")
    await expect(row.locator(".rd-status")).to_have_text("Draft")

    # A draft is not retrievable; once published it is the best hit.
    question = "where do I leave my bicycle"
    assert "Bicycle parking" not in await (await _ask(page, question)).all_inner_texts()
    await page.click('[data-action="publish"]')
    await expect(page.locator(".rd-kb-bar .rd-status")).to_have_text("Published")
    await expect((await _ask(page, question)).first).to_have_text("Bicycle parking")

    # Editing the phrasings changes what the question retrieves, at once.
    opening = "can I come by on a saturday morning"
    await expect((await _ask(page, opening)).first).to_have_text("Opening hours")
    await page.fill(".rd-title", "Weekend visits")
    await page.fill(
        ".rd-questions",
        "Where can I park my bike?\n"
        "Can I come by on a Saturday morning?\n"
        "Are you open on weekends?",
    )
    await page.keyboard.press("Control+s")
    await expect(page.locator(".rd-save-status")).to_contain_text("Saved")
    await expect((await _ask(page, opening)).first).to_have_text("Weekend visits")
    listed = page.locator(".rd-kb-list .rd-row-name", has_text="Weekend visits")
    await expect(listed).to_have_count(1)
    await shoot(page, "console-kb-faq-en")

    # Unpublished, it leaves the results; deleted, it leaves the list.
    await page.click('[data-action="unpublish"]')
    await expect(page.locator(".rd-kb-bar .rd-status")).to_have_text("Draft")
    assert "Weekend visits" not in await (await _ask(page, opening)).all_inner_texts()
    await page.click('[data-action="delete"]')
    await expect(page.locator(".rd-save-status")).to_contain_text("Deleted")
    await expect(listed).to_have_count(0)

    # The Chinese UI.
    await page.goto(f"{live_server}/console?lang=zh#/kb")
    await page.locator(".rd-tab", has_text="常见问题").click()
    await page.locator(".rd-kb-list .rd-row", has_text="Opening hours").click()
    await expect(page.locator('[data-action="delete"]')).to_have_text("删除")
    await expect(page.locator(".rd-field-label").first).to_have_text("问题")
    await shoot(page, "console-kb-faq-zh")
    assert errors == []


async def test_article_and_faq_language_follow_the_console_and_the_text(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    editor = await make_staff(db, site=demo_site, roles=[Role.EDITOR], name="编辑小王")
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, editor, lang="zh")
    language = page.locator('.rd-kb-editor select[name="locale"]')

    # A Chinese article written in the Chinese console is Chinese, in the list too.
    await page.click('[data-action="new"]')
    await expect(language).to_have_value("zh")
    assert await language.locator("option").all_inner_texts() == ["英语", "中文"]
    await page.fill(".rd-title", "退货政策")
    await page.fill(".rd-body", "收货后 30 天内可以退货，欧盟境内退货免费。")
    await page.click('[data-action="save"]')
    await page.wait_for_url("**/console#/kb/a/*")
    row = page.locator(".rd-kb-list .rd-row", has_text="退货政策")
    await expect(row.locator(".rd-row-locale")).to_have_text("中文")
    await expect(row.locator(".rd-row-locale")).to_have_attribute("data-locale", "zh")
    await expect(language).to_have_value("zh")
    await shoot(page, "console-kb-language-zh")

    # English text typed in the Chinese console is detected as English ...
    await page.click('[data-action="new"]')
    await page.fill(".rd-title", "Gift cards")
    await page.fill(".rd-body", "Gift cards never expire.")
    await expect(language).to_have_value("en")
    # ... until the editor picks the language by hand; then typing leaves it alone.
    await language.select_option("zh")
    await page.fill(".rd-body", "Gift cards never expire. 礼品卡永不过期。")
    await expect(language).to_have_value("zh")
    await language.select_option("en")
    await page.click('[data-action="save"]')
    await page.wait_for_url("**/console#/kb/a/*")
    gift = page.locator(".rd-kb-list .rd-row", has_text="Gift cards")
    await expect(gift.locator(".rd-row-locale")).to_have_attribute("data-locale", "en")

    # The language of a saved article can be changed.
    await language.select_option("zh")
    await page.click('[data-action="save"]')
    await expect(gift.locator(".rd-row-locale")).to_have_attribute("data-locale", "zh")

    # An FAQ entry's language is a choice too, starting from the console's language.
    await page.locator(".rd-tab", has_text="常见问题").click()
    await page.click('[data-action="new"]')
    await expect(language).to_have_value("zh")
    await page.fill(".rd-title", "运费")
    await page.fill(".rd-questions", "运费多少？")
    await page.fill(".rd-body", "满 50 欧免运费。")
    await page.click('[data-action="save"]')
    await page.wait_for_url("**/console#/kb/f/*")
    faq = page.locator(".rd-kb-list .rd-row", has_text="运费")
    await expect(faq.locator(".rd-row-locale")).to_have_text("中文")
    await shoot(page, "console-kb-faq-language-zh")

    # The English console starts new entries in English.
    await page.goto(f"{live_server}/console?lang=en#/kb")
    await page.click('[data-action="new"]')
    await expect(language).to_have_value("en")
    assert await language.locator("option").all_inner_texts() == ["English", "Chinese"]
    await expect(
        page.locator(".rd-kb-list .rd-row", has_text="退货政策").locator(".rd-row-locale")
    ).to_have_text("Chinese")
    assert errors == []
