"""`visitor:identify`: verified with the site's HMAC secret, stored unverified without one,
visible to the agents; and `conversation:open` carries the staff side's read marker."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, Visitor
from relaydesk.sites import identity
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff

SECRET = "s3cret-identity-key-of-the-shop"


def sign(user_id: str) -> str:
    return hmac.new(SECRET.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def stored(db: Database, visitor_id: str) -> Visitor:
    async with db.read() as session:
        visitor = await session.get(Visitor, visitor_id)
    assert visitor is not None
    return visitor


@pytest.mark.postgres
async def test_without_a_secret_identity_is_stored_unverified(
    db: Database, live_server: str
) -> None:
    site = await make_site(db)
    peer = await sockets.visitor(live_server, site.site_key)
    try:
        visitor_id = peer.received["session"][0]["visitor_id"]
        r = await peer.call(
            "visitor:identify", {"id": "u-7", "name": "Mia Chen", "email": "mia@example.com"}
        )
        assert r["ok"], r
        assert r["visitor"]["identity_verified"] is False
        v = await stored(db, visitor_id)
        assert (v.external_id, v.name, v.email, v.identity_verified) == (
            "u-7",
            "Mia Chen",
            "mia@example.com",
            False,
        )
    finally:
        await peer.disconnect()


@pytest.mark.postgres
async def test_with_a_secret_the_hash_must_match(db: Database, live_server: str) -> None:
    site = await make_site(db)
    assert site.id is not None
    await identity.set_identity_secret(db, site_id=site.id, secret=SECRET)
    agent = await make_staff(db, site=site)
    peer = await sockets.visitor(live_server, site.site_key)
    staff = await sockets.staff(live_server, bearer_for(agent))
    try:
        visitor_id = peer.received["session"][0]["visitor_id"]
        conversation_id = (await peer.call("conversation:open", {}))["conversation"]["id"]
        assert (await staff.call("conversation:join", {"conversation_id": conversation_id}))["ok"]
        for bad in (
            {"id": "u-1", "name": "Eve"},
            {"id": "u-1", "user_hash": sign("u-2")},
            {"id": "u-1", "user_hash": "0" * 64},
            {"name": "Eve", "user_hash": sign("u-1")},
        ):
            r = await peer.call("visitor:identify", bad)
            assert not r["ok"] and r["error"]["code"] == "identity_unverified", (bad, r)
        assert (await stored(db, visitor_id)).name is None

        good = {"id": "u-1", "name": "Lee", "email": "lee@example.com", "user_hash": sign("u-1")}
        r = await peer.call("visitor:identify", good)
        assert r["ok"] and r["visitor"]["identity_verified"] is True
        v = await stored(db, visitor_id)
        assert (v.external_id, v.name, v.identity_verified) == ("u-1", "Lee", True)
        # The agents in the conversation see it at once.
        updated = await staff.wait_for("visitor:updated")
        assert updated[0]["visitor"]["name"] == "Lee"
        assert updated[0]["visitor"]["identity_verified"] is True

        # A verified visitor cannot become another account on the same token.
        other = await peer.call("visitor:identify", {"id": "u-9", "user_hash": sign("u-9")})
        assert other["error"]["code"] == "identity_conflict"
        assert (await stored(db, visitor_id)).external_id == "u-1"
    finally:
        await peer.disconnect()
        await staff.disconnect()


async def test_identify_validates_its_payload(db: Database, live_server: str) -> None:
    site = await make_site(db)
    peer = await sockets.visitor(live_server, site.site_key)
    try:
        for bad in (
            {"email": "not an email"},
            {"name": 5},
            {"id": "x" * 201},
            {"nickname": "x"},
            "hello",
        ):
            r = await peer.call("visitor:identify", bad)
            assert not r["ok"] and r["error"]["code"] == "invalid_payload", (bad, r)
        r = await peer.call("visitor:identify", {"name": "bad\x00name"})
        assert r["error"]["code"] == "invalid_text"
    finally:
        await peer.disconnect()


async def test_short_secrets_are_refused(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    with pytest.raises(Exception, match="at least 16"):
        await identity.set_identity_secret(db, site_id=site.id, secret="short")


async def test_open_carries_the_agents_read_marker(db: Database, live_server: str) -> None:
    site = await make_site(db)
    agent = await make_staff(db, site=site)
    peer = await sockets.visitor(live_server, site.site_key)
    token = peer.received["session"][0]["visitor_token"]
    opened = await peer.call("conversation:open", {})
    assert opened["agent_read_seq"] == 0
    cid = opened["conversation"]["id"]
    for n in range(2):
        sent = await peer.call(
            "message:send", {"conversation_id": cid, "client_id": f"v{n}", "text": f"hi {n}"}
        )
        assert sent["ok"]
    staff = await sockets.staff(live_server, bearer_for(agent))
    assert (await staff.call("read", {"conversation_id": cid, "seq": 1}))["ok"]
    await staff.disconnect()
    await peer.disconnect()
    # A reload: a new connection with the same token learns how far the agent has read.
    again = await sockets.visitor(live_server, site.site_key, token)
    try:
        reopened = await again.call("conversation:open", {})
        assert reopened["conversation"]["id"] == cid
        assert reopened["agent_read_seq"] == 1
    finally:
        await again.disconnect()


async def test_admins_rotate_and_clear_the_identity_secret(db: Database, live_server: str) -> None:
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    agent = await make_staff(db, site=site)
    url = f"/api/v1/sites/{site.id}/identity-secret"
    async with httpx.AsyncClient(base_url=live_server) as http:
        denied = await http.post(url, headers={"Authorization": f"Bearer {bearer_for(agent)}"})
        assert denied.status_code == 403
        auth = {"Authorization": f"Bearer {bearer_for(admin)}"}
        made = await http.post(url, headers=auth)
        assert made.status_code == 200
        secret = made.json()["identity_secret"]
        assert len(secret) >= 32
        async with db.read() as session:
            stored_site = await session.get(Site, site.id)
        assert stored_site is not None and stored_site.identity_secret == secret
        assert (
            await http.post("/api/v1/sites/999999/identity-secret", headers=auth)
        ).status_code == 404
        assert (await http.delete(url, headers=auth)).status_code == 204
    async with db.read() as session:
        cleared = await session.get(Site, site.id)
    assert cleared is not None and cleared.identity_secret is None
