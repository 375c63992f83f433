"""Console layout at a common laptop width, in English and Chinese: the Admin Users table
stays inside its card with one-line headers, and the visitor details panel wraps whole
words. Measured in the browser, and shot for a look."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.sites import service as sites
from tests.e2e.conftest import errors_of, shoot
from tests.e2e.test_console_admin import sign_in_page
from tests.factories import make_staff

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
          return {
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
    for head in sizes["heads"]:
        assert head["lines"] == 1 and head["height"] < 1.6 * head["line"], head
    if lang == "zh":
        assert "接待上限" in [h["text"] for h in sizes["heads"]]
    assert errors == []
    await context.close()
