"""Attachments: checked by content on upload, carried by messages, served only to the
conversation's participants, with headers that keep the bytes inert."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from relaydesk.attachments import service as attachments
from relaydesk.attachments.content import check_content, clean_filename
from relaydesk.attachments.models import Attachment
from relaydesk.core import crypto
from relaydesk.core.config import get_settings, override_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import InvalidInput
from relaydesk.core.models import Role, Site
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff


def png(size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, "JPEG", quality=80)
    return out.getvalue()


def pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Invoice 1042")
    page.save()
    return out.getvalue()


@dataclass
class Visitor:
    peer: sockets.Peer
    token: str
    conversation_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def new_visitor(base: str, site: Site) -> Visitor:
    peer = await sockets.visitor(base, site.site_key)
    token = peer.received["session"][0]["visitor_token"]
    opened = await peer.call("conversation:open", {})
    return Visitor(peer, token, opened["conversation"]["id"])


@pytest.fixture
async def site(db: Database) -> Site:
    return await make_site(db)


@pytest.fixture
async def visitor(live_server: str, site: Site) -> AsyncIterator[Visitor]:
    v = await new_visitor(live_server, site)
    yield v
    await v.peer.disconnect()


@pytest.fixture
async def http(live_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as client:
        yield client


async def upload(
    http: httpx.AsyncClient,
    conversation_id: str,
    headers: dict[str, str],
    data: bytes,
    name: str = "file.bin",
    mime: str = "application/octet-stream",
) -> httpx.Response:
    return await http.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        headers=headers,
        files={"file": (name, data, mime)},
    )


@pytest.mark.postgres
async def test_visitor_uploads_png_jpeg_and_pdf_and_sends_them(
    db: Database, live_server: str, http: httpx.AsyncClient, visitor: Visitor, site: Site
) -> None:
    ids = []
    for data, name, kind in (
        (png(), "photo.png", "image/png"),
        (jpeg(), "../../etc/cam<era>.JPG", "image/jpeg"),
        (pdf(), "invoice.pdf", "application/pdf"),
    ):
        r = await upload(http, visitor.conversation_id, visitor.auth, data, name)
        assert r.status_code == 201, r.text
        got = r.json()["attachment"]
        assert got["type"] == kind and got["size"] == len(data)
        assert got["url"] == f"/api/v1/attachments/{got['id']}"
        ids.append(got["id"])
        async with db.read() as session:
            row = await session.get(Attachment, got["id"])
        assert row is not None and row.sha256 == hashlib.sha256(data).hexdigest()
        # Stored under the data dir, by our id, never by the visitor's file name, and
        # encrypted (core/crypto.py), bound to this attachment.
        stored = get_settings().data_dir / "attachments" / str(site.id) / got["id"]
        sealed = stored.read_bytes()
        assert sealed != data and data[64:128] not in sealed
        assert crypto.decrypt_bytes(sealed, attachments.file_aad(got["id"])) == data
    names = [
        (await http.get(f"/api/v1/attachments/{i}", headers=visitor.auth)).headers[
            "content-disposition"
        ]
        for i in ids
    ]
    assert names[0].startswith('inline; filename="photo.png"')
    assert names[1].startswith('inline; filename="cam_era.jpg"')
    assert names[2].startswith('attachment; filename="invoice.pdf"')

    other_tab = await sockets.visitor(live_server, site.site_key, token=visitor.token)
    assert (await other_tab.call("conversation:open", {}))["ok"]
    sent = await visitor.peer.call(
        "message:send",
        {
            "conversation_id": visitor.conversation_id,
            "client_id": "att-1",
            "text": "",
            "attachment_ids": ids,
        },
    )
    assert sent["ok"], sent
    message = sent["message"]
    assert [a["id"] for a in message["payload"]["attachments"]] == ids
    assert message["payload"]["text_auto"] is True
    assert message["text"] == "photo.png, cam_era.jpg, invoice.pdf"
    # The fan-out (here to the visitor's second tab) carries the same metadata.
    fanned = await other_tab.wait_for("message:new")
    assert fanned[0]["message"]["payload"]["attachments"][2]["type"] == "application/pdf"
    # A resend with the same client_id returns the original.
    again = await visitor.peer.call(
        "message:send",
        {
            "conversation_id": visitor.conversation_id,
            "client_id": "att-1",
            "text": "",
            "attachment_ids": ids,
        },
    )
    assert again["ok"] and again["duplicate"] and again["message"]["id"] == message["id"]
    await other_tab.disconnect()


async def test_download_headers_keep_the_bytes_inert(
    http: httpx.AsyncClient, visitor: Visitor
) -> None:
    data = png()
    r = await upload(http, visitor.conversation_id, visitor.auth, data, "x.png")
    attachment_id = r.json()["attachment"]["id"]
    got = await http.get(f"/api/v1/attachments/{attachment_id}", headers=visitor.auth)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in got.headers["content-security-policy"]
    assert "sandbox" in got.headers["content-security-policy"]
    assert got.headers["cache-control"].startswith("private")


BAD_UPLOADS: list[tuple[str, bytes, str, int, str]] = [
    ("html named png", b"<html><script>alert(1)</script></html>", "a.png", 422,
     "attachment_type_not_allowed"),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "a.svg", 422,
     "attachment_type_not_allowed"),
    ("exe", b"MZ\x90\x00" + b"\x00" * 100, "a.pdf", 422, "attachment_type_not_allowed"),
    ("empty", b"", "a.png", 422, "attachment_empty"),
    ("truncated png", png()[:40], "a.png", 422, "attachment_invalid_image"),
    ("png header then html", b"\x89PNG\r\n\x1a\n<script>alert(1)</script>", "a.png", 422,
     "attachment_invalid_image"),
    ("truncated pdf", pdf()[:200], "a.pdf", 422, "attachment_invalid_pdf"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "data", "name", "status", "code"), BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS]
)
async def test_bad_files_are_refused_by_content(
    db: Database,
    http: httpx.AsyncClient,
    visitor: Visitor,
    case: str,
    data: bytes,
    name: str,
    status: int,
    code: str,
) -> None:
    r = await upload(http, visitor.conversation_id, visitor.auth, data, name, "image/png")
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    async with db.read() as session:
        assert (await session.get(Attachment, "x")) is None
    assert not (get_settings().data_dir / "attachments").exists() or not any(
        p.is_file() for p in (get_settings().data_dir / "attachments").rglob("*")
    )


async def test_oversize_and_missing_file_are_refused(
    db: Database, http: httpx.AsyncClient, visitor: Visitor
) -> None:
    with override_settings(attachment_max_bytes=1000):
        big = png((400, 400))
        assert len(big) > 1000
        r = await upload(http, visitor.conversation_id, visitor.auth, big, "big.png")
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "attachment_too_large"
        # Declared far past the limit: refused before the body is parsed.
        huge = await upload(http, visitor.conversation_id, visitor.auth, b"x" * 200_000)
        assert huge.status_code == 413
    r = await http.post(
        f"/api/v1/conversations/{visitor.conversation_id}/attachments",
        headers=visitor.auth,
        data={"nofile": "1"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment_missing"


async def test_strangers_can_neither_upload_nor_download(
    db: Database, live_server: str, http: httpx.AsyncClient, visitor: Visitor, site: Site
) -> None:
    r = await upload(http, visitor.conversation_id, visitor.auth, png(), "mine.png")
    attachment_id = r.json()["attachment"]["id"]
    url = f"/api/v1/attachments/{attachment_id}"

    # Another visitor of the same site.
    other = await new_visitor(live_server, site)
    try:
        denied = await upload(http, visitor.conversation_id, other.auth, png())
        assert denied.status_code == 404
        assert denied.json()["error"]["code"] == "conversation_not_found"
        got = await http.get(url, headers=other.auth)
        assert got.status_code == 404 and got.json()["error"]["code"] == "attachment_not_found"
        # Nor may they send a message carrying someone else's attachment.
        sent = await other.peer.call(
            "message:send",
            {
                "conversation_id": other.conversation_id,
                "client_id": "steal",
                "text": "look",
                "attachment_ids": [attachment_id],
            },
        )
        assert not sent["ok"] and sent["error"]["code"] == "attachment_not_found"
    finally:
        await other.peer.disconnect()

    # Staff of another site, and nobody at all.
    elsewhere = await make_site(db)
    outsider = await make_staff(db, site=elsewhere)
    staff_auth = {"Authorization": f"Bearer {bearer_for(outsider)}"}
    assert (await http.get(url, headers=staff_auth)).status_code == 404
    assert (await upload(http, visitor.conversation_id, staff_auth, png())).status_code == 404
    anonymous = await http.get(url)
    assert anonymous.status_code == 401
    forged = {"Authorization": "Bearer not-a-token"}
    assert (await http.get(url, headers=forged)).status_code == 401
    assert (await http.get("/api/v1/attachments/nope", headers=visitor.auth)).status_code == 404


async def test_staff_of_the_site_upload_download_and_send(
    db: Database, live_server: str, http: httpx.AsyncClient, visitor: Visitor, site: Site
) -> None:
    r = await upload(http, visitor.conversation_id, visitor.auth, pdf(), "order.pdf")
    visitor_file = r.json()["attachment"]["id"]
    agent = await make_staff(db, site=site, name="Ava")
    auth = {"Authorization": f"Bearer {bearer_for(agent)}"}
    got = await http.get(f"/api/v1/attachments/{visitor_file}", headers=auth)
    assert got.status_code == 200 and got.content.startswith(b"%PDF-")

    mine = await upload(http, visitor.conversation_id, auth, png(), "label.png")
    assert mine.status_code == 201, mine.text
    staff_file = mine.json()["attachment"]["id"]
    peer = await sockets.staff(live_server, bearer_for(agent))
    try:
        sent = await peer.call(
            "message:send",
            {
                "conversation_id": visitor.conversation_id,
                "client_id": "a-att",
                "text": "Here is your label",
                "attachment_ids": [staff_file],
            },
        )
        assert sent["ok"], sent
        assert sent["message"]["payload"]["attachments"][0]["name"] == "label.png"
        assert "text_auto" not in sent["message"]["payload"]
        # An agent may not pass off the visitor's upload as their own.
        reuse = await peer.call(
            "message:send",
            {
                "conversation_id": visitor.conversation_id,
                "client_id": "a-att-2",
                "text": "x",
                "attachment_ids": [visitor_file],
            },
        )
        assert reuse["error"]["code"] == "attachment_not_found"
    finally:
        await peer.disconnect()
    arrived = await visitor.peer.wait_for("message:new")
    files = arrived[-1]["message"]["payload"]["attachments"]
    assert files[0]["id"] == staff_file
    # The visitor downloads the agent's file with their own token.
    got = await http.get(files[0]["url"], headers=visitor.auth)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"

    # An editor sees the knowledge base, not conversations.
    editor = await make_staff(db, site=site, roles=[Role.EDITOR])
    editor_auth = {"Authorization": f"Bearer {bearer_for(editor)}"}
    assert (await http.get(files[0]["url"], headers=editor_auth)).status_code == 404


async def test_cors_for_the_widget_on_another_origin(
    db: Database, live_server: str, http: httpx.AsyncClient
) -> None:
    site = await make_site(db, origins=["https://shop.example"])
    v = await new_visitor(live_server, site)
    try:
        url = f"/api/v1/conversations/{v.conversation_id}/attachments"
        pre = await http.options(
            url,
            headers={
                "Origin": "https://shop.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "https://shop.example"
        assert "Authorization" in pre.headers["access-control-allow-headers"]
        ok = await upload(http, v.conversation_id, {**v.auth, "Origin": "https://shop.example"},
                          png(), "a.png")  # fmt: skip
        assert ok.status_code == 201
        assert ok.headers["access-control-allow-origin"] == "https://shop.example"
        # A page the site does not allow gets a readable refusal.
        evil = await upload(http, v.conversation_id, {**v.auth, "Origin": "https://evil.example"},
                            png(), "a.png")  # fmt: skip
        assert evil.status_code == 403
        assert evil.json()["error"]["code"] == "origin_not_allowed"
        assert evil.headers["access-control-allow-origin"] == "https://evil.example"
    finally:
        await v.peer.disconnect()


async def test_upload_rate_limit(db: Database, http: httpx.AsyncClient, visitor: Visitor) -> None:
    data = png()
    codes: list[Any] = []
    for _ in range(attachments.UPLOADS_PER_WINDOW + 1):
        r = await upload(http, visitor.conversation_id, visitor.auth, data, "a.png")
        codes.append(r.status_code)
    assert codes[:-1] == [201] * attachments.UPLOADS_PER_WINDOW
    assert codes[-1] == 429


def _image(kind: str, size: tuple[int, int] = (16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, kind)
    return out.getvalue()


def test_content_checks_by_bytes() -> None:
    assert check_content(_image("GIF")) == "image/gif"
    assert check_content(_image("WEBP")) == "image/webp"
    assert check_content(jpeg()) == "image/jpeg"
    assert check_content(pdf()) == "application/pdf"
    # A PNG header on a GIF body is not a PNG.
    lying = b"\x89PNG\r\n\x1a\n" + _image("GIF")[8:]
    for bad, code in (
        (lying, "attachment_invalid_image"),
        (b"%PDF-1.7\n1 0 obj\n", "attachment_invalid_pdf"),
        (b"\xef\xbb\xbf<svg/>", "attachment_type_not_allowed"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_content(bad)
        assert refused.value.code == code


def test_decompression_bombs_are_refused() -> None:
    # A tiny file that would decode to 10⁸ pixels.
    bomb = _image("PNG", (10_000, 10_000))
    assert len(bomb) < 1_000_000
    with pytest.raises(InvalidInput) as refused:
        check_content(bomb)
    assert refused.value.code == "attachment_invalid_image"


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("photo.png", "image/png", "photo.png"),
        ("invoice.exe", "application/pdf", "invoice.pdf"),
        ("../../etc/passwd", "image/png", "passwd.png"),
        ("C:\\Users\\me\\scan.JPG", "image/jpeg", "scan.jpg"),
        ('a"b<c>\r\n.pdf', "application/pdf", "a_b_c.pdf"),
        ("\u202egnp.exe", "image/png", "gnp.png"),
        ("发票 2026.pdf", "application/pdf", "发票 2026.pdf"),
        ("", "image/gif", "file.gif"),
        (None, "image/webp", "file.webp"),
        ("x" * 500 + ".png", "image/png", "x" * 120 + ".png"),
    ],
)
def test_file_names_are_cleaned(name: str | None, kind: str, expected: str) -> None:
    assert clean_filename(name, kind) == expected


async def test_uploads_of_unknown_length_are_refused(
    http: httpx.AsyncClient, visitor: Visitor
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=a.png\r\n\r\n"
        yield png()
        yield b"\r\n--b--\r\n"

    r = await http.post(
        f"/api/v1/conversations/{visitor.conversation_id}/attachments",
        headers={**visitor.auth, "Content-Type": "multipart/form-data; boundary=b"},
        content=chunks(),
    )
    assert r.status_code == 411 and r.json()["error"]["code"] == "length_required"
