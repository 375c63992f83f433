"""Finding 2: cross-site WebSocket hijacking of `/console`. A page on another port of the
same host opened the console socket with the admin's cookie (SameSite=Lax rides along on
same-site handshakes), read conversations and wrote as the admin. Now the handshake must
come from the console's origin and carry the page's CSRF token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import socketio

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.core.security import CSRF_COOKIE, SESSION_COOKIE
from tests import sockets
from tests.factories import form_login, make_site, make_staff


@pytest.fixture
async def signed_in(db: Database, live_server: str) -> AsyncIterator[dict[str, str]]:
    """An admin signed in through the real login form: their browser's cookies."""
    user = await make_staff(db, roles=[Role.ADMIN], site=await make_site(db))
    async with httpx.AsyncClient(base_url=live_server) as client:
        await form_login(client, user.email)
        page = await client.get("/console")
        assert page.status_code == 200
        yield {
            "session": client.cookies[SESSION_COOKIE],
            "csrf": client.cookies[CSRF_COOKIE],
        }


def _cookie(jar: dict[str, str]) -> str:
    return f"{SESSION_COOKIE}={jar['session']}; {CSRF_COOKIE}={jar['csrf']}"


async def _refusal(base_url: str, auth: object, headers: dict[str, str]) -> str:
    """The code the server refused the handshake with."""
    peer = sockets.Peer("/console")
    errors: list[object] = []
    peer.client.on("connect_error", errors.append, namespace="/console")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(base_url, auth=auth, headers=dict(headers))
    assert errors, "the connection was refused without a reason"
    return str(errors[0])


async def test_a_page_on_another_port_cannot_open_the_console(
    live_server: str, signed_in: dict[str, str]
) -> None:
    evil = live_server.rsplit(":", 1)[0] + ":9"  # same host, another port: same site
    # The attack as found: the browser sends the cookies, the page sends no token.
    message = await _refusal(live_server, None, {"Cookie": _cookie(signed_in), "Origin": evil})
    assert "origin_not_allowed" in message
    # Even a page that somehow knew the CSRF token is refused from a foreign origin.
    message = await _refusal(
        live_server, {"csrf": signed_in["csrf"]}, {"Cookie": _cookie(signed_in), "Origin": evil}
    )
    assert "origin_not_allowed" in message


async def test_the_cookie_alone_no_longer_opens_the_console(
    live_server: str, signed_in: dict[str, str]
) -> None:
    own = {"Cookie": _cookie(signed_in), "Origin": live_server}
    assert "csrf_failed" in await _refusal(live_server, None, own)
    assert "csrf_failed" in await _refusal(live_server, {"csrf": "guessed"}, own)
    # The console page itself: same origin, and the token from its meta tag.
    peer = sockets.Peer("/console")
    await peer.connect(live_server, auth={"csrf": signed_in["csrf"]}, headers=dict(own))
    assert peer.client.connected
    await peer.disconnect()


async def test_a_proxy_origin_can_be_allowed_by_setting(
    live_server: str, signed_in: dict[str, str]
) -> None:
    headers = {"Cookie": _cookie(signed_in), "Origin": "https://support.example.com"}
    assert "origin_not_allowed" in await _refusal(live_server, {"csrf": signed_in["csrf"]}, headers)
    with override_settings(console_origins="https://support.example.com"):
        peer = sockets.Peer("/console")
        await peer.connect(live_server, auth={"csrf": signed_in["csrf"]}, headers=dict(headers))
        await peer.disconnect()
    with override_settings(public_url="https://support.example.com/"):
        peer = sockets.Peer("/console")
        await peer.connect(live_server, auth={"csrf": signed_in["csrf"]}, headers=dict(headers))
        await peer.disconnect()
