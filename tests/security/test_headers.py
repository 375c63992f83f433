"""Finding 9: headers. /login and /console had no CSP and no frame-ancestors (the console
rendered inside another page's frame), no HSTS, `server: uvicorn` leaked, the CSRF cookie
was never Secure, and the embed snippet trusted the Host header."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.api.cli import server_config
from relaydesk.api.headers import PAGE_CSP
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.core.security import CSRF_COOKIE
from relaydesk.testing.servers import free_port
from tests.factories import PASSWORD, bearer_for, make_site, make_staff


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def test_pages_cannot_be_framed_and_run_only_our_scripts(
    db: Database, client: httpx.AsyncClient
) -> None:
    user = await make_staff(db, site=await make_site(db))
    await client.get("/login")
    await client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]},
    )
    for path in ("/login", "/console", "/console/admin", "/console/profile"):
        response = await client.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert csp == PAGE_CSP
    # The widget's own files stay embeddable (they are meant to run on other sites).
    loader = await client.get("/widget/loader.js")
    assert "x-frame-options" not in loader.headers


async def test_hsts_only_when_enabled_and_over_https(db: Database) -> None:
    app = create_app()
    for base, hsts, expected in [
        ("http://127.0.0.1", 31536000, False),
        ("https://127.0.0.1", 0, False),
        ("https://127.0.0.1", 31536000, True),
    ]:
        with override_settings(hsts_seconds=hsts):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=base
            ) as client:
                response = await client.get("/healthz")
        assert ("strict-transport-security" in response.headers) is expected
        if expected:
            assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_cookies_are_secure_over_https(db: Database) -> None:
    app = create_app()
    for base, public_url, secure in [
        ("http://127.0.0.1", None, False),
        ("https://127.0.0.1", None, True),
        ("http://127.0.0.1", "https://chat.example.com", True),
    ]:
        with override_settings(public_url=public_url):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=base
            ) as client:
                page = await client.get("/login")
        cookie = page.headers["set-cookie"].lower()
        assert cookie.startswith(CSRF_COOKIE) and ("secure" in cookie) is secure, (base, cookie)


async def test_the_server_does_not_name_itself(db: Database) -> None:
    port = free_port()
    import uvicorn

    config = server_config(create_app(), "127.0.0.1", port)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert response.status_code == 200 and "server" not in response.headers
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_the_embed_snippet_ignores_a_forged_host(db: Database) -> None:
    site = await make_site(db)
    admin = {"Authorization": f"Bearer {bearer_for(await make_staff(db, roles=[Role.ADMIN]))}"}
    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        forged = await client.get(
            f"/api/v1/sites/{site.id}", headers={**admin, "Host": "evil.example"}
        )
        assert "evil.example" not in forged.text
        assert "http://127.0.0.1:8000/widget/loader.js" in forged.json()["embed_snippet"]
        with override_settings(public_url="https://chat.example.com"):
            configured = await client.get(
                f"/api/v1/sites/{site.id}", headers={**admin, "Host": "evil.example"}
            )
        assert "https://chat.example.com/widget/loader.js" in configured.json()["embed_snippet"]
