"""Console layout at a common laptop width, in English and Chinese: the Admin Users table
stays inside its card with one-line headers, the visitor details panel wraps whole words,
and the handoff summary quotes whole words and leaves when the bot has the conversation
back. Measured in the browser, and shot for a look."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from relaydesk.bot import summary
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.sites import service as sites
from tests.e2e.conftest import errors_of, shoot
from tests.e2e.test_console_admin import sign_in_page
from tests.e2e.test_console_inbox import sign_in
from tests.factories import make_staff, route_manually

# The demo site's name: the one that showed as "Help C/enter" and pushed the table out.
DEMO_NAME = "Relaydesk Demo Help Center"


@pytest.fixture
async def long_site(db: Database) -> Site:
    return await sites.create_site(db, name=DEMO_NAME, site_key="demo-long")


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_admin_users_table_fits_its_card_at_1440(
    db: Database, live_server: str, long_site: Site, browser: Browser, lang: str
) -> None:
    admin = await make_staff(db, roles=[Role.ADMIN], site=long_site, name="Demo Admin")
    await make_staff(db, site=long_site, name="Ava Agent")
    await make_staff(
        db,
        roles=[Role.AGENT, Role.SUPERVISOR, Role.EDITOR],
        site=long_site,
        name="Maximilian Oberhauser-Lindqvist",
    )
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN" if lang == "zh" else "en-US"
    )
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in_page(page, live_server, admin.email, "/console/admin/users")
    if lang == "zh":
        await page.goto(f"{live_server}/console/admin/users?lang=zh")
    await page.locator("#rd-users").wait_for()
    sizes = await page.evaluate(
        """() => {
          const table = document.querySelector('#rd-users');
          const card = table.closest('.rd-card');
          const style = getComputedStyle(card);
          const inner = card.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
          const heads = [...table.querySelectorAll('thead th')]
            .filter((th) => th.textContent.trim());
          const lines = (el) => {
            const range = document.createRange();
            range.selectNodeContents(el);
            return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
          };
          return {
            emails: [...table.querySelectorAll('.rd-hint')].map(lines),
            table: table.scrollWidth,
            card: Math.round(inner),
            cardScroll: card.scrollWidth,
            cardClient: card.clientWidth,
            heads: heads.map((th) => {
              const range = document.createRange();
              range.selectNodeContents(th);
              return { text: th.textContent, lines: range.getClientRects().length,
                       height: range.getBoundingClientRect().height,
                       line: parseFloat(getComputedStyle(th).lineHeight) || 20 };
            }),
          };
        }"""
    )
    await shoot(page, f"admin-users-1440-{lang}")
    assert sizes["table"] <= sizes["card"], sizes
    assert sizes["cardScroll"] <= sizes["cardClient"], sizes
    # An email address is one token: it is not split across lines to make room.
    assert sizes["emails"] == [1, 1, 1], sizes
    for head in sizes["heads"]:
        assert head["lines"] == 1 and head["height"] < 1.6 * head["line"], head
    if lang == "zh":
        assert "接待上限" in [h["text"] for h in sizes["heads"]]
    # The page's icons load (the browser's own /favicon.ico was a 404 on every page).
    icons = await page.evaluate(
        """async () => Promise.all(
          ['/favicon.ico', ...[...document.querySelectorAll('link[rel=icon]')].map((l) => l.href)]
            .map(async (href) => {
              const r = await fetch(href);
              return [r.status, r.headers.get('content-type')];
            }))"""
    )
    assert len(icons) == 3 and all(s == 200 and t.startswith("image/") for s, t in icons), icons
    assert errors == []
    await context.close()


QUESTIONS = {
    "en": "How do I send something back? The order page says I can select Return items and "
    "print the prepaid label or show the QR code at a drop-off point, but the button is grey "
    "and nothing happens when I click it on my phone or on my laptop.",
    "zh": "我想退货。订单页面说可以选择退货商品，然后打印预付标签或者在自提点出示二维码，"
    "但是这个按钮是灰色的，我在手机上和电脑上点击都没有任何反应，请问应该怎么办？"
    "我已经试过重新登录和清除浏览器缓存了，还是不行，能不能帮我看看是哪里出了问题？"
    "另外我想知道退款多久能到账，运费是不是也会退回来，谢谢。" * 2,
}


async def _handed_off(db: Database, site: Site, lang: str) -> str:
    """A visitor's long question, handed to a person with the bot's summary (the site has
    no knowledge base, so the bot stays silent)."""
    assert site.id is not None
    await route_manually(db, site)
    visitor = await sites.create_visitor(db, site_id=site.id, locale=lang)
    conversation, _ = await conversations.open_conversation(
        db, site_id=site.id, visitor_id=visitor.id
    )
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="v-1",
        text=QUESTIONS[lang],
    )
    queued = await transitions.request_handoff(
        db, conversation_id=conversation.id, actor=BOT, reason="visitor_asked"
    )
    await summary.summarise(db, conversation=queued)
    return conversation.id


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_details_wrap_whole_words_and_summary_leaves_with_the_handoff(
    db: Database, live_server: str, long_site: Site, browser: Browser, lang: str
) -> None:
    agent = await make_staff(db, site=long_site, name="Ava Agent")
    cid = await _handed_off(db, long_site, lang)
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN" if lang == "zh" else "en-US"
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, agent, lang=lang)
    await page.goto(f"{live_server}/console?lang={lang}#/inbox/queue/{cid}")

    # The summary quotes the question cut at a word (Chinese: a character) with "…".
    clipped = summary.clip(QUESTIONS[lang])
    assert clipped.endswith("…") and clipped != QUESTIONS[lang]
    box = page.locator(".rd-summary")
    await expect(box).to_be_visible()
    await expect(box).to_contain_text(clipped)
    if lang == "en":
        assert clipped[:-1].split()[-1] in QUESTIONS[lang].split()

    # Every word of the site's name sits on one line in the details panel.
    site_dd = page.locator(".rd-details dd", has_text="Help")
    await expect(site_dd).to_have_text(DEMO_NAME)
    lines_per_word = await site_dd.evaluate(
        """(dd) => {
          const node = dd.firstChild, out = {};
          let at = 0;
          for (const word of node.textContent.split(' ')) {
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + word.length);
            out[word] = new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
            at += word.length + 1;
          }
          return out;
        }"""
    )
    assert lines_per_word == dict.fromkeys(DEMO_NAME.split(), 1), lines_per_word
    await shoot(page, f"console-summary-details-{lang}")

    # Accept, then hand back to the bot: the summary is history and leaves the view,
    # also after a reload.
    await page.click('[data-action="accept"]')
    await expect(page.locator('[data-action="hand_back"]')).to_be_visible()
    await expect(box).to_be_visible()
    await page.click('[data-action="hand_back"]')
    await expect(page.locator(".rd-conv-head .rd-status.s-bot")).to_be_visible()
    await expect(box).to_be_hidden()
    await page.reload()
    await expect(page.locator(".rd-conv-head .rd-status.s-bot")).to_be_visible()
    await expect(page.locator(".rd-details dd", has_text="Help")).to_be_visible()
    await expect(box).to_be_hidden()
    assert errors == []
    await context.close()
