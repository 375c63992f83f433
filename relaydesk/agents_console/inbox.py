"""The agents' inbox: conversation lists per view, filtered by the conversation policy.

The policy of `relaydesk.conversations.policy.can_view` is expressed as SQL so the database
does the filtering on its indexes (status, site, assignee) and pages stay small; every row
is checked against `can_view` again before it leaves, so SQL and policy can never disagree
in the dangerous direction.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import and_, false, func, or_, true
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from relaydesk.agents_console.inbox_details import (
    EarlierConversation,
    earlier_conversations,
    snippet,
)
from relaydesk.agents_console.inbox_filters import (
    InboxFilters,
    check_filters,
    filter_conditions,
    inbox_filters,
)
from relaydesk.analytics import drill as analytics_drill
from relaydesk.collab.models import LabelPublic
from relaydesk.collab.service import labels_of
from relaydesk.conversations.models import (
    Conversation,
    ConversationStatus,
    Message,
    ReadState,
    SenderKind,
)
from relaydesk.conversations.policy import StaffScope, can_view, load_scope, require_view
from relaydesk.core.db import Database
from relaydesk.core.deps import CurrentUser, DbDep
from relaydesk.core.errors import DomainError, Forbidden, NotFound
from relaydesk.core.models import Role, StaffUser, Visitor

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
FiltersDep = Annotated[InboxFilters, Depends(inbox_filters)]

LIVE = (ConversationStatus.BOT, ConversationStatus.QUEUED)


class InboxView(StrEnum):
    QUEUE = "queue"
    MINE = "mine"
    TEAM = "team"
    ALL = "all"
    RESOLVED = "resolved"


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    http_status = 422


class VisitorBrief(BaseModel):
    id: str
    name: str | None
    email: str | None
    locale: str | None
    # The host page the widget last reported (relaydesk/widget/page.py).
    last_page_url: str | None = None
    last_page_title: str | None = None
    last_seen_at: datetime | None = None


class InboxRow(BaseModel):
    id: str
    site_id: int
    status: str
    assignee_id: int | None
    assignee_name: str | None
    team_id: int | None
    handoff_reason: str | None
    visitor: VisitorBrief
    last_seq: int
    last_message: str | None
    last_sender: str | None
    unread: int
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None
    last_message_at: datetime | None
    labels: list[LabelPublic] = []
    # Only on the single-row endpoint: how far the visitor has read (for read ticks), and
    # the visitor's earlier conversations that the caller may view (newest first).
    visitor_read_seq: int | None = None
    earlier: list[EarlierConversation] | None = None


class InboxPage(BaseModel):
    items: list[InboxRow]
    next_cursor: str | None
    # With a `drill` filter only: how many conversations the whole list holds.
    total: int | None = None


class InboxCounts(BaseModel):
    """Conversations per view (`all` only for supervisors and admins)."""

    queue: int
    mine: int
    team: int
    all: int | None
    resolved: int


def _encode_cursor(updated_at: datetime, conversation_id: str) -> str:
    raw = f"{updated_at.isoformat()}|{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, conversation_id = raw.split("|", 1)
        when = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("the cursor is not valid") from exc
    if when.tzinfo is None or not conversation_id or len(conversation_id) > 64:
        raise InvalidCursor("the cursor is not valid")
    return when, conversation_id


def _visibility(scope: StaffScope) -> ColumnElement[bool]:
    """`can_view` as a SQL condition."""
    if scope.is_admin:
        return true()
    if not scope.handles_conversations or not scope.site_ids:
        return false()
    in_site = col(Conversation.site_id).in_(scope.site_ids)
    in_team = or_(
        col(Conversation.team_id).is_(None), col(Conversation.team_id).in_(scope.team_ids)
    )
    if scope.user.has_role(Role.SUPERVISOR):
        return and_(in_site, in_team)
    return and_(
        in_site,
        or_(
            col(Conversation.assignee_id) == scope.user_id,
            and_(in_team, col(Conversation.status).in_(LIVE)),
        ),
    )


def _view_filter(scope: StaffScope, view: InboxView) -> ColumnElement[bool]:
    if view is InboxView.QUEUE:
        return col(Conversation.status).in_(LIVE)
    if view is InboxView.MINE:
        return and_(
            col(Conversation.assignee_id) == scope.user_id,
            col(Conversation.status) == ConversationStatus.ASSIGNED,
        )
    if view is InboxView.TEAM:
        # Conversations routed to one of the caller's teams (visibility still applies, so
        # an agent sees the team's live ones and their own).
        return and_(
            col(Conversation.team_id).in_(scope.team_ids),
            col(Conversation.status) != ConversationStatus.RESOLVED,
        )
    if view is InboxView.ALL:
        if not scope.user.has_role(Role.ADMIN, Role.SUPERVISOR):
            raise Forbidden("only supervisors and admins see all conversations")
        return col(Conversation.status) != ConversationStatus.RESOLVED
    return col(Conversation.status) == ConversationStatus.RESOLVED


def _row(
    conversation: Conversation,
    visitor: Visitor,
    message: Message | None,
    read_seq: int | None,
    assignee_name: str | None,
) -> InboxRow:
    return InboxRow(
        id=conversation.id,
        site_id=conversation.site_id,
        status=conversation.status,
        assignee_id=conversation.assignee_id,
        assignee_name=assignee_name,
        team_id=conversation.team_id,
        handoff_reason=conversation.handoff_reason,
        visitor=VisitorBrief(
            id=visitor.id,
            name=visitor.name,
            email=visitor.email,
            locale=visitor.locale,
            last_page_url=visitor.last_page_url,
            last_page_title=visitor.last_page_title,
            last_seen_at=visitor.last_seen_at,
        ),
        last_seq=conversation.last_seq,
        last_message=snippet(message),
        last_sender=message.sender_kind if message is not None else None,
        unread=max(0, conversation.last_seq - (read_seq or 0)),
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        queued_at=conversation.queued_at,
        last_message_at=conversation.last_message_at,
    )


def _base_query(scope: StaffScope) -> Any:
    # The latest message through the (conversation_id, seq) unique index; the reader's
    # own read marker through the read_state primary key.
    return (
        sa_select(Conversation, Visitor, Message, col(ReadState.last_read_seq), col(StaffUser.name))
        .join(Visitor, col(Visitor.id) == col(Conversation.visitor_id))
        .outerjoin(
            Message,
            and_(
                col(Message.conversation_id) == col(Conversation.id),
                col(Message.seq) == col(Conversation.last_seq),
            ),
        )
        .outerjoin(
            ReadState,
            and_(
                col(ReadState.conversation_id) == col(Conversation.id),
                col(ReadState.participant_kind) == SenderKind.AGENT,
                col(ReadState.participant_id) == str(scope.user_id),
            ),
        )
        .outerjoin(StaffUser, col(StaffUser.id) == col(Conversation.assignee_id))
    )


async def _filters(
    db: Database, scope: StaffScope, view: InboxView | None, filters: InboxFilters
) -> list[ColumnElement[bool]]:
    """What the caller may see, narrowed to `view` (None: every view) and the filters."""
    if not scope.handles_conversations:
        raise Forbidden("your role has no inbox")
    # Opened but empty conversations stay out of every inbox until their first message.
    conditions = [_visibility(scope), col(Conversation.last_seq) > 0]
    if filters.drill is not None:
        # A figure's conversations, whatever their status: the view does not apply.
        conditions.append(await analytics_drill.condition(db, scope, filters.drill))
    elif view is not None:
        conditions.append(_view_filter(scope, view))
    await check_filters(db, scope, filters)
    return conditions + filter_conditions(filters)


async def count_inbox(
    db: Database, *, scope: StaffScope, filters: InboxFilters | None = None
) -> InboxCounts:
    """Every view's count in one pass over the conversations the caller may see (one
    statement with a FILTER per view, not one scan per view)."""
    lead = scope.user.has_role(Role.ADMIN, Role.SUPERVISOR)
    views = [v for v in InboxView if lead or v is not InboxView.ALL]
    conditions = await _filters(db, scope, None, filters or InboxFilters())
    query = (
        sa_select(*(func.count().filter(_view_filter(scope, v)) for v in views))
        .select_from(Conversation)
        .where(*conditions)
    )
    async with db.read() as session:
        row = (await session.execute(query)).one()
    counts: dict[str, int | None] = {"all": None}
    counts.update({view.value: int(count) for view, count in zip(views, row, strict=True)})
    return InboxCounts.model_validate(counts)


async def _with_labels(db: Database, rows: list[InboxRow]) -> list[InboxRow]:
    found = await labels_of(db, [row.id for row in rows])
    for row in rows:
        row.labels = found[row.id]
    return rows


async def list_inbox(
    db: Database,
    *,
    scope: StaffScope,
    view: InboxView,
    filters: InboxFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> InboxPage:
    conditions = await _filters(db, scope, view, filters or InboxFilters())
    whole = list(conditions)
    if cursor:
        when, after_id = _decode_cursor(cursor)
        conditions.append(
            or_(
                col(Conversation.updated_at) < when,
                and_(col(Conversation.updated_at) == when, col(Conversation.id) < after_id),
            )
        )
    # The page's ids first, from the conversation table alone; then the joins for those
    # rows only. Joining first would join (and sort) every matching conversation.
    page = (
        sa_select(col(Conversation.id))
        .where(*conditions)
        .order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
        .limit(limit + 1)
    )
    async with db.read() as session:
        ids = list((await session.execute(page)).scalars())
        more = len(ids) > limit
        ids = ids[:limit]
        details = _base_query(scope).where(col(Conversation.id).in_(ids))
        found = {row[0].id: row for row in (await session.execute(details)).all()} if ids else {}
    rows = [found[i] for i in ids if i in found]
    items = await _with_labels(db, [_row(*row) for row in rows if can_view(scope, row[0])])
    next_cursor = _encode_cursor(rows[-1][0].updated_at, rows[-1][0].id) if more else None
    total = None
    if filters is not None and filters.drill is not None:
        async with db.read() as session:
            counted = sa_select(func.count()).select_from(Conversation).where(*whole)
            total = int((await session.execute(counted)).scalar_one())
    return InboxPage(items=items, next_cursor=next_cursor, total=total)


async def inbox_row(db: Database, *, scope: StaffScope, conversation_id: str) -> InboxRow:
    query = _base_query(scope).where(col(Conversation.id) == conversation_id)
    async with db.read() as session:
        row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    require_view(scope, row[0])
    conversation: Conversation = row[0]
    async with db.read() as session:
        visitor_read = await session.get(
            ReadState, (conversation.id, SenderKind.VISITOR, conversation.visitor_id)
        )
    result = _row(*row)
    result.visitor_read_seq = visitor_read.last_read_seq if visitor_read is not None else 0
    result.earlier = await earlier_conversations(
        db, scope=scope, conversation=conversation, visible=_visibility(scope)
    )
    return (await _with_labels(db, [result]))[0]


@router.get("", response_model=InboxPage)
async def get_inbox(
    db: DbDep,
    user: CurrentUser,
    filters: FiltersDep,
    view: InboxView = InboxView.QUEUE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> InboxPage:
    """One page of an inbox view, newest activity first; `next_cursor` fetches the next.
    Filters: `site`, `team`, `status`, `label`, `reason` (a handoff reason code; `keyword`
    also matches `keyword:<word>`) and `q`, text that a message or private note of the
    conversation contains (case-insensitive, up to 200 characters)."""
    scope = await load_scope(db, user)
    return await list_inbox(db, scope=scope, view=view, filters=filters, cursor=cursor, limit=limit)


@router.get("/counts", response_model=InboxCounts)
async def get_inbox_counts(db: DbDep, user: CurrentUser, filters: FiltersDep) -> InboxCounts:
    """How many conversations each view holds, with the same filters as the list."""
    scope = await load_scope(db, user)
    return await count_inbox(db, scope=scope, filters=filters)


@router.get("/{conversation_id}", response_model=InboxRow)
async def get_inbox_row(db: DbDep, user: CurrentUser, conversation_id: str) -> InboxRow:
    """One conversation as an inbox row (visitor details, last message, unread count)."""
    scope = await load_scope(db, user)
    if not scope.handles_conversations:
        raise Forbidden("your role has no inbox")
    return await inbox_row(db, scope=scope, conversation_id=conversation_id)
