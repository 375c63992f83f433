"""Finding 4: four unauthenticated 100 MB JSON bodies were each read in full before the
401. Now bodies are capped per route before they are read: 413, whether the size is
declared or streamed."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx

from relaydesk.api.body_limit import FORM_OVERHEAD, limit_for
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database

MB = 1024 * 1024
HUNDRED_MB = 100 * MB


async def _open(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(base_url)
    assert parts.hostname and parts.port
    return await asyncio.open_connection(parts.hostname, parts.port)


async def _status(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), timeout=10)
    return int(line.split()[1])


async def test_a_declared_100mb_body_is_refused_before_it_is_read(
    db: Database, live_server: str
) -> None:
    for path in ("/api/v1/knowledge/articles", "/api/v1/auth/token", "/login"):
        reader, writer = await _open(live_server)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {HUNDRED_MB}\r\n\r\n".encode()
            + b"{" * 65536
        )
        await writer.drain()
        started = time.perf_counter()
        assert await _status(reader) == 413
        # Answered at once, with 64 KB of the 100 MB sent.
        assert time.perf_counter() - started < 5
        writer.close()


async def test_a_streamed_100mb_body_is_cut_off_at_the_limit(
    db: Database, live_server: str
) -> None:
    reader, writer = await _open(live_server)
    writer.write(
        b"POST /api/v1/sites HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status = asyncio.create_task(_status(reader))
    chunk = b"x" * 65536
    sent = 0
    while sent < HUNDRED_MB and not status.done():
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sent += len(chunk)
        try:
            await asyncio.wait_for(writer.drain(), timeout=2)
        except (TimeoutError, ConnectionError):
            break  # the server stopped reading: it has answered, or is about to
    assert await status == 413
    # The server stopped at its 1 MB limit; the rest is what the sockets' buffers held.
    assert sent < 32 * MB, sent
    writer.close()


async def test_uploads_and_imports_get_their_own_limits(db: Database, live_server: str) -> None:
    settings = get_settings()
    assert limit_for(settings, "POST", "/api/v1/auth/token") == settings.max_request_bytes
    upload = limit_for(settings, "POST", "/api/v1/conversations/abc/attachments")
    assert upload == settings.attachment_max_bytes + FORM_OVERHEAD
    assert limit_for(settings, "POST", "/api/v1/knowledge/import") == settings.kb_import_max_bytes
    assert limit_for(settings, "PUT", "/api/v1/knowledge/articles/3") == (
        settings.kb_max_request_bytes
    )
    # A body under its route's limit goes through to the route (which refuses the stranger).
    async with httpx.AsyncClient(base_url=live_server) as client:
        small = await client.post("/api/v1/conversations/abc/attachments", content=b"x" * (2 * MB))
        assert small.status_code in (401, 404)
        large = await client.post(
            "/api/v1/auth/token", content=b"x" * (2 * MB), headers={"Content-Type": "text/plain"}
        )
        assert large.status_code == 413
        assert large.json()["error"]["code"] == "request_too_large"
