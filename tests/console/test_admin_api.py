"""REST for users, teams, sites, canned responses and the profile: validation, conflicts,
the last-admin guard, avatars checked by content, remember-me cookies."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from relaydesk.api.app import create_app
from relaydesk.core.db import Database
from relaydesk.core.models import Role, StaffUser
from relaydesk.core.security import CSRF_COOKIE, SESSION_COOKIE
from tests.factories import PASSWORD, bearer_for, default_team, make_site, make_staff


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def auth(user: StaffUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer_for(user)}"}


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


@pytest.mark.postgres
async def test_users_create_edit_deactivate(db: Database, client: httpx.AsyncClient) -> None:
    site = await make_site(db)
    team = await default_team(db, site)
    admin = await make_staff(db, roles=[Role.ADMIN])
    body: dict[str, Any] = {
        "email": "Lee@Acme.example",
        "name": "Lee",
        "password": "long enough pw",
        "roles": ["agent"],
        "team_ids": [team.id],
        "capacity": 3,
    }
    created = await client.post("/api/v1/users", json=body, headers=auth(admin))
    assert created.status_code == 201, created.text
    lee = created.json()
    assert lee["email"] == "lee@acme.example" and lee["team_ids"] == [team.id]
    assert lee["capacity"] == 3 and lee["roles"] == ["agent"] and lee["is_active"] is True
    dup = await client.post("/api/v1/users", json=body, headers=auth(admin))
    assert dup.status_code == 409 and error_code(dup) == "email_taken"
    for bad in (
        {**body, "email": "x@y.z", "password": "short"},
        {**body, "email": "x@y.z", "roles": []},
        {**body, "email": "x@y.z", "roles": ["owner"]},
        {**body, "email": "x@y.z", "capacity": -1},
        {**body, "email": "x@y.z", "extra": 1},
    ):
        refused = await client.post("/api/v1/users", json=bad, headers=auth(admin))
        assert refused.status_code == 422 and error_code(refused) == "invalid_payload", bad
    unknown_team = await client.post(
        "/api/v1/users", json={**body, "email": "t@y.z", "team_ids": [999]}, headers=auth(admin)
    )
    assert unknown_team.status_code == 404 and error_code(unknown_team) == "team_not_found"

    edited = await client.patch(
        f"/api/v1/users/{lee['id']}",
        json={"name": "Lee Chen", "roles": ["agent", "supervisor"], "capacity": 8},
        headers=auth(admin),
    )
    assert edited.status_code == 200
    assert edited.json()["roles"] == ["agent", "supervisor"] and edited.json()["capacity"] == 8
    listed = (await client.get("/api/v1/users", headers=auth(admin))).json()
    assert {u["email"] for u in listed} == {admin.email, "lee@acme.example"}

    token = (
        await client.post(
            "/api/v1/auth/token",
            data={"username": "lee@acme.example", "password": "long enough pw"},
        )
    ).json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["name"] == "Lee Chen"
    off = await client.patch(
        f"/api/v1/users/{lee['id']}", json={"is_active": False}, headers=auth(admin)
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    gone = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
    missing = await client.patch("/api/v1/users/9999", json={"name": "x"}, headers=auth(admin))
    assert missing.status_code == 404


async def test_the_last_admin_keeps_the_admin_role(db: Database, client: httpx.AsyncClient) -> None:
    admin = await make_staff(db, roles=[Role.ADMIN])
    for change in ({"roles": ["agent"]}, {"is_active": False}):
        refused = await client.patch(f"/api/v1/users/{admin.id}", json=change, headers=auth(admin))
        assert refused.status_code == 409 and error_code(refused) == "last_admin"
    second = await make_staff(db, roles=[Role.ADMIN, Role.AGENT])
    demoted = await client.patch(
        f"/api/v1/users/{admin.id}", json={"roles": ["supervisor"]}, headers=auth(admin)
    )
    assert demoted.status_code == 200 and demoted.json()["roles"] == ["supervisor"]
    no_longer = await client.get("/api/v1/users", headers=auth(admin))
    assert no_longer.status_code == 403
    demote_last = await client.patch(
        f"/api/v1/users/{second.id}", json={"roles": ["agent"]}, headers=auth(second)
    )
    assert demote_last.status_code == 409 and error_code(demote_last) == "last_admin"


@pytest.mark.postgres
async def test_teams_and_members(db: Database, client: httpx.AsyncClient) -> None:
    site, other = await make_site(db), await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    lead = await make_staff(db, roles=[Role.SUPERVISOR], site=site)
    agent = await make_staff(db, site=site)
    created = await client.post(
        "/api/v1/teams",
        json={"site_id": site.id, "name": " Billing ", "routing_mode": "manual"},
        headers=auth(admin),
    )
    assert created.status_code == 201, created.text
    billing = created.json()
    assert billing["name"] == "Billing" and billing["routing_mode"] == "manual"
    assert billing["members"] == []
    bad = await client.post(
        "/api/v1/teams", json={"site_id": site.id, "name": ""}, headers=auth(admin)
    )
    assert bad.status_code == 422
    bad_mode = await client.patch(
        f"/api/v1/teams/{billing['id']}", json={"routing_mode": "random"}, headers=auth(admin)
    )
    assert bad_mode.status_code == 422
    no_site = await client.post(
        "/api/v1/teams", json={"site_id": 999, "name": "X"}, headers=auth(admin)
    )
    assert no_site.status_code == 404
    added = await client.put(
        f"/api/v1/teams/{billing['id']}/members/{agent.id}", headers=auth(admin)
    )
    assert [m["id"] for m in added.json()["members"]] == [agent.id]
    again = await client.put(
        f"/api/v1/teams/{billing['id']}/members/{agent.id}", headers=auth(admin)
    )
    assert again.status_code == 200 and len(again.json()["members"]) == 1
    renamed = await client.patch(
        f"/api/v1/teams/{billing['id']}",
        json={"name": "Billing & refunds", "routing_mode": "auto"},
        headers=auth(admin),
    )
    assert (
        renamed.json()["name"] == "Billing & refunds" and renamed.json()["routing_mode"] == "auto"
    )
    removed = await client.delete(
        f"/api/v1/teams/{billing['id']}/members/{agent.id}", headers=auth(admin)
    )
    assert removed.status_code == 204
    twice = await client.delete(
        f"/api/v1/teams/{billing['id']}/members/{agent.id}", headers=auth(admin)
    )
    assert twice.status_code == 404
    # Supervisors read the teams they are in (with members); nobody but admins writes.
    [support] = [
        t
        for t in (await client.get("/api/v1/teams", headers=auth(admin))).json()
        if t["site_id"] == site.id and t["id"] != billing["id"]
    ]
    lead_view = await client.get(f"/api/v1/teams/{support['id']}", headers=auth(lead))
    assert {m["id"] for m in lead_view.json()["members"]} == {lead.id, agent.id}
    assert (
        await client.get(f"/api/v1/teams/{billing['id']}", headers=auth(lead))
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/teams/{support['id']}", headers=auth(agent))
    ).status_code == 404
    assert (
        await client.post(
            "/api/v1/teams", json={"site_id": site.id, "name": "Mine"}, headers=auth(lead)
        )
    ).status_code == 403
    assert (
        await client.patch(f"/api/v1/teams/{support['id']}", json={"name": "x"}, headers=auth(lead))
    ).status_code == 403
    assert other.id is not None


async def test_sites_settings_and_embed_snippet(db: Database, client: httpx.AsyncClient) -> None:
    admin = await make_staff(db, roles=[Role.ADMIN])
    created = await client.post(
        "/api/v1/sites",
        json={
            "name": "Acme",
            "allowed_origins": ["https://Acme.example/shop"],
            "default_locale": "zh",
            "theme": {"color": "#ff6600", "launcher_text": "Chat"},
        },
        headers=auth(admin),
    )
    assert created.status_code == 201, created.text
    site = created.json()
    assert site["allowed_origins"] == ["https://acme.example"]
    assert site["site_key"].startswith("site_")
    assert site["embed_snippet"] == (
        # No PUBLIC_URL and a Host that is not this machine: the configured host and port.
        '<script src="http://127.0.0.1:8000/widget/loader.js" '
        f'data-site-key="{site["site_key"]}" async></script>'
    )
    hours = {"timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "18:00"]]}}
    updated = await client.patch(
        f"/api/v1/sites/{site['id']}",
        json={
            "name": "Acme Shop",
            "business_hours": hours,
            "theme": {"color": "#123456", "greeting": "Hi there!", "position": "left"},
        },
        headers=auth(admin),
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["name"] == "Acme Shop" and body["site_key"] == site["site_key"]
    assert body["business_hours"]["weekly"] == {"mon": [["09:00", "18:00"]]}
    assert body["theme"] == {"color": "#123456", "greeting": "Hi there!", "position": "left"}
    for bad in (
        {"allowed_origins": ["ftp://x"]},
        {"theme": {"color": "red"}},
        {"theme": {"launcher_text": "x" * 41}},
        {"business_hours": {"weekly": {"mon": [["25:00", "18:00"]]}}},
        {"business_hours": {"timezone": "Mars/Base", "weekly": {}}},
        {"business_hours": {"open": "always"}},
        {"default_locale": "fr"},
        {"name": "   "},
    ):
        refused = await client.patch(f"/api/v1/sites/{site['id']}", json=bad, headers=auth(admin))
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["message"], bad
    always = await client.patch(
        f"/api/v1/sites/{site['id']}", json={"business_hours": {}}, headers=auth(admin)
    )
    assert always.json()["business_hours"] == {}
    # Handoff rules are the bot policy of the site, not a copy of it.
    policy = await client.put(
        f"/api/v1/bot/sites/{site['id']}/policy",
        json={"handoff_keywords": ["lawyer"], "low_confidence_turns": 3},
        headers=auth(admin),
    )
    assert policy.status_code == 200 and policy.json()["handoff_keywords"] == ["lawyer"]
    agent = await make_staff(db)
    assert (await client.get("/api/v1/sites", headers=auth(agent))).json() == []
    assert (await client.get(f"/api/v1/sites/{site['id']}", headers=auth(agent))).status_code == 404
    assert (
        await client.patch(f"/api/v1/sites/{site['id']}", json={"name": "x"}, headers=auth(agent))
    ).status_code == 403


@pytest.mark.postgres
async def test_canned_responses_crud(db: Database, client: httpx.AsyncClient) -> None:
    site, other = await make_site(db), await make_site(db)
    lead = await make_staff(db, roles=[Role.SUPERVISOR], site=site)
    agent = await make_staff(db, site=site)
    outsider = await make_staff(db, site=other)
    body = {"site_id": site.id, "shortcut": "ship", "title": "Shipping", "text": "2 days."}
    created = await client.post("/api/v1/canned-responses", json=body, headers=auth(lead))
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["created_by"] == lead.id
    dup = await client.post("/api/v1/canned-responses", json=body, headers=auth(lead))
    assert dup.status_code == 409 and error_code(dup) == "shortcut_taken"
    # The same shortcut on another site is fine.
    admin = await make_staff(db, roles=[Role.ADMIN])
    elsewhere = await client.post(
        "/api/v1/canned-responses", json={**body, "site_id": other.id}, headers=auth(admin)
    )
    assert elsewhere.status_code == 201
    for shortcut in ("Ship", "ship it", "-ship", "ship-", "a" * 33, "", "运费"):
        bad = await client.post(
            "/api/v1/canned-responses",
            json={**body, "shortcut": shortcut},
            headers=auth(lead),
        )
        assert bad.status_code == 422, shortcut
    await client.post(
        "/api/v1/canned-responses",
        json={**body, "shortcut": "shipping-eu", "title": "EU"},
        headers=auth(lead),
    )
    await client.post(
        "/api/v1/canned-responses",
        json={**body, "shortcut": "refund", "title": "Refund"},
        headers=auth(lead),
    )
    listed = await client.get(f"/api/v1/canned-responses?site={site.id}", headers=auth(agent))
    assert [r["shortcut"] for r in listed.json()] == ["refund", "ship", "shipping-eu"]
    prefixed = await client.get(
        f"/api/v1/canned-responses?site={site.id}&prefix=shi", headers=auth(agent)
    )
    assert [r["shortcut"] for r in prefixed.json()] == ["ship", "shipping-eu"]
    # Agents read; only supervisors and admins write; other sites see nothing.
    assert (
        await client.patch(
            f"/api/v1/canned-responses/{row['id']}", json={"title": "x"}, headers=auth(agent)
        )
    ).status_code == 403
    for path in (
        f"/api/v1/canned-responses?site={site.id}",
        f"/api/v1/canned-responses/{row['id']}",
    ):
        assert (await client.get(path, headers=auth(outsider))).status_code == 404
    clash = await client.patch(
        f"/api/v1/canned-responses/{row['id']}", json={"shortcut": "refund"}, headers=auth(lead)
    )
    assert clash.status_code == 409
    edited = await client.patch(
        f"/api/v1/canned-responses/{row['id']}",
        json={"shortcut": "shipping", "text": "Two business days."},
        headers=auth(lead),
    )
    assert edited.json()["shortcut"] == "shipping" and edited.json()["text"] == "Two business days."
    deleted = await client.delete(f"/api/v1/canned-responses/{row['id']}", headers=auth(lead))
    assert deleted.status_code == 204
    assert (
        await client.get(f"/api/v1/canned-responses/{row['id']}", headers=auth(lead))
    ).status_code == 404


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (59, 91, 219)).save(out, format="PNG")
    return out.getvalue()


async def test_profile_name_avatar_and_password(db: Database, client: httpx.AsyncClient) -> None:
    user = await make_staff(db, name="Ava")
    renamed = await client.patch("/api/v1/auth/me", json={"name": "Ava Li"}, headers=auth(user))
    assert renamed.status_code == 200 and renamed.json()["name"] == "Ava Li"
    for bad in ({"name": ""}, {"avatar_url": "javascript:alert(1)"}, {"roles": ["admin"]}):
        refused = await client.patch("/api/v1/auth/me", json=bad, headers=auth(user))
        assert refused.status_code == 422, bad
    linked = await client.patch(
        "/api/v1/auth/me", json={"avatar_url": "https://cdn.example/ava.png"}, headers=auth(user)
    )
    assert linked.json()["avatar_url"] == "https://cdn.example/ava.png"

    uploaded = await client.post(
        "/api/v1/auth/me/avatar",
        files={"file": ("me.txt", _png(), "text/plain")},
        headers=auth(user),
    )
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["avatar_url"]
    assert url.startswith("http://127.0.0.1:8000/avatars/") and url.endswith(".png")
    served = await client.get(url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == _png()
    fake = b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10
    for name, data in (
        ("evil.png", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"),
        ("fake.png", fake),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (600 * 1024)),
        ("empty.png", b""),
    ):
        refused = await client.post(
            "/api/v1/auth/me/avatar", files={"file": (name, data, "image/png")}, headers=auth(user)
        )
        assert refused.status_code == 422, name
        assert error_code(refused) in ("bad_image", "image_too_large"), name
    assert (await client.get("/avatars/..%2Frelaydesk.db")).status_code == 404
    assert (await client.get("/avatars/nothere1234567890abc.png")).status_code == 404
    cleared = await client.patch("/api/v1/auth/me", json={"avatar_url": ""}, headers=auth(user))
    assert cleared.json()["avatar_url"] is None

    wrong = await client.post(
        "/api/v1/auth/me/password",
        json={"current_password": "nope", "new_password": "another long one"},
        headers=auth(user),
    )
    assert wrong.status_code == 401 and error_code(wrong) == "wrong_password"
    weak = await client.post(
        "/api/v1/auth/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=auth(user),
    )
    assert weak.status_code == 422
    changed = await client.post(
        "/api/v1/auth/me/password",
        json={"current_password": PASSWORD, "new_password": "another long one"},
        headers=auth(user),
    )
    assert changed.status_code == 204
    old = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    )
    assert old.status_code == 401
    new = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": "another long one"}
    )
    assert new.status_code == 200


async def _login(client: httpx.AsyncClient, user: StaffUser, remember: bool) -> httpx.Response:
    client.cookies.clear()
    await client.get("/login")
    data = {"email": user.email, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]}
    if remember:
        data["remember"] = "1"
    return await client.post("/login", data=data)


async def test_remember_me_sets_a_lasting_cookie(db: Database, client: httpx.AsyncClient) -> None:
    user = await make_staff(db)
    session_only = await _login(client, user, remember=False)
    cookie = next(
        c for c in session_only.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "max-age" not in cookie.lower() and "expires" not in cookie.lower()
    remembered = await _login(client, user, remember=True)
    cookie = next(
        c for c in remembered.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert f"max-age={14 * 86400}" in cookie.lower() and "httponly" in cookie.lower()
