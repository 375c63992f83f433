"""Pages from the web: one URL, or a bounded crawl of a sitemap (same host only)."""

from __future__ import annotations

import asyncio
import html
import re
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from relaydesk.knowledge.errors import ImportRefused
from relaydesk.knowledge.importers import netguard
from relaydesk.knowledge.importers.documents import (
    parse_docx,
    parse_html,
    parse_markdown,
    parse_pdf,
    parse_plain_text,
)
from relaydesk.knowledge.importers.types import ParsedArticle, ParsedBatch

FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
CRAWL_DEADLINE_SECONDS = 120.0
CRAWL_CONCURRENCY = 4
MAX_PAGE_BYTES = 10 * 1024 * 1024
MAX_SITEMAPS = 20
USER_AGENT = "RelaydeskImporter/0.1 (+knowledge base import)"
_LOC = re.compile(r"<loc>\s*(.*?)\s*</loc>", re.IGNORECASE | re.DOTALL)


@dataclass
class Fetched:
    url: str  # after redirects
    content_type: str
    data: bytes


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImportRefused(f"not an http(s) URL: {url!r}", code="invalid_url", url=url)
    return url.strip()


async def _public_only(request: httpx.Request) -> None:
    """Refuse a request (the first, and each redirect) to a host that does not resolve to
    public addresses only, before any connection: an editor's import must not reach the
    server's own network (databases, cloud metadata). The connection checks again on the
    address it dials (netguard), which is what defeats DNS rebinding."""
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    await netguard.vetted_addresses(request.url.host, port, str(request.url))


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=FETCH_TIMEOUT,
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        # Connections dial only addresses vetted as public (netguard.py): the first
        # request and every redirect, with no second DNS lookup to rebind.
        transport=netguard.transport(),
        event_hooks={"request": [_public_only]},
    )


async def fetch(http: httpx.AsyncClient, url: str, *, limit: int = MAX_PAGE_BYTES) -> Fetched:
    url = _check_url(url)
    try:
        async with http.stream("GET", url) as response:
            if response.status_code >= 400:
                raise ImportRefused(
                    f"{url} answered HTTP {response.status_code}",
                    code="fetch_failed",
                    url=url,
                    status=response.status_code,
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ImportRefused(f"{url} is too large", code="file_too_large", url=url)
            body = bytearray()
            async for block in response.aiter_bytes():
                body.extend(block)
                if len(body) > limit:
                    raise ImportRefused(f"{url} is too large", code="file_too_large", url=url)
            return Fetched(
                url=str(response.url),
                content_type=response.headers.get("content-type", "").split(";")[0].strip(),
                data=bytes(body),
            )
    except httpx.TimeoutException:
        raise ImportRefused(f"{url} did not answer in time", code="fetch_failed", url=url) from None
    except httpx.HTTPError as exc:
        raise ImportRefused(
            f"{url} could not be fetched ({type(exc).__name__})", code="fetch_failed", url=url
        ) from None


def parse_fetched(page: Fetched) -> ParsedArticle:
    kind = page.content_type.lower()
    path = urlsplit(page.url).path.lower()
    name = page.url
    if kind == "application/pdf" or path.endswith(".pdf"):
        article = parse_pdf(page.data, name=name)
    elif "wordprocessingml" in kind or path.endswith(".docx"):
        article = parse_docx(page.data, name=name)
    elif kind in ("text/markdown", "text/x-markdown") or path.endswith((".md", ".markdown")):
        article = parse_markdown(page.data, name=name)
    elif kind == "text/plain":
        article = parse_plain_text(page.data, name=name)
    elif kind in ("text/html", "application/xhtml+xml", "") or path.endswith((".html", ".htm")):
        article = parse_html(page.data, name=name, url=page.url)
    else:
        raise ImportRefused(
            f"{page.url} is {kind or 'of an unknown type'}, not a page or document",
            code="unsupported_format",
            url=page.url,
        )
    article.source_url = page.url
    article.external_id = None
    return article


async def import_url(url: str) -> ParsedBatch:
    async with client() as http:
        page = await fetch(http, url)
    article = await asyncio.to_thread(parse_fetched, page)
    return ParsedBatch(articles=[article], files=1)


def sitemap_locations(data: bytes) -> tuple[bool, list[str]]:
    """(is a sitemap index, the <loc> URLs), read with a regex: no XML entity expansion."""
    text = data.decode("utf-8", errors="replace")
    if "<urlset" not in text and "<sitemapindex" not in text:
        raise ImportRefused("not a sitemap (no <urlset> or <sitemapindex>)", code="invalid_sitemap")
    return "<sitemapindex" in text, [html.unescape(m) for m in _LOC.findall(text)]


async def crawl_sitemap(
    url: str, *, max_pages: int = 50, deadline_seconds: float = CRAWL_DEADLINE_SECONDS
) -> ParsedBatch:
    """Up to `max_pages` pages on the sitemap's own host; failed pages are skipped and
    listed, a sitemap that cannot be read refuses the whole import."""
    url = _check_url(url)
    host = (urlsplit(url).hostname or "").lower()
    started = time.monotonic()
    batch = ParsedBatch()
    async with client() as http:
        pages: list[str] = []
        pending, seen_maps = [url], 0
        while pending and len(pages) < max_pages and seen_maps < MAX_SITEMAPS:
            sitemap = await fetch(http, pending.pop(0))
            seen_maps += 1
            is_index, locations = sitemap_locations(sitemap.data)
            for location in locations:
                absolute = urljoin(sitemap.url, location)
                if (urlsplit(absolute).hostname or "").lower() != host:
                    batch.skipped.append({"url": absolute, "reason": "other host"})
                    continue
                if is_index:
                    pending.append(absolute)
                elif absolute not in pages and len(pages) < max_pages:
                    pages.append(absolute)
        if not pages:
            raise ImportRefused(f"{url} lists no pages on {host}", code="invalid_sitemap", url=url)

        gate = asyncio.Semaphore(CRAWL_CONCURRENCY)

        async def one(page_url: str) -> ParsedArticle | None:
            async with gate:
                if time.monotonic() - started > deadline_seconds:
                    batch.skipped.append({"url": page_url, "reason": "crawl time limit"})
                    return None
                try:
                    page = await fetch(http, page_url)
                    if (urlsplit(page.url).hostname or "").lower() != host:
                        batch.skipped.append({"url": page_url, "reason": "redirected off host"})
                        return None
                    return await asyncio.to_thread(parse_fetched, page)
                except ImportRefused as exc:
                    batch.skipped.append({"url": page_url, "reason": exc.message})
                    return None

        results = await asyncio.gather(*(one(p) for p in pages))
    batch.articles = [a for a in results if a is not None]
    batch.files = len(batch.articles)
    if not batch.articles:
        raise ImportRefused(
            f"none of the {len(pages)} pages of {url} could be imported",
            code="fetch_failed",
            url=url,
            skipped=batch.skipped[:20],
        )
    return batch
