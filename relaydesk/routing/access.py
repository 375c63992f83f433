"""Dropping console sockets from a conversation's room when a change takes away their
user's right to see it (an agent it was taken from, the queue's viewers once someone
accepted it, a team it left). Works across nodes: the sockets are found through the
connection tracker and removed through the Socket.IO manager.

Only a change that narrows who may see the conversation can take access away, and the
change itself says from whom (`_who_may_lose`), so most changes (a handoff, a resolve,
a reopen) read nothing at all, and the rest read only the users who may have lost it."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from sqlmodel import col, select

from relaydesk.conversations import hooks
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.policy import StaffScope, can_view
from relaydesk.conversations.schemas import ConversationPublic
from relaydesk.core import realtime
from relaydesk.core.db import Database
from relaydesk.core.models import StaffUser, Team, TeamMember
from relaydesk.routing import presence

_LIVE = (ConversationStatus.BOT, ConversationStatus.QUEUED)
# Every connected user must be checked: the writer did not say what changed, or the change
# took the conversation away from a whole group (the queue's viewers, a team).
_ANYONE: Literal["anyone"] = "anyone"


def _who_may_lose(view: Conversation, before: hooks.Before) -> set[int] | Literal["anyone"]:
    """The users the change may have taken the conversation from (per `can_view`)."""
    if before.status is None:
        return _ANYONE
    left_the_queue = before.status in _LIVE and view.status not in _LIVE
    team_narrowed = view.team_id is not None and view.team_id != before.team_id
    if left_the_queue or team_narrowed:
        return _ANYONE
    if before.assignee_id is not None and before.assignee_id != view.assignee_id:
        return {before.assignee_id}
    return set()


Change = tuple[Conversation | ConversationPublic, hooks.Before]


async def revoke_lost_access(
    db: Database, conversation: Conversation | ConversationPublic, before: hooks.Before
) -> int:
    """Remove from the conversation's room every connected console socket whose user may
    no longer see it after the change from `before`. Returns how many were removed."""
    return await revoke_lost_access_many(db, [(conversation, before)])


async def revoke_lost_access_many(db: Database, changes: list[Change]) -> int:
    """`revoke_lost_access` for several changes (an assignment pass), reading the users
    they may have taken conversations from once."""
    views: list[tuple[Conversation, set[int] | Literal["anyone"]]] = []
    for conversation, before in changes:
        view = Conversation(
            id=conversation.id,
            site_id=conversation.site_id,
            visitor_id=conversation.visitor_id,
            status=conversation.status,
            assignee_id=conversation.assignee_id,
            team_id=conversation.team_id,
        )
        who = _who_may_lose(view, before)
        if who:
            views.append((view, who))
    if not views:
        return 0
    connected = await presence.tracker().users()
    if all(who != _ANYONE for _, who in views):
        candidates = set().union(*(who for _, who in views if who != _ANYONE))
        connected = {u: sids for u, sids in connected.items() if u in candidates}
    if not connected:
        return 0
    scopes = await _scopes(db, list(connected))
    removed = 0
    for view, who in views:
        for user_id, sids in connected.items():
            if who != _ANYONE and user_id not in who:
                continue
            scope = scopes.get(user_id)
            if scope is not None and can_view(scope, view):
                continue
            for sid in sids:
                await realtime.remove_from_conversation(sid, view.id)
                removed += 1
    return removed


async def _scopes(db: Database, user_ids: list[int]) -> dict[int, StaffScope]:
    """The staff scopes of these users, in one read."""
    async with db.read() as session:
        users = (
            await session.execute(select(StaffUser).where(col(StaffUser.id).in_(user_ids)))
        ).scalars()
        memberships = (
            await session.execute(
                select(TeamMember.user_id, Team.id, Team.site_id)
                .join(Team, col(Team.id) == col(TeamMember.team_id))
                .where(col(TeamMember.user_id).in_(user_ids))
            )
        ).all()
        found = list(users)
    team_ids: defaultdict[int, set[int]] = defaultdict(set)
    site_ids: defaultdict[int, set[int]] = defaultdict(set)
    for user_id, team_id, site_id in memberships:
        team_ids[user_id].add(team_id)
        site_ids[user_id].add(site_id)
    return {
        user.id: StaffScope(
            user=user,
            team_ids=frozenset(team_ids[user.id]),
            site_ids=frozenset(site_ids[user.id]),
        )
        for user in found
        if user.id is not None
    }
