"""The inbox's filters (site, team, status, label, handoff reason, an analytics drill-down)
and its full-text search.

Every filter only narrows what `inbox._visibility` already allows, so a filter can never
widen what a caller sees; the ids a caller names (site, team) are checked against what
they may see first, with the same answer as a missing id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from sqlalchemy import exists, false, or_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from relaydesk.agents_console import inbox_strings  # noqa: F401  (registers the strings)
from relaydesk.analytics import drill as analytics_drill
from relaydesk.collab.models import ConversationLabel
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.policy import StaffScope
from relaydesk.core import blind_index
from relaydesk.core.crypto_models import SearchIndex
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Team

MAX_QUERY = 200
MAX_REASON = 64


@dataclass(frozen=True)
class InboxFilters:
    site_id: int | None = None
    label_id: int | None = None
    team_id: int | None = None
    status: ConversationStatus | None = None
    # A handoff reason code; a bare prefix such as `keyword` also matches `keyword:<word>`.
    reason: str | None = None
    # Words any message or private note of the conversation holds, or its visitor's name
    # or email (case-insensitive; see `_contains`).
    q: str | None = None
    # The conversations behind a dashboard figure (relaydesk/analytics/drill.py).
    drill: analytics_drill.DrillKey | None = None


def inbox_filters(
    site: int | None = None,
    label: int | None = None,
    team: Annotated[int | None, Query(ge=1)] = None,
    status: ConversationStatus | None = None,
    reason: Annotated[
        str | None, Query(min_length=1, max_length=MAX_REASON, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
    drill: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=analytics_drill.MAX_KEY,
            description=(
                "The conversations behind an analytics figure, in any status (the view is"
                " then ignored): a URL-encoded query string `metric=...&site=...` with the"
                " report's `from`, `to`, `tz`, `team`, `agent`, `label`, `channel`, and"
                " `reason` (a handoff reason), `hour` (0-23, with `from` = `to`), `bh=1`"
                " (business hours). The page's `total` is then the figure's count."
            ),
        ),
    ] = None,
) -> InboxFilters:
    """The filter query parameters shared by the list and the counts."""
    text = q.strip() if q else None
    return InboxFilters(
        site_id=site,
        label_id=label,
        team_id=team,
        status=status,
        reason=reason,
        q=text or None,
        drill=analytics_drill.parse(drill) if drill else None,
    )


def _contains(text: str) -> ColumnElement[bool]:
    """Conversations with a message or private note holding every word of `text` (words
    begun, Chinese as written), or whose visitor's name or email does. Message text is
    encrypted, so this matches keyed hashes of tokens (core/blind_index.py)."""
    patterns = blind_index.query_patterns(text)
    if not patterns:
        # Nothing searchable (punctuation only): nothing matches.
        return false()
    # Private notes are staff-only, and so is the inbox: whoever sees the conversation may
    # read its notes.
    in_text = exists().where(
        col(SearchIndex.conversation_id) == col(Conversation.id),
        col(SearchIndex.kind).in_(["message", "note"]),
        *[col(SearchIndex.tokens).like(p) for p in patterns],
    )
    in_visitor = exists().where(
        col(SearchIndex.kind) == "visitor",
        col(SearchIndex.owner_id) == col(Conversation.visitor_id),
        *[col(SearchIndex.tokens).like(p) for p in patterns],
    )
    return or_(in_text, in_visitor)


async def check_filters(db: Database, scope: StaffScope, filters: InboxFilters) -> None:
    """Refuse a site or team the caller may not see, as if it did not exist."""
    if filters.site_id is not None and not (scope.is_admin or filters.site_id in scope.site_ids):
        raise NotFound("no such site", code="site_not_found")
    if filters.team_id is not None:
        async with db.read() as session:
            team = await session.get(Team, filters.team_id)
        if team is None or not (scope.is_admin or team.site_id in scope.site_ids):
            raise NotFound("no such team", code="team_not_found")


def filter_conditions(filters: InboxFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.site_id is not None:
        conditions.append(col(Conversation.site_id) == filters.site_id)
    if filters.team_id is not None:
        conditions.append(col(Conversation.team_id) == filters.team_id)
    if filters.status is not None:
        conditions.append(col(Conversation.status) == filters.status)
    if filters.reason is not None:
        conditions.append(
            or_(
                col(Conversation.handoff_reason) == filters.reason,
                col(Conversation.handoff_reason).startswith(f"{filters.reason}:", autoescape=True),
            )
        )
    if filters.label_id is not None:
        labelled = sa_select(col(ConversationLabel.conversation_id)).where(
            col(ConversationLabel.label_id) == filters.label_id
        )
        conditions.append(col(Conversation.id).in_(labelled))
    if filters.q:
        conditions.append(_contains(filters.q))
    return conditions
