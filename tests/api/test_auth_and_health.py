"""Staff authentication over REST and the console cookie session; health endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from relaydesk.api.app import create_app
from relaydesk.core import state
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.core.security import CSRF_COOKIE, SESSION_COOKIE
from relaydesk.knowledge import search as knowledge_search
from tests import sockets
from tests.factories import PASSWORD, bearer_for, make_site, make_staff


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_password_grant_issues_a_bearer_token(
    db: Database, client: httpx.AsyncClient
) -> None:
    user = await make_staff(db, roles=[Role.SUPERVISOR])
    response = await client.post(
        "/api/v1/auth/token", data={"username": user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["roles"] == ["supervisor"]


@pytest.mark.parametrize(
    "form",
    [
        {"username": "nobody@example.test", "password": PASSWORD},
        {"username": "EMAIL", "password": "wrong password"},
        {"username": "EMAIL"},
        {},
    ],
)
async def test_bad_logins_are_refused_with_codes(
    db: Database, client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    user = await make_staff(db)
    form = {k: (user.email if v == "EMAIL" else v) for k, v in form.items()}
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code in (401, 422)
    assert response.json()["error"]["code"] in ("bad_credentials", "invalid_payload")


async def test_bad_and_expired_bearer_tokens(db: Database, client: httpx.AsyncClient) -> None:
    user = await make_staff(db)
    for header, code in [
        ("Bearer garbage", "invalid_token"),
        (f"Bearer {bearer_for(user, lifetime=timedelta(seconds=-1))}", "token_expired"),
    ]:
        response = await client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == code
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_console_cookie_login_with_csrf(
    db: Database, client: httpx.AsyncClient, live_server: str
) -> None:
    user = await make_staff(db, site=await make_site(db))
    page = await client.get("/login?lang=zh")
    assert page.status_code == 200 and "登录" in page.text
    csrf = client.cookies[CSRF_COOKIE]
    assert f'value="{csrf}"' in page.text

    forged = await client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 400 and SESSION_COOKIE not in client.cookies
    wrong = await client.post(
        "/login", data={"email": user.email, "password": "nope-nope", "csrf_token": csrf}
    )
    assert wrong.status_code == 401
    ok = await client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf,
            "remember": "1",
            "next": "//evil.example",
        },
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/console"
    assert "httponly" in ok.headers["set-cookie"].lower()
    session_cookie = client.cookies[SESSION_COOKIE]
    home = await client.get("/console")
    assert home.status_code == 200 and user.name in home.text

    # The same cookie opens the /console socket, with the page's CSRF token.
    csrf = client.cookies[CSRF_COOKIE]
    peer = sockets.Peer("/console")
    await peer.connect(
        live_server,
        auth={"csrf": csrf},
        headers={"Cookie": f"{SESSION_COOKIE}={session_cookie}; {CSRF_COOKIE}={csrf}"},
    )
    await peer.disconnect()

    csrf = client.cookies[CSRF_COOKIE]
    out = await client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    client.cookies.delete(SESSION_COOKIE)
    assert (await client.get("/console")).status_code == 303


async def test_health_and_readiness(db: Database, client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    # Not ready while retrieval is still starting (the app's warm-up has not run for this
    # manager): the bot could not answer yet.
    state.current().put(
        knowledge_search.INDEX_MANAGER, knowledge_search.IndexManager(get_settings())
    )
    starting = await client.get("/readyz")
    assert starting.status_code == 503 and starting.json()["status"] == "not ready"
    assert starting.json()["details"]["database"] == "ok"
    assert starting.json()["details"]["retrieval"]["ready"] is False
    await knowledge_search.warm_up(db)
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["details"]["retrieval"]["ready"] is True
    migrations = ready.json()["details"]["migrations"]
    assert migrations["current"] == migrations["heads"] and migrations["heads"]
    async with db.write() as session:
        await session.execute(text("DELETE FROM alembic_version"))
    stale = await client.get("/readyz")
    assert stale.status_code == 503 and stale.json()["status"] == "not ready"
