"""Every page the app serves has an icon: /favicon.ico (which browsers ask for on their
own) and the SVG the console, sign-in and demo pages link."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.core.db import Database
from relaydesk.sites import service as sites

TOOL = Path(__file__).resolve().parents[2] / "tools" / "favicon.py"


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app().api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_favicon_ico_and_svg_are_images(client: httpx.AsyncClient) -> None:
    ico = await client.get("/favicon.ico")
    assert ico.status_code == 200
    assert ico.headers["content-type"] == "image/x-icon"
    # An ICO directory (reserved 0, type 1) of three PNG images: 16, 32 and 48 px.
    assert ico.content[:6] == b"\x00\x00\x01\x00\x03\x00"
    assert ico.content.count(b"\x89PNG") == 3
    assert "max-age" in ico.headers["cache-control"]
    svg = await client.get("/favicon.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and "#3b5bdb" in svg.text


def test_committed_ico_is_what_the_tool_draws() -> None:
    spec = importlib.util.spec_from_file_location("favicon_tool", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.OUT.read_bytes() == tool.ico()


async def test_pages_link_the_icon(db: Database, client: httpx.AsyncClient) -> None:
    await sites.create_site(db, name="Demo", site_key="demo-site")
    for path in ("/login", "/login?lang=zh", "/demo", "/demo?lang=zh"):
        page = await client.get(path)
        assert page.status_code == 200, path
        icons = re.findall(r'<link rel="icon" href="([^"]+)"', page.text)
        assert icons == ["/favicon.ico", "/favicon.svg"], path
