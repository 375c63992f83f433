"""Browser tests: Debian's chromium driven by Playwright against the real app (`live_server`).

Never `playwright install`: the browser is the system's `/usr/bin/chromium`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright
from sqlmodel import col, select

from relaydesk.api.demo import DEMO_THEME
from relaydesk.conversations.models import Conversation
from relaydesk.core.db import Database
from relaydesk.core.models import Site, StaffUser
from relaydesk.sites import service as sites
from relaydesk.testing.servers import free_port
from tests import sockets
from tests.factories import bearer_for, make_staff
from tests.waiting import eventually  # noqa: F401  (browser tests import it from here)

CHROMIUM = os.environ.get("RELAYDESK_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.e2e


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("chromium is needed for browser tests: `apt-get install -y chromium`")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def demo_site(db: Database) -> Site:
    # The theme `relaydesk serve` gives its demo site, so screenshots show what users see.
    return await sites.create_site(
        db, name="Juniper & Oak", site_key="demo-site", theme=DEMO_THEME, allow_any_origin=True
    )


@dataclass
class Agent:
    user: StaffUser
    peer: sockets.Peer


@pytest.fixture
async def agent(db: Database, live_server: str, demo_site: Site) -> AsyncIterator[Agent]:
    user = await make_staff(db, site=demo_site, name="Ava Agent")
    peer = await sockets.staff(live_server, bearer_for(user))
    yield Agent(user, peer)
    await peer.disconnect()


def errors_of(page: Page) -> list[str]:
    """Collects uncaught page errors, so a test can assert there were none."""
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    return found


class Widget:
    """The widget inside a page's shadow root (Playwright's CSS engine pierces it)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator("relaydesk-widget button.launcher")
        self.panel = page.locator("relaydesk-widget .panel")
        self.input = page.locator("relaydesk-widget .composer textarea")
        self.log = page.locator("relaydesk-widget .log")

    async def open(self) -> None:
        await self.launcher.click()
        await self.input.wait_for(state="visible")

    async def send(self, text: str) -> None:
        await self.input.fill(text)
        await self.input.press("Enter")

    def message(self, text: str) -> Locator:
        return self.log.locator(".msg .bubble", has_text=text)

    def confirmed(self) -> Locator:
        return self.log.locator(".msg[data-seq]")

    async def texts(self) -> list[str]:
        bubbles = self.log.locator(".msg .bubble")
        return [t for t in await bubbles.all_text_contents()]

    async def seqs(self) -> list[int]:
        values = await self.log.locator(".msg[data-seq]").evaluate_all(
            "els => els.map(e => +e.dataset.seq)"
        )
        return [int(v) for v in values]


async def open_widget(page: Page, url: str) -> Widget:
    """Load a page that embeds the widget and open the chat."""
    await page.goto(url)
    widget = Widget(page)
    await widget.open()
    return widget


async def conversation_of(db: Database, site: Site) -> Conversation:
    """The site's latest conversation (each test has one visitor)."""
    for _ in range(100):
        async with db.read() as session:
            found = (
                (
                    await session.execute(
                        select(Conversation)
                        .where(Conversation.site_id == site.id)
                        .order_by(col(Conversation.created_at).desc())
                    )
                )
                .scalars()
                .first()
            )
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the widget opened no conversation")


async def shoot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


@asynccontextmanager
async def host_page(html: str) -> AsyncIterator[str]:
    """A third-party page on another origin (another loopback port) embedding the widget."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "localhost", port).start()
    try:
        yield f"http://localhost:{port}/"
    finally:
        await runner.cleanup()
