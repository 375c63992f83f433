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
from relaydesk.conversations.policy import StaffScope, can_view
from relaydesk.conversations.schemas import ConversationPublic
from relaydesk.core import realtime
from relaydesk.core.db import Database
from relaydesk.core.models import Conversation, ConversationStatus, StaffUser, Team, TeamMember
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


async def revoke_lost_access(
    db: Database, conversation: Conversation | ConversationPublic, before: hooks.Before
) -> int:
    """Remove from the conversation's room every connected console socket whose user may
    no longer see it after the change from `before`. Returns how many were removed."""
    view = Conversation(
        id=conversation.id,
        site_id=conversation.site_id,
        visitor_id=conversation.visitor_id,
        status=conversation.status,
        assignee_id=conversation.assignee_id,
        team_id=conversation.team_id,
    )
    who = _who_may_lose(view, before)
    if not who:
        return 0
    connected = await presence.tracker().users()
    if who != _ANYONE:
        connected = {user_id: sids for user_id, sids in connected.items() if user_id in who}
    if not connected:
        return 0
    async with db.read() as session:
        users = {
            u.id: u
            for u in (
                await session.execute(
                    select(StaffUser).where(col(StaffUser.id).in_(list(connected)))
                )
            ).scalars()
        }
        memberships = (
            await session.execute(
                select(TeamMember.user_id, Team.id, Team.site_id)
                .join(Team, col(Team.id) == col(TeamMember.team_id))
                .where(col(TeamMember.user_id).in_(list(connected)))
            )
        ).all()
    team_ids: defaultdict[int, set[int]] = defaultdict(set)
    site_ids: defaultdict[int, set[int]] = defaultdict(set)
    for user_id, team_id, site_id in memberships:
        team_ids[user_id].add(team_id)
        site_ids[user_id].add(site_id)
    removed = 0
    for user_id, sids in connected.items():
        user = users.get(user_id)
        allowed = user is not None and can_view(
            StaffScope(
                user=user,
                team_ids=frozenset(team_ids[user_id]),
                site_ids=frozenset(site_ids[user_id]),
            ),
            view,
        )
        if allowed:
            continue
        for sid in sids:
            await realtime.remove_from_conversation(sid, conversation.id)
            removed += 1
    return removed
