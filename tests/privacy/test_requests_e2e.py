"""Acceptance 3 of issue 14, end to end through a real server: a visitor's export (the
zip's contents and its receipt), their erasure (socket disconnected, rows and files
gone, receipt), and the audit entries each leaves."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import text

from relaydesk.attachments import service as attachments
from relaydesk.attachments.models import Attachment
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.privacy import erase
from tests.factories import make_site, make_staff
from tests.privacy.helpers import admin_client, audit_actions, png, visitor_with_data

pytestmark = pytest.mark.postgres


async def _rows_about(db: Database, conversation_id: str, visitor_id: str) -> dict[str, int]:
    """Rows left in every per-conversation and per-visitor table."""
    out: dict[str, int] = {}
    async with db.read() as session:
        for table in erase.conversation_tables():
            out[table.name] = (
                await session.execute(
                    text(f"SELECT count(*) FROM {table.name} WHERE conversation_id = :c"),
                    {"c": conversation_id},
                )
            ).scalar_one()
        for table in erase.visitor_tables():
            out[f"{table.name}/visitor"] = (
                await session.execute(
                    text(f"SELECT count(*) FROM {table.name} WHERE visitor_id = :v"),
                    {"v": visitor_id},
                )
            ).scalar_one()
        for name, column, value in (
            ("conversation", "id", conversation_id),
            ("visitor", "id", visitor_id),
            # The blind index of the visitor's name and email (its message rows carry the
            # conversation id and are counted above).
            ("search_index", "owner_id", visitor_id),
        ):
            out[name] = (
                await session.execute(
                    text(f"SELECT count(*) FROM {name} WHERE {column} = :v"), {"v": value}
                )
            ).scalar_one()
    return out


async def test_export_then_erase(db: Database, live_server: str) -> None:
    site = await make_site(db, name="Shop")
    admin = await make_staff(db, roles=[Role.ADMIN], name="Ada")
    world = await visitor_with_data(live_server, site, "MARKER-7731")
    csat = await world.peer.call(
        "csat:submit", {"conversation_id": world.conversation_id, "score": 5, "comment": "great"}
    )
    async with await admin_client(live_server, admin) as client:
        summary = await client.get(f"/api/v1/privacy/visitors/{world.visitor_id}")
        assert summary.status_code == 200
        assert summary.json()["visitor"]["email"] == "mia@example.com"

        # Export: one zip with the profile, the conversation, its messages and the file.
        exported = await client.post(f"/api/v1/privacy/visitors/{world.visitor_id}/export")
        assert exported.status_code == 201, exported.text
        receipt = exported.json()
        assert receipt["kind"] == "export" and receipt["actor_email"] == admin.email
        assert receipt["counts"]["conversations"] == 1
        assert receipt["counts"]["messages"] >= 1
        assert receipt["counts"]["attachments"] == 1 and receipt["files"] == 1
        zipped = await client.get(receipt["download_url"])
        assert zipped.status_code == 200
        assert hashlib.sha256(zipped.content).hexdigest() == receipt["sha256"]
        assert len(zipped.content) == receipt["size"]
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            document = json.loads(archive.read("export.json"))
            names = archive.namelist()
            files = [n for n in names if n.startswith("attachments/")]
            assert len(files) == 1 and archive.read(files[0]) == png()
        assert document["visitor"]["id"] == world.visitor_id
        assert document["visitor"]["email"] == "mia@example.com"
        (conversation,) = document["conversations"]
        assert any("MARKER-7731" in m["text"] for m in conversation["messages"])
        assert conversation["attachments"][0]["filename"] == "receipt.png"
        if csat.get("ok"):
            assert conversation["csat"][0]["score"] == 5
        again = await client.get(f"/api/v1/privacy/receipts/{receipt['id']}")
        assert again.json() == receipt
        export_file = db_path = None
        async with db.read() as session:
            attachment = await session.get(Attachment, world.attachment_id)
        assert attachment is not None
        db_path = attachments.path_of(attachment)
        assert db_path.is_file()

        # Erase: the visitor's socket is closed, every row and file goes.
        assert world.peer.client.connected
        deleted = await client.delete(f"/api/v1/privacy/visitors/{world.visitor_id}")
        assert deleted.status_code == 200, deleted.text
        gone = deleted.json()
        assert gone["kind"] == "delete" and gone["files"] == 1
        assert gone["counts"]["conversation"] == 1 and gone["counts"]["visitor"] == 1
        assert gone["counts"]["message"] >= 1 and gone["counts"]["attachment"] == 1
        assert gone["counts"]["exports"] == 1 and gone["counts"]["sockets"] == 1
        await world.peer.wait_until(lambda: not world.peer.client.connected)
        left = await _rows_about(db, world.conversation_id, world.visitor_id)
        assert set(left.values()) == {0}, left
        assert not db_path.exists()
        # The earlier export's file is gone too; its receipt stays, without a link.
        kept = (await client.get(f"/api/v1/privacy/receipts/{receipt['id']}")).json()
        assert kept["download_url"] is None and kept["sha256"] == receipt["sha256"]
        assert (await client.get(receipt["download_url"])).status_code == 404
        assert (await client.get(f"/api/v1/privacy/visitors/{world.visitor_id}")).status_code == 404
        listed = (await client.get("/api/v1/privacy/receipts")).json()
        assert {r["id"] for r in listed} == {receipt["id"], gone["id"]}
        del export_file

    actions = {(e["action"], e["target_id"]) for e in await audit_actions(db)}
    assert ("privacy.export", world.visitor_id) in actions
    assert ("privacy.delete", world.visitor_id) in actions
    assert ("auth.login", None) in actions
