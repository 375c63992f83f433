"""Sites (one per website that embeds the widget) and their visitors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from relaydesk.core import blind_index
from relaydesk.core.crypto_models import SearchIndex
from relaydesk.core.db import Database
from relaydesk.core.errors import InvalidInput, NotFound
from relaydesk.core.models import Site, Team, Visitor, utcnow
from relaydesk.core.security import new_site_key


def normalise_origin(origin: str) -> str:
    """`https://Example.com/path` → `https://example.com`; refuses what is not an origin."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not an http(s) origin: {origin!r}", code="invalid_origin")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


async def create_site(
    db: Database,
    *,
    name: str,
    allowed_origins: list[str] | None = None,
    allow_any_origin: bool = False,
    default_locale: str = "en",
    site_key: str | None = None,
    theme: dict[str, Any] | None = None,
    default_team_name: str = "Support",
) -> Site:
    """A site with a fresh public key and a default team for its agents."""
    name = name.strip()
    if not name:
        raise InvalidInput("site name is empty")
    site = Site(
        site_key=site_key or new_site_key(),
        name=name,
        allowed_origins=[normalise_origin(o) for o in allowed_origins or []],
        allow_any_origin=allow_any_origin,
        default_locale=default_locale,
        theme=theme or {},
    )
    async with db.write() as session:
        session.add(site)
        await session.flush()
        assert site.id is not None
        session.add(Team(site_id=site.id, name=default_team_name))
    return site


async def get_site_by_key(db: Database, site_key: str) -> Site:
    async with db.read() as session:
        site = (
            await session.execute(select(Site).where(Site.site_key == site_key))
        ).scalar_one_or_none()
    if site is None:
        raise NotFound("unknown site key", code="unknown_site")
    return site


async def get_site(db: Database, site_id: int) -> Site:
    async with db.read() as session:
        site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("no such site", code="site_not_found")
    return site


async def list_sites(db: Database) -> list[Site]:
    async with db.read() as session:
        return list((await session.execute(select(Site).order_by(Site.id))).scalars())  # type: ignore[arg-type]


def origin_allowed(site: Site, origin: str | None) -> bool:
    """The browser's Origin must match an entry of the allow-list, unless the site has
    the explicit any-origin switch on. An empty list admits no browser (it used to admit
    every one, so a site created without origins could be embedded anywhere). Clients
    that are not browsers send no Origin, and could claim any."""
    if origin is None or site.allow_any_origin:
        return True
    if not site.allowed_origins:
        return False
    try:
        return normalise_origin(origin) in site.allowed_origins
    except InvalidInput:
        return False


async def get_visitor(db: Database, *, visitor_id: str, site_id: int) -> Visitor | None:
    async with db.read() as session:
        visitor = await session.get(Visitor, visitor_id)
    if visitor is None or visitor.site_id != site_id:
        return None
    return visitor


async def find_visitors(
    db: Database, *, site_id: int, query: str, limit: int = 50
) -> list[Visitor]:
    """A site's visitors whose name or email holds every word of `query` (an email whole
    or in part, a name's words begun). Names and emails are encrypted, so this goes
    through the blind index (core/blind_index.py); the rows come back decrypted."""
    patterns = blind_index.query_patterns(query)
    if not patterns:
        return []
    async with db.read() as session:
        rows = await session.execute(
            select(Visitor)
            .join(SearchIndex, col(SearchIndex.owner_id) == col(Visitor.id))
            .where(
                col(Visitor.site_id) == site_id,
                col(SearchIndex.kind) == "visitor",
                *[col(SearchIndex.tokens).like(p) for p in patterns],
            )
            .order_by(col(Visitor.last_seen_at).desc())
            .limit(limit)
        )
        return list(rows.scalars())


async def create_visitor(db: Database, *, site_id: int, locale: str | None) -> Visitor:
    visitor = Visitor(site_id=site_id, locale=locale)
    async with db.write() as session:
        session.add(visitor)
    return visitor


async def ensure_visitor(
    db: Database, *, visitor_id: str, site_id: int, locale: str | None
) -> Visitor:
    """The visitor's row, made now if this is its first real use. A row of the same id on
    another site is refused (ids come from signed tokens, so this means a forged one)."""
    existing = await get_visitor(db, visitor_id=visitor_id, site_id=site_id)
    if existing is not None:
        return existing
    try:
        async with db.write() as session:
            if await session.get(Visitor, visitor_id) is None:
                session.add(Visitor(id=visitor_id, site_id=site_id, locale=locale))
    except IntegrityError:
        pass  # another tab of the same visitor made it first
    visitor = await get_visitor(db, visitor_id=visitor_id, site_id=site_id)
    if visitor is None:
        raise NotFound("no such visitor", code="invalid_token")
    return visitor


async def touch_visitor(db: Database, *, visitor_id: str) -> None:
    async with db.write() as session:
        visitor = await session.get(Visitor, visitor_id)
        if visitor is not None:
            visitor.last_seen_at = utcnow()


async def update_site(
    db: Database,
    *,
    site_id: int,
    name: str | None = None,
    allowed_origins: list[str] | None = None,
    allow_any_origin: bool | None = None,
    default_locale: str | None = None,
    theme: dict[str, Any] | None = None,
    business_hours: dict[str, Any] | None = None,
) -> Site:
    """Change a site's settings; its key never changes (embedded pages carry it)."""
    if name is not None and not name.strip():
        raise InvalidInput("site name is empty")
    origins = (
        sorted({normalise_origin(o) for o in allowed_origins})
        if allowed_origins is not None
        else None
    )
    async with db.write() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound("no such site", code="site_not_found")
        if name is not None:
            site.name = name.strip()
        if origins is not None:
            site.allowed_origins = origins
        if allow_any_origin is not None:
            site.allow_any_origin = allow_any_origin
        if default_locale is not None:
            site.default_locale = default_locale
        if theme is not None:
            site.theme = theme
        if business_hours is not None:
            site.business_hours = business_hours
        session.add(site)
    return site
