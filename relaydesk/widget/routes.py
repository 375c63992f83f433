"""HTTP for the widget: its built assets under `/widget/…` and the `/demo` host page.

`loader.js` is the one URL sites embed, so it is cached briefly (a deploy reaches visitors
within minutes); every other asset has a content hash in its name and is cached forever.
Assets are gzipped once in memory and served compressed to clients that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from relaydesk.widget.help import router as help_router
from relaydesk.widget.site_config import router as site_config_router

STATIC_DIR = Path(__file__).parent / "static"
LOADER = "loader.js"
LOADER_CACHE = "public, max-age=300"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.js$")

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
# Before `/widget/{name}`, which would otherwise claim `/widget/config`.
router.include_router(site_config_router)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str


@lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int) -> Asset:
    body = path.read_bytes()
    # mtime=0 keeps the compressed bytes (and so the response) identical across restarts.
    return Asset(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
    )


def asset(name: str) -> Asset | None:
    """The built file `name`, or None for anything that is not a shipped script."""
    if not _NAME.match(name):
        return None
    path = STATIC_DIR / name
    try:
        stat = path.stat()
    except OSError:
        return None
    return _load(path, stat.st_mtime_ns)


def manifest() -> dict[str, object]:
    data: dict[str, object] = json.loads((STATIC_DIR / "manifest.json").read_text())
    return data


def accepts_gzip(header: str | None) -> bool:
    for part in (header or "").split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


@router.api_route("/widget/{name}", methods=["GET", "HEAD"])
async def widget_asset(
    name: str,
    accept_encoding: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    found = asset(name)
    if found is None:
        return Response(
            json.dumps({"error": {"code": "not_found", "message": "no such widget file"}}),
            status_code=404,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
    headers = {
        "Cache-Control": LOADER_CACHE if name == LOADER else IMMUTABLE_CACHE,
        "ETag": found.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # Host pages on any origin load these scripts, also with `crossorigin` or COEP.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if if_none_match and found.etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    body = found.body
    if accepts_gzip(accept_encoding):
        body = found.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers, media_type="text/javascript; charset=utf-8")


@router.get("/demo", response_class=HTMLResponse)
async def demo_page(
    request: Request,
    lang: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """A sample shop page embedding the widget for the demo site (`relaydesk serve`)."""
    locale = "zh" if (lang or "").lower().startswith("zh") else "en"
    return templates.TemplateResponse(
        request,
        "demo.html",
        {"locale": locale, "site_key": "demo-site"},
        headers={"Cache-Control": "no-cache"},
    )


router.include_router(help_router)
