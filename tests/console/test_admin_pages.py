"""The admin and profile pages: both languages, every string translated, the embed
snippet on the public URL, and canned responses that a supervisor may edit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.i18n import MESSAGES
from relaydesk.core.models import Role, StaffUser
from relaydesk.core.security import CSRF_COOKIE
from tests.factories import PASSWORD, make_site, make_staff

TEMPLATES = Path(__file__).resolve().parents[2] / "relaydesk" / "agents_console" / "templates"


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app.api)
    # https, as PUBLIC_URL says below: cookies are Secure then, and only sent over https.
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


async def _sign_in(client: httpx.AsyncClient, user: StaffUser, lang: str = "en") -> None:
    client.cookies.clear()
    await client.get(f"/login?lang={lang}")
    signed = await client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]},
    )
    assert signed.status_code == 303


def test_every_template_string_exists_in_both_languages() -> None:
    create_app()  # registers the admin strings
    used: set[str] = set()
    for template in [*TEMPLATES.glob("admin/*.html"), TEMPLATES / "profile.html"]:
        used |= set(re.findall(r"t\('([a-z_.]+)'\)", template.read_text(encoding="utf-8")))
    assert len(used) > 60
    for locale in ("en", "zh"):
        missing = sorted(k for k in used if k not in MESSAGES[locale])
        assert not missing, (locale, missing)
    admin_keys = {k for k in MESSAGES["en"] if k.startswith(("admin.", "profile."))}
    assert admin_keys <= set(MESSAGES["zh"])
    assert all(MESSAGES["zh"][k] != MESSAGES["en"][k] for k in admin_keys if k != "admin.copy")


async def test_admin_pages_in_english_and_chinese(db: Database, client: httpx.AsyncClient) -> None:
    site = await make_site(db, name="Acme")
    admin = await make_staff(db, roles=[Role.ADMIN])
    with override_settings(public_url="https://chat.acme.example/"):
        await _sign_in(client, admin, "zh")
        page = await client.get(f"/console/admin/sites/{site.id}")
        assert page.status_code == 200
        assert "嵌入代码" in page.text and "营业时间" in page.text and "转人工关键词" in page.text
        snippet = (
            "&lt;script src=&#34;https://chat.acme.example/widget/loader.js&#34; "
            f"data-site-key=&#34;{site.site_key}&#34; async&gt;&lt;/script&gt;"
        )
        assert snippet in page.text
        english = await client.get(f"/console/admin/sites/{site.id}?lang=en")
        assert "Embed snippet" in english.text and "Business hours" in english.text
    for path, words in (
        ("/console/admin/users", ("Add a user", admin.email)),
        ("/console/admin/teams", ("Add a team", "Support")),
        ("/console/admin/canned", ("Add a canned response", "Acme")),
        ("/console/profile", ("Change password", admin.name)),
    ):
        shown = await client.get(path)
        assert shown.status_code == 200
        for word in words:
            assert word in shown.text, (path, word)
        script = shown.text.split('<script src="')[-1].split('"')[0]
        assert script.startswith("/console/static/admin.")
        assert (await client.get(script)).status_code == 200
    assert (await client.get("/console/admin/users/999")).status_code == 404
    assert (await client.get("/console/admin")).headers["location"] == "/console/admin/users"


async def test_supervisor_sees_canned_and_own_teams_only(
    db: Database, client: httpx.AsyncClient
) -> None:
    site, other = await make_site(db, name="Mine"), await make_site(db, name="Theirs")
    lead = await make_staff(db, roles=[Role.SUPERVISOR], site=site)
    await _sign_in(client, lead)
    assert (await client.get("/console/admin")).headers["location"] == "/console/admin/canned"
    canned = await client.get(f"/console/admin/canned?site={other.id}")
    # Another site's id falls back to the supervisor's own site.
    assert canned.status_code == 200 and "Add a canned response" in canned.text
    assert "Theirs" not in canned.text
    teams = await client.get("/console/admin/teams")
    assert teams.status_code == 200 and "read-only" in teams.text
    assert "Add a team" not in teams.text and "/console/admin/teams/" not in teams.text
    assert (await client.get("/console/admin/users")).status_code == 403
    agent = await make_staff(db, site=site)
    await _sign_in(client, agent)
    denied = await client.get("/console/admin/canned")
    assert denied.status_code == 403 and "Not allowed" in denied.text
