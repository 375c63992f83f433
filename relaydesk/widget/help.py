"""Public pages for published knowledge-base entries, so that every citation the bot
gives is a link, also for entries with no page of their own on the business's website
(`source_url`). Only published entries of the site are served; drafts are 404s.

The body is Markdown written by the business's editors, rendered by the same Markdown
configuration as the widget and the console (relaydesk/core/markdown.py): raw HTML in it
stays text, and only http(s) and mailto links become links.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlmodel import select

from relaydesk.core import markdown
from relaydesk.core.deps import DbDep
from relaydesk.core.models import Site
from relaydesk.knowledge.models import Article, ContentStatus, FaqEntry

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)

_TITLE = re.compile(r"\A\s*#\s+(.+?)\s*#*\s*(?:\n|\Z)")
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def body_html(body: str, title: str) -> Markup:
    """The entry's Markdown as safe HTML (relaydesk/core/markdown.py: raw HTML is text,
    only http(s)/mailto links), without a first heading that repeats the page title."""
    heading = _TITLE.match(body)
    if heading and heading.group(1).strip() == title.strip():
        body = body[heading.end() :]
    return Markup(markdown.render(body))


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
    return templates.TemplateResponse(
        request,
        "help.html",
        {
            "site": site,
            "title": entry.title,
            "body": body_html(body, entry.title),
            "locale": entry.locale,
        },
        headers={"Cache-Control": "public, max-age=300", "Content-Security-Policy": PAGE_CSP},
    )
