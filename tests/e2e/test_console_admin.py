"""The admin pages, the profile page and canned responses in a real browser."""

from __future__ import annotations

import io

from PIL import Image
from playwright.async_api import BrowserContext, Page, expect

from relaydesk.accounts import manage
from relaydesk.bot import service as bot_service
from relaydesk.canned import service as canned
from relaydesk.canned.models import CannedResponseCreate
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.sites import service as sites
from tests import sockets
from tests.e2e.conftest import errors_of
from tests.e2e.test_console_inbox import sign_in
from tests.factories import PASSWORD, default_team, make_staff


async def sign_in_page(
    page: Page, base: str, email: str, next: str, password: str = PASSWORD
) -> None:
    """Sign in straight into `next`, an admin or profile page."""
    await page.goto(f"{base}/login?lang=en&next={next}")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{next}")


async def submit_and_reload(page: Page, form: str) -> None:
    """Submit an admin form that reloads the page on success, and wait for the reload."""
    async with page.expect_navigation():
        await page.click(f"{form} button[type=submit]")


async def test_admin_manages_users_teams_sites_and_canned(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    admin = await make_staff(db, roles=[Role.ADMIN], name="Ada Admin")
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in_page(page, live_server, admin.email, "/console/admin/users")

    # Users: create one, then give them the supervisor role.
    form = page.locator("#rd-user-create")
    await form.locator("[name=email]").fill("lee@acme.example")
    await form.locator("[name=name]").fill("Lee Chen")
    await form.locator("[name=password]").fill("short")
    await form.locator("[name=password]").evaluate("el => el.removeAttribute('minlength')")
    await form.locator("button[type=submit]").click()
    await expect(form.locator(".rd-form-msg")).to_contain_text("password")
    await form.locator("[name=password]").fill("a long password")
    await submit_and_reload(page, "#rd-user-create")
    row = page.locator('tr[data-user="lee@acme.example"]')
    await expect(row).to_contain_text("Lee Chen")
    await row.locator("a", has_text="Edit").click()
    await page.locator('#rd-user-edit input[value="supervisor"]').check()
    await submit_and_reload(page, "#rd-user-edit")
    await expect(page.locator("#rd-user-edit input[value=supervisor]")).to_be_checked()
    await page.goto(f"{live_server}/console/admin/users")
    await expect(row.locator(".rd-chip.supervisor")).to_be_visible()
    # The last admin cannot drop their own admin role.
    await page.goto(f"{live_server}/console/admin/users/{admin.id}")
    await page.locator('#rd-user-edit input[value="admin"]').uncheck()
    await page.locator('#rd-user-edit input[value="agent"]').check()
    await page.locator("#rd-user-edit button[type=submit]").click()
    await expect(page.locator("#rd-user-edit .rd-form-msg")).to_contain_text("last active admin")

    # Teams: create one with manual routing and add Lee to it.
    await page.goto(f"{live_server}/console/admin/teams")
    await page.fill("#rd-team-create [name=name]", "Billing")
    await page.select_option("#rd-team-create [name=routing_mode]", "manual")
    await submit_and_reload(page, "#rd-team-create")
    billing = page.locator('tr[data-team="Billing"]')
    await expect(billing).to_contain_text("Manual")
    await billing.locator("a").click()
    await page.select_option("#m-user", label="Lee Chen (lee@acme.example)")
    await submit_and_reload(page, "#rd-member-add")
    await expect(page.locator('tr[data-member="lee@acme.example"]')).to_be_visible()
    [team] = [t for t in await manage.list_teams(db) if t.name == "Billing"]
    assert team.routing_mode == "manual"
    assert team.id is not None
    members = await manage.members_by_team(db, [team.id])
    assert [u.email for u in members[team.id]] == ["lee@acme.example"]

    # Sites: settings, hours, handoff rules, and the embed snippet.
    await page.goto(f"{live_server}/console/admin/sites/{demo_site.id}")
    snippet = page.locator("#rd-snippet")
    await expect(snippet).to_have_text(
        f'<script src="{live_server}/widget/loader.js" data-site-key="demo-site" async></script>'
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.click("[data-copy=rd-snippet]")
    await expect(page.locator("[data-copy=rd-snippet]")).to_have_text("Copied")
    assert "demo-site" in await page.evaluate("navigator.clipboard.readText()")
    await page.fill("#rd-site-general [name=allowed_origins]", "https://shop.example\nnot a url")
    await page.click("#rd-site-general button[type=submit]")
    await expect(page.locator("#rd-site-general .rd-form-msg")).to_contain_text("not an http")
    await page.fill("#rd-site-general [name=allowed_origins]", "https://Shop.example/")
    await page.click("#rd-site-general button[type=submit]")
    await expect(page.locator("#rd-site-general .rd-form-msg")).to_have_text("Saved")
    await page.fill("#rd-site-theme [name='theme.greeting']", "Hi! How can we help?")
    await page.click("#rd-site-theme button[type=submit]")
    await expect(page.locator("#rd-site-theme .rd-form-msg")).to_have_text("Saved")
    await page.uncheck("#rd-site-hours [name='hours.always']")
    await page.fill("#rd-site-hours [name='hours.timezone']", "Asia/Shanghai")
    await page.check("#rd-site-hours [name='hours.mon.open']")
    await page.click("#rd-site-hours button[type=submit]")
    await expect(page.locator("#rd-site-hours .rd-form-msg")).to_have_text("Saved")
    await page.fill("#rd-site-handoff [name=handoff_keywords]", "lawyer\nchargeback")
    await page.fill("#rd-site-handoff [name=low_confidence_turns]", "3")
    await page.click("#rd-site-handoff button[type=submit]")
    await expect(page.locator("#rd-site-handoff .rd-form-msg")).to_have_text("Saved")
    assert demo_site.id is not None
    site = await sites.get_site(db, demo_site.id)
    assert site.allowed_origins == ["https://shop.example"]
    assert site.theme["greeting"] == "Hi! How can we help?"
    assert site.business_hours["timezone"] == "Asia/Shanghai"
    assert site.business_hours["weekly"]["mon"] == [["09:00", "18:00"]]
    policy = await bot_service.get_policy(db, demo_site.id)
    assert policy.handoff_keywords == ["lawyer", "chargeback"] and policy.low_confidence_turns == 3

    # Canned responses: create, refuse a duplicate, edit.
    await page.goto(f"{live_server}/console/admin/canned")
    for attempt in range(2):
        await page.fill("#rd-canned-create [name=shortcut]", "ship")
        await page.fill("#rd-canned-create [name=title]", "Shipping times")
        await page.fill("#rd-canned-create [name=text]", "Orders ship within 2 business days.")
        if attempt == 0:
            await submit_and_reload(page, "#rd-canned-create")
        else:
            await page.click("#rd-canned-create button[type=submit]")
        await expect(page.locator('tr[data-shortcut="ship"]')).to_be_visible()
    await expect(page.locator("#rd-canned-create .rd-form-msg")).to_contain_text("exists")
    assert errors == []


async def test_profile_name_avatar_and_password(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    user = await make_staff(db, site=demo_site, name="Ava Agent")
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in_page(page, live_server, user.email, "/console/profile")
    await page.fill("#rd-profile [name=name]", "Ava Li")
    await page.click("#rd-profile button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Ava Li")
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (59, 91, 219)).save(image, format="PNG")
    await page.set_input_files(
        "#rd-avatar-upload [name=file]",
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": image.getvalue()}],
    )
    await page.click("#rd-avatar-upload button[type=submit]")
    assert (await _avatar_src(page)).startswith(f"{live_server}/avatars/")
    await page.set_input_files(
        "#rd-avatar-upload [name=file]",
        files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"<svg></svg>"}],
    )
    await page.click("#rd-avatar-upload button[type=submit]")
    await expect(page.locator("#rd-avatar-upload .rd-form-msg")).to_contain_text("PNG, JPEG")
    await page.fill("#rd-password [name=current_password]", "wrong one")
    await page.fill("#rd-password [name=new_password]", "my new password")
    await page.click("#rd-password button[type=submit]")
    await expect(page.locator("#rd-password .rd-form-msg")).to_contain_text("current password")
    await page.fill("#rd-password [name=current_password]", PASSWORD)
    await page.click("#rd-password button[type=submit]")
    await expect(page.locator("#rd-password .rd-form-msg")).to_have_text("Saved")
    await page.click("text=Sign out")
    await sign_in_page(page, live_server, user.email, "/console/profile", "my new password")
    assert errors == []


async def _avatar_src(page: Page) -> str:
    img = page.locator("#rd-avatar img")
    await expect(img).to_have_count(1)
    src = await img.get_attribute("src")
    assert src is not None and "/avatars/" in src and src.endswith(".png")
    return src


async def test_canned_shortcut_in_the_reply_box(
    db: Database, live_server: str, demo_site: Site, context: BrowserContext
) -> None:
    assert demo_site.id is not None
    for shortcut, title, text in (
        ("ship", "Shipping times", "Orders ship within 2 business days."),
        ("shipping-eu", "Shipping to the EU", "EU orders arrive in 3 to 5 days."),
        ("refund", "Refunds", "Refunds take 5 days."),
    ):
        await canned.create_canned(
            db,
            data=CannedResponseCreate(
                site_id=demo_site.id, shortcut=shortcut, title=title, text=text
            ),
            created_by=None,
        )
    # Manual routing: nothing moves the conversation while the agent types.
    team = await default_team(db, demo_site)
    assert team.id is not None
    await manage.update_team(db, team_id=team.id, routing_mode="manual")
    user = await make_staff(db, site=demo_site, name="Ava Agent")
    visitor = await sockets.visitor(live_server, demo_site.site_key)
    cid = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    await visitor.call(
        "message:send", {"conversation_id": cid, "client_id": "v-1", "text": "Hi there"}
    )
    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, user)
    await page.locator(f'.rd-row[data-id="{cid}"]').click()
    await expect(page.locator(".rd-msg.k-visitor")).to_have_count(1)
    box = page.locator(".rd-compose textarea")
    await box.click()
    await box.type("Hello! /ship")
    options = page.locator(".rd-canned li[role=option]")
    await expect(options).to_have_count(2)
    await expect(options.nth(0)).to_have_class("on")
    await box.press("ArrowDown")
    await expect(options.nth(1)).to_have_class("on")
    await box.press("ArrowUp")
    await box.press("Enter")
    await expect(box).to_have_value("Hello! Orders ship within 2 business days.")
    await expect(page.locator(".rd-canned")).to_be_hidden()
    # Escape closes the list without inserting; Enter then sends as usual.
    await box.type(" /ref")
    await expect(options).to_have_count(1)
    await box.press("Escape")
    await expect(page.locator(".rd-canned")).to_be_hidden()
    await expect(box).to_have_value("Hello! Orders ship within 2 business days. /ref")
    await box.press("Control+a")
    await box.type("/nothing")
    await expect(page.locator(".rd-canned-none")).to_be_visible()
    await box.fill("")
    await visitor.disconnect()
    assert errors == []
