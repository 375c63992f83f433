"""The site icon for every page the app serves (console, sign-in, demo, help): browsers ask
for /favicon.ico on their own, and the pages link the SVG."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
# A day: the icon rarely changes, and its URL has no hash to bust a longer cache.
CACHE = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
async def favicon_ico() -> FileResponse:
    # Drawn by tools/favicon.py from the same shapes as favicon.svg.
    return FileResponse(
        STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": CACHE}
    )


@router.get("/favicon.svg")
async def favicon_svg() -> FileResponse:
    return FileResponse(
        STATIC / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": CACHE}
    )
