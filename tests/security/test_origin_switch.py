"""Finding 11: an empty origin list allowed every origin, so a site created without
`--origin` accepted the widget from anywhere. Now an empty list admits no browser, and
"any origin" is an explicit switch that the admin pages show as a warning."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import socketio

from relaydesk.api.app import create_app
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.sites import service as sites
from tests import sockets
from tests.cli import invoke
from tests.factories import bearer_for, form_login, make_site, make_staff


async def _widget_refusal(base_url: str, site_key: str, origin: str) -> str | None:
    peer = sockets.Peer("/widget")
    reasons: list[object] = []
    peer.client.on("connect_error", reasons.append, namespace="/widget")
    try:
        await peer.connect(base_url, {"site_key": site_key}, headers={"Origin": origin})
    except socketio.exceptions.ConnectionError:
        return str(reasons)
    await peer.disconnect()
    return None


async def test_a_site_without_origins_is_embeddable_nowhere(db: Database, live_server: str) -> None:
    site = await make_site(db)
    refusal = await _widget_refusal(live_server, site.site_key, "https://evil.example")
    assert refusal is not None and "origin_not_allowed" in refusal
    listed = await make_site(db, origins=["https://shop.example"])
    assert await _widget_refusal(live_server, listed.site_key, "https://shop.example") is None
    assert "origin_not_allowed" in str(
        await _widget_refusal(live_server, listed.site_key, "https://evil.example")
    )
    assert site.id is not None
    await sites.update_site(db, site_id=site.id, allow_any_origin=True)
    assert await _widget_refusal(live_server, site.site_key, "https://evil.example") is None


async def test_the_admin_pages_warn_about_any_origin(db: Database) -> None:
    site = await sites.create_site(db, name="Open", allow_any_origin=True)
    user = await make_staff(db, roles=[Role.ADMIN])
    admin = {"Authorization": f"Bearer {bearer_for(user)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app()), base_url="http://127.0.0.1"
    ) as client:
        described = (await client.get(f"/api/v1/sites/{site.id}", headers=admin)).json()
        assert described["allow_any_origin"] is True
        await form_login(client, user.email)
        page = await client.get(f"/console/admin/sites/{site.id}?lang=zh")
        assert page.status_code == 200
        assert "rd-any-origin-warning" in page.text and "任何网站都可以嵌入" in page.text


def test_the_cli_asks_for_origins_or_the_explicit_switch(tmp_path: Path) -> None:
    # What the command decides, run in this process (tests/cli.py; the command as a
    # process is tests/api/test_cli.py's).
    cli = ("sites", "create", "--name", "Shop")
    bare = invoke(*cli, data_dir=tmp_path)
    assert bare.returncode == 2 and "--origin" in bare.stderr and "--any-origin" in bare.stderr
    opened = invoke(*cli, "--any-origin", "--json", data_dir=tmp_path)
    assert opened.returncode == 0, opened.stderr


@pytest.mark.parametrize("origin", [None])
async def test_clients_that_are_not_browsers_still_connect(
    db: Database, live_server: str, origin: str | None
) -> None:
    site = await make_site(db)
    peer = await sockets.visitor(live_server, site.site_key)
    await peer.disconnect()
