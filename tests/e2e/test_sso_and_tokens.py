"""Single sign-on and personal API tokens in a real browser: clicking "Sign in with ..." on
the login page goes through the test's OpenID provider into the console; the profile page
creates a token, shows it once, and revokes it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import BrowserContext, expect

from relaydesk.core.db import Database
from relaydesk.core.models import Role
from tests.e2e.conftest import errors_of, shoot
from tests.factories import make_staff
from tests.oidc_provider import (
    Provider,
    signed_in_through,
)


@pytest.fixture
async def idp(db: Database) -> AsyncIterator[Provider]:
    async with signed_in_through("Acme ID") as provider:
        yield provider


async def test_sso_button_signs_in_and_profile_makes_a_token(
    db: Database, live_server: str, idp: Provider, context: BrowserContext
) -> None:
    user = await make_staff(db, roles=[Role.SUPERVISOR], name="Sol Super")
    idp.sign_in_as(user.email)
    page = await context.new_page()
    errors = errors_of(page)
    await page.goto(f"{live_server}/login?lang=en&next=/console/profile")
    button = page.locator("a#sso")
    await expect(button).to_have_text("Sign in with Acme ID")
    await shoot(page, "login-sso")
    await button.click()
    await page.wait_for_url(f"{live_server}/console/profile")
    await expect(page.locator("h1")).to_have_text("Sol Super")

    # A token: read-only scopes are ticked by default; the secret shows once.
    section = page.locator("#rd-tokens")
    await expect(section.locator("h2")).to_have_text("API tokens")
    await expect(section.locator("input[value=admin]")).to_have_count(0)  # not a supervisor's
    form = page.locator("#rd-token-create")
    await form.locator("[name=name]").fill("Nightly export")
    await form.locator("input[value='conversations:write']").check()
    await form.locator("button[type=submit]").click()
    shown = page.locator("#rd-new-token-value")
    await expect(shown).to_have_text(re.compile(r"^rd_pat_[A-Za-z0-9_-]{43}$"))
    token = await shown.text_content()
    assert token
    await shoot(page, "profile-api-token")
    async with httpx.AsyncClient(base_url=live_server) as client:
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == user.id

    # After a reload the list shows the token (prefix only, never the secret), and revokes it.
    await page.reload()
    row = page.locator("#rd-token-list tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Nightly export")
    await expect(row).to_contain_text("conversations:write")
    assert token not in await page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    async with page.expect_navigation():
        await row.locator("button", has_text="Revoke").click()
    await expect(page.locator("#rd-token-list tbody tr")).to_contain_text("revoked")
    async with httpx.AsyncClient(base_url=live_server) as client:
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    assert errors == []


async def test_login_page_in_chinese_offers_sso(
    db: Database, live_server: str, idp: Provider, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(f"{live_server}/login?lang=zh")
    await expect(page.locator("a#sso")).to_have_text("使用 Acme ID 登录")
    await shoot(page, "login-sso-zh")
