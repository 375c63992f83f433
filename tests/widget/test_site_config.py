"""`GET /widget/config`: the site's presentation settings for the widget, validated on the
way out, cacheable, and carrying nothing private."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.bot import service as bot_service
from relaydesk.bot.policy import BotPolicy
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.sites import identity
from relaydesk.sites import service as sites
from relaydesk.widget.site_config import widget_config
from tests.factories import bearer_for, make_site, make_staff

SECRET = "the-identity-secret-of-this-shop"


@pytest.fixture
async def client(db: Database) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app())
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def themed_site(db: Database) -> Site:
    site = await make_site(db, origins=["https://shop.example"])
    assert site.id is not None
    await sites.update_site(
        db,
        site_id=site.id,
        default_locale="zh",
        theme={
            "color": "#0a7d5a",
            "launcher_text": "问问我们",
            "greeting": "您好！有什么可以帮您？",
            "position": "left",
        },
        business_hours={"timezone": "UTC", "weekly": {}},
    )
    await identity.set_identity_secret(db, site_id=site.id, secret=SECRET)
    await bot_service.set_policy(
        db,
        site_id=site.id,
        policy=BotPolicy(handoff_keywords=["private-keyword-refund"]),
    )
    return await sites.get_site(db, site.id)


@pytest.mark.postgres
async def test_config_carries_the_admins_settings_and_nothing_private(
    db: Database, client: httpx.AsyncClient
) -> None:
    site = await themed_site(db)
    response = await client.get(
        "/widget/config",
        params={"site_key": site.site_key},
        headers={"Origin": "https://shop.example"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "site_key": site.site_key,
        "options": {"color": "#0a7d5a", "launcherText": "问问我们", "position": "left"},
        "greeting": {"zh": "您好！有什么可以帮您？"},
        "default_locale": "zh",
        # Business hours with no open day: closed now.
        "open_now": False,
        "attachment_max_bytes": 10 * 1024 * 1024,
    }
    for private in (SECRET, "private-keyword-refund", "shop.example", site.name):
        assert private not in response.text
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Origin" in response.headers["vary"]


async def test_etag_revalidates_and_changes_with_the_settings(
    db: Database, client: httpx.AsyncClient
) -> None:
    site = await make_site(db)
    assert site.id is not None
    first = await client.get("/widget/config", params={"site_key": site.site_key})
    assert first.json()["options"] == {} and first.json()["greeting"] == {}
    assert first.json()["open_now"] is True  # no business hours: always open
    etag = first.headers["etag"]
    same = await client.get(
        "/widget/config", params={"site_key": site.site_key}, headers={"If-None-Match": etag}
    )
    assert same.status_code == 304 and same.content == b""
    await sites.update_site(db, site_id=site.id, theme={"color": "#123"})
    changed = await client.get(
        "/widget/config", params={"site_key": site.site_key}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json()["options"] == {"color": "#123"}
    assert changed.headers["etag"] != etag


async def test_admin_changes_through_rest_reach_the_config(
    db: Database, client: httpx.AsyncClient
) -> None:
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    patched = await client.patch(
        f"/api/v1/sites/{site.id}",
        json={"theme": {"color": "#c2255c", "launcher_text": "Ask us", "greeting": "Hello!"}},
        headers={"Authorization": f"Bearer {bearer_for(admin)}"},
    )
    assert patched.status_code == 200, patched.text
    body = (await client.get("/widget/config", params={"site_key": site.site_key})).json()
    assert body["options"] == {"color": "#c2255c", "launcherText": "Ask us"}
    assert body["greeting"] == {"en": "Hello!"}


async def test_refusals(db: Database, client: httpx.AsyncClient) -> None:
    site = await make_site(db, origins=["https://shop.example"])
    unknown = await client.get("/widget/config", params={"site_key": "no-such-site"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_site"
    assert unknown.headers["cache-control"] == "no-store"
    foreign = await client.get(
        "/widget/config",
        params={"site_key": site.site_key},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "origin_not_allowed"
    for bad in ({}, {"site_key": ""}, {"site_key": "x" * 65}, {"site_key": "<script>"}):
        response = await client.get("/widget/config", params=bad)
        assert response.status_code == 422, bad


async def test_invalid_stored_values_are_left_out(db: Database) -> None:
    """A hand-edited row must not put CSS or markup into the visitor's page."""
    site = await make_site(db)
    assert site.id is not None
    site = await sites.update_site(
        db,
        site_id=site.id,
        theme={
            "color": "red;} body{display:none",
            "launcher_text": "x" * 41,
            "greeting": {"en": "  ", "zh": "你好", "fr": "Bonjour"},
            "position": "top",
            "identity_secret": "leak?",
        },
        business_hours={"weekly": "garbage"},
    )
    config = widget_config(site, now=datetime(2026, 1, 5, 12, tzinfo=UTC))
    assert config.options == {}
    assert config.greeting == {"zh": "你好"}
    assert config.open_now is True  # invalid hours never hide the team
    assert "leak?" not in json.dumps(config.model_dump())


def test_business_hours_decide_open_now() -> None:
    site = Site(
        site_key="k",
        name="Hours",
        business_hours={"timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "18:00"]]}},
    )
    monday_noon_shanghai = datetime(2026, 1, 5, 4, tzinfo=UTC)
    monday_night_shanghai = datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert widget_config(site, now=monday_noon_shanghai).open_now is True
    assert widget_config(site, now=monday_night_shanghai).open_now is False


async def test_config_serves_the_attachment_limit(
    db: Database, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The widget checks files against the server's limit, not a number of its own."""
    monkeypatch.setenv("RELAYDESK_ATTACHMENT_MAX_BYTES", "2097152")
    get_settings.cache_clear()
    try:
        site = await themed_site(db)
        response = await client.get(
            "/widget/config",
            params={"site_key": site.site_key},
            headers={"Origin": "https://shop.example"},
        )
        assert response.json()["attachment_max_bytes"] == 2 * 1024 * 1024
    finally:
        monkeypatch.delenv("RELAYDESK_ATTACHMENT_MAX_BYTES")
        get_settings.cache_clear()
