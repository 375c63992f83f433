"""Finding 5: tokens were never revoked. Logout only deleted the cookie (a copy kept
working for 14 days), tokens survived a password change, and a deactivated agent's open
socket kept receiving new messages. Now a session version on the user is checked on
REST and sockets, and revoking disconnects the user's sockets."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.core.security import CSRF_COOKIE, SESSION_COOKIE
from tests import sockets
from tests.factories import PASSWORD, bearer_for, make_site, make_staff


async def _sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": client.cookies[CSRF_COOKIE]},
    )
    assert response.status_code == 303


async def _me(base_url: str, *, cookie: str | None = None, bearer: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    cookies = {SESSION_COOKIE: cookie} if cookie else {}
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies) as client:
        response = await client.get("/api/v1/auth/me", headers=headers)
        if response.status_code == 401:
            assert response.json()["error"]["code"] in ("session_revoked", "invalid_token")
        return response.status_code


async def test_a_copied_cookie_stops_working_after_logout(db: Database, live_server: str) -> None:
    user = await make_staff(db)
    async with httpx.AsyncClient(base_url=live_server) as client:
        await _sign_in(client, user.email)
        stolen = client.cookies[SESSION_COOKIE]
        assert await _me(live_server, cookie=stolen) == 200
        out = await client.post("/logout", data={"csrf_token": client.cookies[CSRF_COOKIE]})
        assert out.status_code == 303
    assert await _me(live_server, cookie=stolen) == 401
    async with httpx.AsyncClient(base_url=live_server, cookies={SESSION_COOKIE: stolen}) as c:
        assert (await c.get("/console")).status_code == 303  # back to the sign-in page


async def test_a_password_change_signs_out_every_other_session(
    db: Database, live_server: str
) -> None:
    user = await make_staff(db)
    async with httpx.AsyncClient(base_url=live_server) as other:
        token = (
            await other.post(
                "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
            )
        ).json()["access_token"]
    assert await _me(live_server, bearer=token) == 200
    async with httpx.AsyncClient(base_url=live_server) as client:
        await _sign_in(client, user.email)
        old_cookie = client.cookies[SESSION_COOKIE]
        changed = await client.post(
            "/api/v1/auth/me/password",
            json={"current_password": PASSWORD, "new_password": "a-new-passphrase"},
            headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]},
        )
        assert changed.status_code == 204
        # The session that made the change carries on, with a fresh cookie.
        assert (await client.get("/api/v1/auth/me")).status_code == 200
    assert await _me(live_server, bearer=token) == 401
    assert await _me(live_server, cookie=old_cookie) == 401


async def test_a_deactivated_agent_is_disconnected_and_receives_nothing(
    db: Database, live_server: str
) -> None:
    site = await make_site(db)
    agent_user = await make_staff(db, site=site)
    admin = bearer_for(await make_staff(db, roles=[Role.ADMIN]))
    old_token = bearer_for(agent_user)
    agent = await sockets.staff(live_server, old_token)
    gone = asyncio.Event()
    agent.client.on("disconnect", gone.set, namespace="/console")
    visitor = await sockets.visitor(live_server, site.site_key)
    conversation_id = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    assert (await agent.call("conversation:join", {"conversation_id": conversation_id}))["ok"]
    await visitor.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "1", "text": "hi"}
    )
    await agent.wait_for("message:new")

    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.patch(
            f"/api/v1/users/{agent_user.id}",
            json={"is_active": False},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert response.status_code == 200
    await asyncio.wait_for(gone.wait(), timeout=10)
    await visitor.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "2", "text": "private"}
    )
    assert [m["text"] for m in agent.messages()] == ["hi"]
    with pytest.raises(Exception, match="failed to connect"):
        await sockets.staff(live_server, bearer_for(agent_user))
    # Reactivated, the old token is still dead: deactivation bumped the session version.
    async with httpx.AsyncClient(base_url=live_server) as client:
        await client.patch(
            f"/api/v1/users/{agent_user.id}",
            json={"is_active": True},
            headers={"Authorization": f"Bearer {admin}"},
        )
    assert await _me(live_server, bearer=old_token) == 401
    await visitor.disconnect()


async def test_a_revoked_socket_session_is_refused_per_event(
    db: Database, live_server: str
) -> None:
    """Belt and braces for a node that missed the disconnect: every event re-checks."""
    from relaydesk.accounts import sessions

    site = await make_site(db)
    user = await make_staff(db, site=site)
    agent = await sockets.staff(live_server, bearer_for(user))
    assert user.id is not None
    await sessions.bump(db, user_id=user.id)
    ack = await agent.call("conversation:join", {"conversation_id": "x" * 10})
    assert ack["ok"] is False and ack["error"]["code"] == "session_revoked"
    await agent.disconnect()
