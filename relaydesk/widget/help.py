"""Public pages for published knowledge-base entries, so that every citation the bot
gives is a link, also for entries with no page of their own on the business's website
(`source_url`). Only published entries of the site are served; drafts are 404s.

The body is Markdown written by the business's editors; it is rendered here as plain
structure (headings, lists, paragraphs) with every piece of text escaped by Jinja, so no
editor's text becomes HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import select

from relaydesk.api.deps import DbDep
from relaydesk.core.models import Site
from relaydesk.knowledge.models import Article, ContentStatus, FaqEntry

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)

_INLINE = re.compile(r"(\*\*|__|`)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass
class Block:
    kind: Literal["h", "p", "ul"]
    text: str = ""
    items: list[str] = field(default_factory=list)


def _plain(text: str) -> str:
    return _INLINE.sub("", _LINK.sub(r"\1", text)).strip()


def blocks(markdown: str) -> list[Block]:
    """Markdown reduced to headings, bullet lists and paragraphs of plain text."""
    out: list[Block] = []
    paragraph: list[str] = []

    def close() -> None:
        if paragraph:
            out.append(Block("p", _plain(" ".join(paragraph))))
            paragraph.clear()

    for line in markdown.splitlines():
        if not line.strip():
            close()
        elif line.lstrip().startswith("#"):
            close()
            out.append(Block("h", _plain(line.lstrip().lstrip("#"))))
        elif _ITEM.match(line):
            close()
            item = _plain(_ITEM.sub("", line))
            if out and out[-1].kind == "ul":
                out[-1].items.append(item)
            else:
                out.append(Block("ul", items=[item]))
        elif out and out[-1].kind == "ul" and line.startswith((" ", "\t")) and not paragraph:
            out[-1].items[-1] += " " + _plain(line)
        else:
            paragraph.append(line.strip())
    close()
    return out


def _not_found() -> Response:
    return HTMLResponse("<!doctype html><title>Not found</title><p>Not found.</p>", 404)


@router.get("/help/{site_key}/{kind}/{entry_id}", response_class=HTMLResponse)
async def help_entry(
    request: Request,
    db: DbDep,
    site_key: Annotated[str, PathParam(max_length=64)],
    kind: Literal["article", "faq"],
    entry_id: int,
) -> Response:
    async with db.read() as session:
        site = (
            await session.execute(select(Site).where(Site.site_key == site_key))
        ).scalar_one_or_none()
        entry: Article | FaqEntry | None = (
            await session.get(Article, entry_id)
            if kind == "article"
            else await session.get(FaqEntry, entry_id)
        )
    if site is None or entry is None or entry.site_id != site.id:
        return _not_found()
    if entry.status != ContentStatus.PUBLISHED:
        return _not_found()
    body = entry.body if isinstance(entry, Article) else entry.answer
    content = blocks(body)
    if content and content[0].kind == "h" and content[0].text == entry.title:
        content = content[1:]
    return templates.TemplateResponse(
        request,
        "help.html",
        {"site": site, "title": entry.title, "blocks": content, "locale": entry.locale},
        headers={"Cache-Control": "public, max-age=300", "Content-Security-Policy": PAGE_CSP},
    )
