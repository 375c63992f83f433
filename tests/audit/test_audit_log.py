"""The audit log: an entry for each staff action listed in issue 14, append-only in the
service layer and in the database (SQLite and PostgreSQL), filters, and a CSV export
that a spreadsheet cannot run as formulas."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from relaydesk.audit import service
from relaydesk.audit.models import AuditEntry
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.core.security import CSRF_COOKIE, CSRF_HEADER
from tests.factories import PASSWORD, default_team, make_site, make_staff
from tests.privacy.helpers import admin_client, audit_actions

pytestmark = pytest.mark.postgres


async def test_append_only_in_service_and_database(db: Database, backend: str) -> None:
    entry = await service.record(db, action="user.roles", actor_email="a@x.test")
    # The ORM refuses first: a changed or deleted entry, or an UPDATE/DELETE statement.
    with pytest.raises(service.AppendOnly):
        async with db.write() as session:
            row = await session.get(AuditEntry, entry.id)
            assert row is not None
            row.action = "nothing.happened"
    for statement in (
        update(AuditEntry).values(action="x"),
        delete(AuditEntry),
    ):
        with pytest.raises(service.AppendOnly):
            async with db.write() as session:
                await session.execute(statement)
    # Below the ORM, the database's triggers refuse too.
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as connection:
                await connection.execute(text(sql))
    if backend == "postgres":
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as connection:
                await connection.execute(text("TRUNCATE audit_log"))
    rows, total = await service.list_entries(db, where=service.AuditFilter())
    assert total == 1 and rows[0].action == "user.roles"


async def test_each_staff_action_is_recorded(db: Database, live_server: str) -> None:
    site = await make_site(db, name="Shop")
    admin = await make_staff(db, roles=[Role.ADMIN], name="Ada")
    agent = await make_staff(db, roles=[Role.AGENT], site=site, name="Ava")
    team = await default_team(db, site)
    async with httpx.AsyncClient(base_url=live_server) as anon:
        bad = await anon.post(
            "/api/v1/auth/token", data={"username": admin.email, "password": "wrong-password"}
        )
        assert bad.status_code == 401
        # The console's sign-in and sign-out pages.
        page = await anon.get("/login")
        csrf = anon.cookies[CSRF_COOKIE]
        signed = await anon.post(
            "/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": csrf}
        )
        assert signed.status_code == 303, page.text
        out = await anon.post("/logout", data={"csrf_token": anon.cookies[CSRF_COOKIE]})
        assert out.status_code == 303
    async with await admin_client(live_server, admin) as client:
        client.headers[CSRF_HEADER] = "unused-with-bearer"
        calls = [
            ("PATCH", f"/api/v1/users/{agent.id}", {"roles": ["agent", "supervisor"]}),
            ("PATCH", f"/api/v1/users/{agent.id}", {"is_active": False}),
            ("PATCH", f"/api/v1/users/{agent.id}", {"is_active": True}),
            ("POST", "/api/v1/teams", {"site_id": site.id, "name": "Night"}),
            ("PATCH", f"/api/v1/teams/{team.id}", {"name": "Day"}),
            ("DELETE", f"/api/v1/teams/{team.id}/members/{agent.id}", None),
            ("PUT", f"/api/v1/teams/{team.id}/members/{agent.id}", None),
            ("POST", "/api/v1/sites", {"name": "Second"}),
            ("PATCH", f"/api/v1/sites/{site.id}", {"allowed_origins": ["https://shop.test"]}),
            ("PATCH", f"/api/v1/sites/{site.id}", {"name": "Shop two"}),
            ("POST", f"/api/v1/sites/{site.id}/identity-secret", None),
            ("DELETE", f"/api/v1/sites/{site.id}/identity-secret", None),
            ("PUT", f"/api/v1/bot/sites/{site.id}/policy", {"handoff_keywords": ["lawyer"]}),
            ("PUT", f"/api/v1/privacy/sites/{site.id}/retention", {"retention_days": 90}),
            (
                "POST",
                "/api/v1/users",
                {"email": "new@x.test", "password": PASSWORD, "roles": ["editor"]},
            ),
        ]
        for method, path, body in calls:
            response = await client.request(method, path, json=body)
            assert response.status_code < 300, (path, response.text)
        identity = await client.post(f"/api/v1/sites/{site.id}/identity-secret")
        secret = identity.json()["identity_secret"]

    entries = await audit_actions(db)
    actions = [e["action"] for e in entries]
    for expected in (
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "user.roles",
        "user.deactivate",
        "user.activate",
        "user.create",
        "team.create",
        "team.update",
        "team.member_add",
        "team.member_remove",
        "site.create",
        "site.origins",
        "site.update",
        "site.identity_secret_rotate",
        "site.identity_secret_clear",
        "settings.change",
        "privacy.retention",
    ):
        assert expected in actions, expected
    failed = next(e for e in entries if e["action"] == "auth.login_failed")
    assert failed["actor_email"] == admin.email and failed["ip"] == "127.0.0.1"
    assert failed["actor_id"] is None
    assert failed["details"] == {"method": "password", "reason": "bad_credentials"}
    roles = next(e for e in entries if e["action"] == "user.roles")
    assert roles["details"]["before"] == ["agent"]
    assert roles["details"]["after"] == ["agent", "supervisor"]
    assert roles["actor_email"] == admin.email and roles["target_id"] == str(agent.id)
    origins = next(e for e in entries if e["action"] == "site.origins")
    assert origins["details"]["allowed_origins"]["after"] == ["https://shop.test"]
    logout = next(e for e in entries if e["action"] == "auth.logout")
    assert logout["actor_email"] == agent.email
    # Secrets never reach the log.
    assert secret not in repr(entries)
    assert PASSWORD not in repr(entries) and "wrong-password" not in repr(entries)


async def test_filters_pagination_and_csv_escaping(db: Database, live_server: str) -> None:
    site = await make_site(db, name="Shop")
    admin = await make_staff(db, roles=[Role.ADMIN])
    for n in range(7):
        await service.record(
            db, action="site.update", actor=admin, site_id=site.id, details={"n": n}
        )
    await service.record(db, action="user.roles", actor_email='=HYPERLINK("http://x")')
    await service.record(
        db, action="user.create", actor_email="+cmd@x.test", details={"name": "-2+3"}
    )
    await service.record(db, action="user.update", actor_email="@sum@x.test", site_id=site.id)
    async with await admin_client(live_server, admin) as client:
        page = (await client.get("/api/v1/audit", params={"site": site.id, "limit": 3})).json()
        assert page["total"] == 8 and len(page["items"]) == 3
        second = (
            await client.get("/api/v1/audit", params={"site": site.id, "limit": 3, "offset": 3})
        ).json()
        assert not {i["id"] for i in page["items"]} & {i["id"] for i in second["items"]}
        family = (await client.get("/api/v1/audit", params={"action": "user"})).json()
        assert {i["action"] for i in family["items"]} == {
            "user.roles",
            "user.create",
            "user.update",
        }
        mine = (await client.get("/api/v1/audit", params={"actor": admin.id})).json()
        assert {i["action"] for i in mine["items"]} == {"site.update", "auth.login"}
        later = (await client.get("/api/v1/audit", params={"since": "2999-01-01"})).json()
        assert later["total"] == 0
        assert (
            await client.get("/api/v1/audit", params={"action": "DROP TABLE"})
        ).status_code == 422

        exported = await client.get("/api/v1/audit.csv", params={"action": "user"})
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 3
        emails = {r["actor_email"] for r in rows}
        assert emails == {'\'=HYPERLINK("http://x")', "'+cmd@x.test", "'@sum@x.test"}
        for row in rows:
            for cell in row.values():
                assert not cell.startswith(("=", "+", "-", "@")), cell
        only_site = await client.get("/api/v1/audit.csv", params={"site": site.id})
        assert len(list(csv.DictReader(io.StringIO(only_site.text)))) == 8
