"""`GET /widget/config?site_key=`: what admins set for a site's widget, for the loader.

The loader fetches this before it draws the launcher, so an admin's colour and launcher
text show without a flash of the default ones. Only presentation settings leave the
server (never the identity secret, the bot policy or the origin list), and each value
passes the same checks as the page's own widget options: a stored value that would not
(an older row, a hand-edited database) is left out rather than sent to the browser.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

from relaydesk.core.config import get_settings
from relaydesk.core.deps import DbDep
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Site
from relaydesk.sites import service as sites
from relaydesk.sites.hours import within_business_hours

log = logging.getLogger(__name__)

# Short: an admin's change reaches visitors within a minute, and `open_now` stays fresh.
CONFIG_CACHE = "public, max-age=60"
SITE_KEY_PATTERN = r"^[\w.:-]{1,64}$"
LOCALES = ("en", "zh")

Color = Annotated[str, StringConstraints(pattern=r"^#([0-9a-fA-F]{3}){1,2}$")]
Position = Literal["right", "left"]


def _text(limit: int) -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=limit)]


# The widget's own option names and rules (widget/src/loader.js), so the loader merges
# them with the page's options without translating or trusting them.
_OPTION_RULES: dict[str, tuple[str, TypeAdapter[Any]]] = {
    "color": ("color", TypeAdapter(Color)),
    "launcher_text": ("launcherText", TypeAdapter(_text(40))),
    "position": ("position", TypeAdapter(Position)),
}
_GREETING: TypeAdapter[str] = TypeAdapter(_text(300))
_LOCALE: TypeAdapter[str] = TypeAdapter(Literal["en", "zh"])


class WidgetSiteConfig(BaseModel):
    """The response body; documented in docs/protocol.md ("Site settings")."""

    site_key: str
    # Keyed by the widget option they set: `color`, `launcherText`, `position`.
    options: dict[str, str]
    # Per locale; the widget shows the one for its own locale, else its built-in text.
    greeting: dict[str, str]
    default_locale: str
    # Inside the site's business hours now (always true without business hours).
    open_now: bool
    # The largest attachment the server takes (RELAYDESK_ATTACHMENT_MAX_BYTES): the
    # widget checks files against it before uploading.
    attachment_max_bytes: int


def _valid(adapter: TypeAdapter[Any], value: Any, *, site: Site, key: str) -> Any | None:
    if value is None:
        return None
    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError:
        log.warning("site %s: invalid widget setting %s ignored", site.site_key, key)
        return None


def widget_config(site: Site, *, now: datetime) -> WidgetSiteConfig:
    theme = site.theme if isinstance(site.theme, dict) else {}
    options: dict[str, str] = {}
    for key, (option, adapter) in _OPTION_RULES.items():
        value = _valid(adapter, theme.get(key), site=site, key=key)
        if value is not None:
            options[option] = value
    locale = _valid(_LOCALE, site.default_locale, site=site, key="default_locale") or "en"
    greeting: dict[str, str] = {}
    stored = theme.get("greeting")
    # Today one greeting, written in the site's default language; a per-locale mapping
    # (`{"en": …, "zh": …}`) is accepted too.
    texts = stored if isinstance(stored, dict) else {locale: stored}
    for lang in LOCALES:
        text = _valid(_GREETING, texts.get(lang), site=site, key=f"greeting.{lang}")
        if text is not None:
            greeting[lang] = text
    hours = site.business_hours if isinstance(site.business_hours, dict) else {}
    return WidgetSiteConfig(
        site_key=site.site_key,
        options=options,
        greeting=greeting,
        default_locale=locale,
        open_now=within_business_hours(hours, now),
        attachment_max_bytes=get_settings().attachment_max_bytes,
    )


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"error": {"code": code, "message": message}}),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"},
    )


router = APIRouter(include_in_schema=False)


@router.get("/widget/config")
async def site_config(
    db: DbDep,
    site_key: Annotated[str, Query(min_length=1, max_length=64, pattern=SITE_KEY_PATTERN)],
    origin: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Public, cacheable, and the same for every visitor of a site (hence an ETag)."""
    try:
        site = await sites.get_site_by_key(db, site_key)
    except NotFound:
        return _error(404, "unknown_site", "unknown site key")
    if not sites.origin_allowed(site, origin):
        return _error(403, "origin_not_allowed", "this origin may not embed the widget")
    body = widget_config(site, now=datetime.now(UTC)).model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {
        "Cache-Control": CONFIG_CACHE,
        "ETag": etag,
        "Vary": "Origin",
        "X-Content-Type-Options": "nosniff",
        # Only allowed origins get this far; an answer to one is fine for any of them.
        "Access-Control-Allow-Origin": "*",
    }
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers, media_type="application/json")
