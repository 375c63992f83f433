"""A visitor with a real conversation through the real server: messages over the widget
socket, an uploaded file, CSAT; what the privacy tests then export, erase or purge."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from relaydesk.core.db import Database
from relaydesk.core.models import Site, StaffUser
from tests import sockets
from tests.factories import PASSWORD


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 40)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class VisitorWorld:
    peer: sockets.Peer
    visitor_id: str
    token: str
    conversation_id: str
    attachment_id: str


async def visitor_with_data(base: str, site: Site, marker: str) -> VisitorWorld:
    peer = await sockets.visitor(base, site.site_key)
    session = peer.received["session"][0]
    opened = await peer.call("conversation:open", {})
    conversation_id = opened["conversation"]["id"]
    identified = await peer.call(
        "visitor:identify", {"id": "cust-1", "name": "Mia Chen", "email": "mia@example.com"}
    )
    assert identified["ok"], identified
    async with httpx.AsyncClient(base_url=base) as client:
        upload = await client.post(
            f"/api/v1/conversations/{conversation_id}/attachments",
            headers={"Authorization": f"Bearer {session['visitor_token']}"},
            files={"file": ("receipt.png", png(), "image/png")},
        )
    assert upload.status_code == 201, upload.text
    attachment_id = upload.json()["attachment"]["id"]
    sent = await peer.call(
        "message:send",
        {
            "conversation_id": conversation_id,
            "client_id": "m-1",
            "text": f"my order {marker}",
            "attachment_ids": [attachment_id],
        },
    )
    assert sent["ok"], sent
    return VisitorWorld(
        peer, session["visitor_id"], session["visitor_token"], conversation_id, attachment_id
    )


async def admin_client(base: str, admin: StaffUser) -> httpx.AsyncClient:
    """A REST client signed in through the password grant (which the audit log records)."""
    async with httpx.AsyncClient(base_url=base) as client:
        token = await client.post(
            "/api/v1/auth/token", data={"username": admin.email, "password": PASSWORD}
        )
    assert token.status_code == 200, token.text
    return httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )


async def audit_actions(db: Database) -> list[dict[str, Any]]:
    from relaydesk.audit import service

    rows, _ = await service.list_entries(db, where=service.AuditFilter(), limit=1000)
    return [r.model_dump() for r in rows]
