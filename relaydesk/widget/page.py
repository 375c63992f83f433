"""`visitor:page`: the host page the visitor is on, so agents see where they ask from.

The widget reports it when it connects and whenever a single-page app navigates. It is a
stranger's claim about their own browser, shown to staff as a link: only http(s) URLs
are kept, and control characters never reach the console.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints

from relaydesk.conversations import visitors
from relaydesk.core.db import Database
from relaydesk.core.errors import InvalidInput, NotFound
from relaydesk.core.models import Visitor, utcnow

MAX_URL = 2000
MAX_TITLE = 300

# All C0/C1 control characters (tab and newline too: a title is one line). Lone
# surrogates never get this far: the payload model refuses them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class VisitorPage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL)]
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE)] | None = None


def clean_page(payload: VisitorPage) -> tuple[str, str | None]:
    """The URL and title to store, or InvalidInput with a precise code."""
    url = _CONTROL.sub("", payload.url).strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput("the page URL is not valid", code="invalid_url") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in url:
        raise InvalidInput("the page URL must be an http or https URL", code="invalid_url")
    title = " ".join(_CONTROL.sub(" ", payload.title or "").split()) or None
    return url, title


async def record_page(
    db: Database, *, site_id: int, visitor_id: str, payload: VisitorPage
) -> Visitor:
    """Keep the visitor's latest page; staff in their recent conversations are told when
    it changed."""
    url, title = clean_page(payload)
    async with db.write() as session:
        visitor = await session.get(Visitor, visitor_id)
        if visitor is None or visitor.site_id != site_id:
            raise NotFound("no such visitor", code="visitor_not_found")
        changed = (visitor.last_page_url, visitor.last_page_title) != (url, title)
        visitor.last_page_url = url
        visitor.last_page_title = title
        visitor.last_seen_at = utcnow()
        conversation_ids = (
            await visitors.recent_conversation_ids(session, visitor_id) if changed else []
        )
    await visitors.announce_visitor(visitor, conversation_ids)
    return visitor
