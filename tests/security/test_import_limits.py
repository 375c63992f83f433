"""Finding 10: knowledge-base import ignored size limits: a 211 KB DOCX became a
61-million-character article (the API limit is 2 million) and the database grew by
122 MB. Now every import path enforces the API's limits."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.knowledge import service
from relaydesk.knowledge.models import MAX_ANSWER_CHARS, MAX_BODY_CHARS, Article, FaqEntry
from tests.factories import make_site
from tests.knowledge.kb_helpers import web_server


def _inflated_docx(paragraphs: int, text: str) -> bytes:
    """A small DOCX whose body repeats one paragraph: compresses ~1000:1."""
    base = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("placeholder")
    document.save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode()
                para = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
                xml = xml.replace("<w:p><w:r><w:t>placeholder</w:t></w:r></w:p>", para * paragraphs)
                data = xml.encode()
            dst.writestr(item, data)
    return out.getvalue()


async def _stored(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        articles = (await session.execute(select(func.count()).select_from(Article))).scalar_one()
        faqs = (await session.execute(select(func.count()).select_from(FaqEntry))).scalar_one()
    return int(articles), int(faqs)


async def _refused(db: Database, site_id: int, name: str, data: bytes) -> str:
    with pytest.raises(DomainError) as caught:
        await service.import_files(db, site_id=site_id, files=[(name, data)], actor=service.SYSTEM)
    return caught.value.code


async def test_a_docx_that_unpacks_past_the_limits_is_refused(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    line = "Refunds are issued within five working days of receiving the item. " * 16
    # Past the article limit once parsed (~2.2 million characters)...
    over_chars = _inflated_docx(2_000, line)
    assert len(over_chars) < 250_000
    assert await _refused(db, site.id, "manual.docx", over_chars) == "too_long"
    # ...and a zip bomb is refused before it is parsed at all.
    bomb = _inflated_docx(75_000, line)
    assert len(bomb) < 1_500_000
    assert await _refused(db, site.id, "bomb.docx", bomb) == "file_too_large"
    assert await _stored(db) == (0, 0)


async def test_text_and_faq_files_get_the_same_limits(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    long_markdown = ("# Manual\n\n" + "word " * (MAX_BODY_CHARS // 5 + 10)).encode()
    assert await _refused(db, site.id, "manual.md", long_markdown) == "too_long"
    faq = json.dumps(
        {"id": "f1", "question": "What?", "answer": "x" * (MAX_ANSWER_CHARS + 1)}
    ).encode()
    # The FAQ parser already refused these; the shared check is the backstop.
    assert await _refused(db, site.id, "faq.jsonl", faq) in ("too_long", "invalid_faq_file")
    assert await _stored(db) == (0, 0)


async def test_url_imports_get_the_same_limits(db: Database, tmp_path: Path) -> None:
    site = await make_site(db)
    assert site.id is not None
    root = tmp_path / "www"
    root.mkdir()
    body = "<p>" + "Gift cards never expire. " * (MAX_BODY_CHARS // 25 + 100) + "</p>"
    (root / "big.html").write_text(f"<html><head><title>Big</title></head><body>{body}</body>")
    with (
        web_server(root) as base,
        override_settings(url_import_allow_private_networks=True),
        pytest.raises(DomainError) as caught,
    ):
        await service.import_url(db, site_id=site.id, url=f"{base}/big.html", actor=service.SYSTEM)
    assert caught.value.code == "too_long"
    assert await _stored(db) == (0, 0)
