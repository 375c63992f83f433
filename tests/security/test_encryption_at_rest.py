"""Issue 14, acceptance 2: a message's text, a visitor's email and name and an attachment's
bytes, sent through the real server, appear in no byte of the SQLite files (WAL included),
the PostgreSQL data directory or the attachment store, and read back through REST and the
socket, also after `keys rotate` and after a rotation interrupted and resumed."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from reportlab.pdfgen import canvas
from sqlalchemy import text as sql

from relaydesk.attachments import service as attachments
from relaydesk.collab import service as collab
from relaydesk.conversations.policy import load_scope
from relaydesk.core import crypto, rotation
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.testing.servers import PostgresCluster
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff

pytestmark = pytest.mark.postgres


def pdf_with(text: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pageCompression=0)  # the text stays readable in the bytes
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def containing(needles: list[bytes], roots: list[Path]) -> list[str]:
    """Every file under `roots` holding any needle, as 'path: needle'."""
    found = []
    for root in roots:
        for path in files_under(root):
            try:
                data = path.read_bytes()
            except (FileNotFoundError, PermissionError):
                continue  # a file PostgreSQL removed while we walked
            found += [f"{path}: {n!r}" for n in needles if n in data]
    return found


async def storage_roots(db: Database, request: pytest.FixtureRequest, backend: str) -> list[Path]:
    """Every place the data can rest: the test's tmp dir (SQLite db, -wal, -shm, the data
    dir with the attachment store), and on PostgreSQL the cluster's whole data directory
    after a CHECKPOINT, so that what was only in shared buffers reaches the files."""
    roots = [request.getfixturevalue("tmp_path")]
    if backend == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        connection = await asyncpg.connect(cluster.admin_dsn)
        try:
            await connection.execute("CHECKPOINT")
        finally:
            await connection.close()
        roots.append(cluster.data)
    else:
        # The data stays in the WAL until the checkpointer runs: look there too.
        assert any(p.name.endswith("-wal") for p in files_under(roots[0]))
    return roots


@pytest.fixture
async def http(live_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server, timeout=20) as client:
        yield client


async def _read_back(
    http: httpx.AsyncClient,
    live_server: str,
    site: Site,
    *,
    token: str,
    staff: dict[str, str],
    conversation_id: str,
    expect: dict[str, Any],
) -> None:
    # The visitor's socket, on a fresh connection: the whole history.
    peer = await sockets.visitor(live_server, site.site_key, token=token)
    try:
        synced = await peer.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
    finally:
        await peer.disconnect()
    assert synced["ok"], synced
    texts = [m["text"] for m in synced["messages"]]
    assert expect["text"] in texts
    # Staff REST: the inbox row (visitor, last message), the notes, the attachment.
    row = (await http.get(f"/api/v1/conversations/{conversation_id}", headers=staff)).json()
    assert row["visitor"]["email"] == expect["email"]
    assert row["visitor"]["name"] == expect["name"]
    notes = (await http.get(f"/api/v1/conversations/{conversation_id}/notes", headers=staff)).json()
    assert [n["text"] for n in notes] == [expect["note"]]
    got = await http.get(f"/api/v1/attachments/{expect['attachment']}", headers=staff)
    assert got.status_code == 200 and got.content == expect["pdf"]
    # Search through the blind index: a word of the message, the email, a word of the note.
    for q in (expect["word"], expect["email"], "quoted"):
        page = (await http.get("/api/v1/conversations", params={"q": q}, headers=staff)).json()
        assert [c["id"] for c in page["items"]] == [conversation_id], q


async def test_marker_is_nowhere_at_rest_and_reads_back_through_rotations(
    db: Database,
    live_server: str,
    http: httpx.AsyncClient,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    marker = f"zqmarker{uuid.uuid4().hex[:12]}"
    email = f"{marker}@example.com"
    name = f"Ann {marker}x"
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    staff = {"Authorization": f"Bearer {bearer_for(admin)}"}

    peer = await sockets.visitor(live_server, site.site_key)
    token = peer.received["session"][0]["visitor_token"]
    opened = await peer.call("conversation:open", {})
    conversation_id = opened["conversation"]["id"]
    assert (await peer.call("visitor:identify", {"name": name, "email": email}))["ok"]
    text = f"my order code is {marker} please help"
    sent = await peer.call(
        "message:send", {"conversation_id": conversation_id, "client_id": "m1", "text": text}
    )
    assert sent["ok"], sent
    pdf = pdf_with(f"invoice {marker}")
    assert marker.encode() in pdf
    uploaded = await http.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("invoice.pdf", pdf, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment_id = uploaded.json()["attachment"]["id"]
    with_file = await peer.call(
        "message:send",
        {
            "conversation_id": conversation_id,
            "client_id": "m2",
            "text": "see attached",
            "attachment_ids": [attachment_id],
        },
    )
    assert with_file["ok"], with_file
    await peer.disconnect()
    note = f"customer quoted {marker}"
    await collab.add_note(
        db,
        scope=await load_scope(db, admin),
        conversation_id=conversation_id,
        client_id="n1",
        text=note,
    )
    expect = {
        "text": text,
        "email": email,
        "name": name,
        "note": note,
        "attachment": attachment_id,
        "pdf": pdf,
        "word": marker,
    }
    needles = [marker.encode(), marker.encode("utf-16-le")]

    await _read_back(
        http, live_server, site, token=token, staff=staff, conversation_id=conversation_id,
        expect=expect,
    )  # fmt: skip
    roots = await storage_roots(db, request, backend)
    assert containing(needles, roots) == []
    # The control: the scan does see the stored rows (file names are not encrypted).
    assert containing([b"invoice.pdf"], roots)

    # A full rotation: every value moves to the new key, and reads keep working.
    first = crypto.keyring().current
    done = await rotation.rotate(db, await rotation.start(db))
    assert done.finished and done.target_kid != first
    assert done.progress["message"]["done"] >= 2 and done.progress["attachment_files"]["done"] == 1
    assert await _kids(db, conversation_id) == {done.target_kid}
    await _read_back(
        http, live_server, site, token=token, staff=staff, conversation_id=conversation_id,
        expect=expect,
    )  # fmt: skip

    # An interrupted rotation (killed after its first committed chunk of one row), resumed.

    class Killed(Exception):
        pass

    def kill(_status: rotation.RotationStatus) -> None:
        raise Killed

    started = await rotation.start(db)
    with pytest.raises(Killed):
        await rotation.rotate(db, started, on_progress=kill, chunk=1)
    kids = await _kids(db, conversation_id)
    assert kids == {done.target_kid, started.target_kid}  # half way: both keys in use
    # Reads work half way.
    await _read_back(
        http, live_server, site, token=token, staff=staff, conversation_id=conversation_id,
        expect=expect,
    )  # fmt: skip
    resumed = await rotation.start(db)
    assert resumed.id == started.id  # the same rotation, from its checkpoint
    # Its checkpoint: the last row done of the table it stopped in (tables go in the order
    # their models register, so which one that is does not matter here).
    assert any(table.get("after") is not None for table in resumed.progress.values())
    finished = await rotation.rotate(db, resumed, chunk=1)
    assert finished.finished
    assert await _kids(db, conversation_id) == {started.target_kid}
    # Admins see the keys and the rotation's progress over REST (never key material).
    shown = (await http.get("/api/v1/encryption", headers=staff)).json()
    assert shown["current_kid"] == started.target_kid and len(shown["kids"]) == 3
    assert shown["rotation"]["id"] == started.id and shown["rotation"]["finished"]
    assert shown["rotation"]["progress"]["message"]["done"] >= 2
    await _read_back(
        http, live_server, site, token=token, staff=staff, conversation_id=conversation_id,
        expect=expect,
    )  # fmt: skip
    assert containing(needles, await storage_roots(db, request, backend)) == []


async def _kids(db: Database, conversation_id: str) -> set[str | None]:
    """The key ids of the conversation's stored values: messages, visitor, note, file."""
    async with db.read() as session:
        values = list(
            (
                await session.execute(
                    sql(
                        "SELECT text FROM message WHERE conversation_id = :c "
                        "UNION ALL SELECT email FROM visitor WHERE id = "
                        "(SELECT visitor_id FROM conversation WHERE id = :c) "
                        "UNION ALL SELECT text FROM conversation_note WHERE conversation_id = :c"
                    ),
                    {"c": conversation_id},
                )
            ).scalars()
        )
        files = list(
            (
                await session.execute(
                    sql("SELECT id, site_id FROM attachment WHERE conversation_id = :c"),
                    {"c": conversation_id},
                )
            ).all()
        )
    kids = {crypto.kid_of(v) for v in values}
    root = get_settings().data_dir / "attachments"
    kids |= {crypto.kid_of_bytes((root / str(s) / i).read_bytes()) for i, s in files}
    assert attachments.path_of  # the store the files above were read from
    return kids
