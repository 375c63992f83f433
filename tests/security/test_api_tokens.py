"""Personal API tokens: shown once, stored hashed, scoped (never beyond the owner's role),
expiring, revocable, REST-only (no cookie, no socket), throttled when guessed at."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
import socketio
from sqlmodel import col, select, update

from relaydesk.accounts import manage, scopes, throttle
from relaydesk.accounts.models import ApiToken
from relaydesk.audit.models import AuditEntry
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role, StaffUser, utcnow
from relaydesk.core.security import CSRF_COOKIE, SESSION_COOKIE
from tests import sockets
from tests.console.test_authz_matrix import api_routes
from tests.factories import PASSWORD, bearer_for, form_login, make_site, make_staff


async def _create(
    client: httpx.AsyncClient, user: StaffUser, scope_list: list[str], **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/me/tokens",
        json={"name": "Zapier", "scopes": scope_list, **extra},
        headers={"Authorization": f"Bearer {bearer_for(user)}"},
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.postgres
async def test_a_token_is_shown_once_and_stored_hashed(db: Database, live_server: str) -> None:
    user = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        created = await _create(client, user, ["knowledge:read"])
        assert created.status_code == 201, created.text
        body = created.json()
        token = body["token"]
        assert token.startswith("rd_pat_") and len(token) == len("rd_pat_") + 43
        assert body["prefix"] == token[:11] and body["scopes"] == ["knowledge:read"]
        expires = body["expires_at"]
        listed = await client.get("/api/v1/auth/me/tokens", headers=_bearer(bearer_for(user)))
        assert [t["id"] for t in listed.json()] == [body["id"]]
        assert "token" not in listed.json()[0] and token not in listed.text
        me = await client.get("/api/v1/auth/me", headers=_bearer(token))
        assert me.status_code == 200 and me.json()["id"] == user.id
    async with db.read() as session:
        row = (await session.execute(select(ApiToken))).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row.model_dump())
    assert row.last_used_at is not None and row.last_used_ip == "127.0.0.1"
    assert expires.startswith(str((utcnow() + timedelta(days=90)).date()))


async def test_scopes_narrow_and_never_exceed_the_role(db: Database, live_server: str) -> None:
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    agent = await make_staff(db, roles=[Role.AGENT], site=site)
    async with httpx.AsyncClient(base_url=live_server) as client:
        # An agent cannot mint an admin (or knowledge-editing) token.
        for beyond in (["admin"], ["knowledge:write"], ["conversations:read", "admin"]):
            refused = await _create(client, agent, beyond)
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "scope_exceeds_role"
        assert (await _create(client, agent, ["made:up"])).status_code == 422
        # An admin's read-only knowledge token reads articles and nothing else.
        reader = (await _create(client, admin, ["knowledge:read"])).json()["token"]
        articles = await client.get("/api/v1/knowledge/articles", headers=_bearer(reader))
        assert articles.status_code == 200
        for method, path, payload in (
            ("POST", "/api/v1/knowledge/articles", {"site_id": site.id, "title": "T", "body": "B"}),
            ("GET", "/api/v1/conversations", None),
            ("GET", "/api/v1/users", None),
            ("GET", f"/api/v1/analytics/overview?site={site.id}", None),
        ):
            denied = await client.request(method, path, json=payload, headers=_bearer(reader))
            assert denied.status_code == 403, (path, denied.text)
            assert denied.json()["error"]["code"] == "insufficient_scope"
        # The agent's own conversations token: their role's limits still apply.
        mine = (await _create(client, agent, ["conversations:write"])).json()["token"]
        assert (await client.get("/api/v1/conversations", headers=_bearer(mine))).status_code == 200
        assert (await client.get("/api/v1/users", headers=_bearer(mine))).status_code == 403
        # An admin-scope token of an agent would still be an agent: the route says no.
        assert (
            await client.post("/api/v1/sites", json={"name": "X"}, headers=_bearer(mine))
        ).status_code == 403


async def test_tokens_cannot_manage_tokens_or_the_password(db: Database, live_server: str) -> None:
    user = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        token = (await _create(client, user, ["admin"])).json()["token"]
        for method, path, payload in (
            ("POST", "/api/v1/auth/me/tokens", {"name": "more", "scopes": ["admin"]}),
            ("GET", "/api/v1/auth/me/tokens", None),
            ("DELETE", "/api/v1/auth/me/tokens/1", None),
            (
                "POST",
                "/api/v1/auth/me/password",
                {"current_password": PASSWORD, "new_password": "x" * 12},
            ),
            ("PATCH", "/api/v1/auth/me", {"name": "Renamed"}),
        ):
            denied = await client.request(method, path, json=payload, headers=_bearer(token))
            assert denied.status_code == 403, (path, denied.text)
            assert denied.json()["error"]["code"] == "session_required"


async def test_tokens_are_for_rest_only(db: Database, live_server: str) -> None:
    user = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        token = (await _create(client, user, ["admin"])).json()["token"]
    # Not as a session cookie (so never with a cookie's CSRF token either)...
    async with httpx.AsyncClient(base_url=live_server, cookies={SESSION_COOKIE: token}) as c:
        assert (await c.get("/api/v1/auth/me")).status_code == 401
        assert (await c.get("/console", follow_redirects=False)).status_code == 303
    # ...nor on the console socket.
    peer = sockets.Peer("/console")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(live_server, {"token": token})


@pytest.mark.postgres
async def test_revoked_and_expired_tokens_stop_working(db: Database, live_server: str) -> None:
    user = await make_staff(db, roles=[Role.ADMIN])
    other = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        first = (await _create(client, user, ["admin"])).json()
        second = (await _create(client, user, ["admin"], expires_in_days=1)).json()
        # Someone else's token is not yours to revoke: the same 404 as a missing one.
        theirs = await client.delete(
            f"/api/v1/auth/me/tokens/{first['id']}", headers=_bearer(bearer_for(other))
        )
        assert theirs.status_code == 404
        gone = await client.delete(
            f"/api/v1/auth/me/tokens/{first['id']}", headers=_bearer(bearer_for(user))
        )
        assert gone.status_code == 204
        revoked = await client.get("/api/v1/auth/me", headers=_bearer(first["token"]))
        assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "invalid_token"
        # Creating and revoking are in the audit log (the refused attempt by `other` is not).
        async with db.read() as session:
            entries = (
                (await session.execute(select(AuditEntry).order_by(col(AuditEntry.id))))
                .scalars()
                .all()
            )
        assert [(e.action, e.actor_id, e.target_id) for e in entries] == [
            ("auth.token_create", user.id, str(first["id"])),
            ("auth.token_create", user.id, str(second["id"])),
            ("auth.token_revoke", user.id, str(first["id"])),
        ]
        assert entries[0].details == {"name": "Zapier", "scopes": ["admin"]}
        assert (
            await client.get("/api/v1/auth/me", headers=_bearer(second["token"]))
        ).status_code == 200
        async with db.write() as session:
            await session.execute(
                update(ApiToken)
                .where(col(ApiToken.id) == second["id"])
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert (
            await client.get("/api/v1/auth/me", headers=_bearer(second["token"]))
        ).status_code == 401


@pytest.mark.postgres
async def test_sign_out_and_password_change_keep_tokens_deactivation_ends_them(
    db: Database, live_server: str
) -> None:
    await make_staff(db, roles=[Role.ADMIN])  # so the user below is not the last admin
    user = await make_staff(db, roles=[Role.ADMIN])
    assert user.id is not None
    async with httpx.AsyncClient(base_url=live_server) as client:
        token = (await _create(client, user, ["admin"])).json()["token"]
        await form_login(client, user.email)
        changed = await client.post(
            "/api/v1/auth/me/password",
            json={"current_password": PASSWORD, "new_password": "another-long-one"},
            headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]},
        )
        assert changed.status_code == 204
        await client.post("/logout", data={"csrf_token": client.cookies[CSRF_COOKIE]})
        assert (await client.get("/api/v1/auth/me", headers=_bearer(token))).status_code == 200
        await manage.update_user(db, user_id=user.id, is_active=False)
        assert (await client.get("/api/v1/auth/me", headers=_bearer(token))).status_code == 401
        # Reactivating the account does not revive its tokens.
        await manage.update_user(db, user_id=user.id, is_active=True)
        assert (await client.get("/api/v1/auth/me", headers=_bearer(token))).status_code == 401
    async with db.read() as session:
        row = (await session.execute(select(ApiToken))).scalar_one()
    assert row.revoked_at is not None


async def test_guessing_tokens_locks_the_address_out(db: Database, live_server: str) -> None:
    user = await make_staff(db, roles=[Role.ADMIN])
    with override_settings(login_max_failures_per_ip=3):
        async with httpx.AsyncClient(base_url=live_server) as client:
            token = (await _create(client, user, ["admin"])).json()["token"]
            guesses = [
                (
                    await client.get("/api/v1/auth/me", headers=_bearer(f"rd_pat_guess{i}"))
                ).status_code
                for i in range(3)
            ]
            assert guesses == [401, 401, 401]
            locked = await client.get("/api/v1/auth/me", headers=_bearer(token))
            assert locked.status_code == 429
            assert locked.json()["error"]["code"] == "too_many_attempts"
            assert int(locked.headers["Retry-After"]) >= 1
    throttle.reset()
    with override_settings(rate_limits="off"):  # load tests: the per-IP lock is off too
        async with httpx.AsyncClient(base_url=live_server) as client:
            for i in range(5):
                wrong = await client.get("/api/v1/auth/me", headers=_bearer(f"rd_pat_x{i}"))
                assert wrong.status_code == 401


def test_every_rest_route_has_a_scope_row() -> None:
    unclassified = sorted(
        f"{method} {path}"
        for method, path in api_routes()
        if path.startswith("/api/v1/")
        and path != "/api/v1/auth/token"
        and scopes.rule_for(path) is None
    )
    assert unclassified == [], f"routes with no row in accounts/scopes.py: {unclassified}"


def test_writing_implies_reading_and_admin_implies_all() -> None:
    assert scopes.grants(["knowledge:write"], scopes.Scope.KNOWLEDGE_READ)
    assert not scopes.grants(["knowledge:read"], scopes.Scope.KNOWLEDGE_WRITE)
    assert not scopes.grants(["conversations:write"], scopes.Scope.KNOWLEDGE_READ)
    assert scopes.grants(["admin"], scopes.Scope.ANALYTICS_READ)
    assert not scopes.grants(["admin"], scopes.SESSION_ONLY)
    assert scopes.allowed_scopes(["editor"]) == {"knowledge:read", "knowledge:write"}


async def test_a_demoted_owner_takes_their_tokens_down_with_them(
    db: Database, live_server: str
) -> None:
    await make_staff(db, roles=[Role.ADMIN])
    user = await make_staff(db, roles=[Role.ADMIN])
    assert user.id is not None
    async with httpx.AsyncClient(base_url=live_server) as client:
        token = (await _create(client, user, ["admin"])).json()["token"]
        assert (await client.get("/api/v1/users", headers=_bearer(token))).status_code == 200
        await manage.update_user(db, user_id=user.id, roles=[Role.AGENT])
        # The row still says `admin`; the owner no longer is one, and the route asks the owner.
        assert (await client.get("/api/v1/users", headers=_bearer(token))).status_code == 403
