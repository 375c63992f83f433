"""Helpers for the knowledge-base service tests: real small files of every format, a
loopback web server, and REST clients."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from relaydesk.core.db import Database
from relaydesk.knowledge import search, service
from relaydesk.knowledge.search import SearchResult


def pdf_bytes(lines: list[str], *, title: str | None = None, password: str | None = None) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, encrypt=password)
    if title:
        pdf.setTitle(title)
    y = 800
    for line in lines:
        pdf.drawString(60, y, line)
        y -= 18
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def docx_bytes(
    title: str, sections: dict[str, list[str]], *, bullets: list[str] | None = None
) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=1)
    for heading, paragraphs in sections.items():
        document.add_heading(heading, level=2)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    for bullet in bullets or []:
        document.add_paragraph(bullet, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def html_page(title: str, heading: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/about'>About us</a></nav>"
        f"<article><h1>{title}</h1><h2>{heading}</h2>{body}</article>"
        "<footer>© Example shop</footer></body></html>"
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def web_server(root: Path) -> Iterator[str]:
    """A static file server for `root` on a free 127.0.0.1 port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def find(db: Database, site_id: int, query: str, k: int = 5) -> SearchResult:
    return await search.search(db, site_id=site_id, query=query, k=k)


async def top_title(db: Database, site_id: int, query: str) -> str | None:
    result = await find(db, site_id, query)
    return result.hits[0].title if result.hits else None


async def titles(db: Database, site_id: int, query: str, k: int = 5) -> list[str]:
    return [h.title for h in (await find(db, site_id, query, k)).hits]


async def import_one(db: Database, site_id: int, name: str, data: bytes) -> object:
    return await service.import_files(
        db, site_id=site_id, files=[(name, data)], actor=service.SYSTEM
    )
