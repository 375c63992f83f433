"""Auto-assignment: queued conversations go, oldest first, to an online agent of the right
team with the fewest open conversations under their cap; ties go to whoever was assigned
least recently (round-robin).

One pass runs in one write transaction that first takes the routing lock: a transaction
advisory lock on PostgreSQL, SQLite's own write lock (`BEGIN IMMEDIATE`) there. Passes on
any number of processes therefore run one at a time and each sees the loads the previous
one committed, so no cap is exceeded and no conversation is assigned twice; the queued rows
are also locked `FOR UPDATE`, so an agent accepting one by hand at the same moment either
wins before the pass reads it (and it is no longer queued) or after (and finds it taken).

The pass is the end of the line: it announces its assignments and drops the sockets that
lost access itself, and does not run the change hooks, so routing's own hook (which starts
passes) is never re-entered by a pass.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, text
from sqlmodel import col, select

from relaydesk.conversations import hooks, state
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.service import SYSTEM, announce
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.models import Availability, Role, StaffUser, Team, TeamMember, utcnow
from relaydesk.routing import access, queue
from relaydesk.routing.models import RoutingAgent, RoutingMode

# pg_advisory_xact_lock key: "RDROUTE" as a number, unlikely to collide with anything.
ROUTING_LOCK_KEY = 0x5244524F555445
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def open_counts(db: Database, user_ids: list[int]) -> dict[int, int]:
    """Assigned (open) conversations per agent, across all sites."""
    if not user_ids:
        return {}
    async with db.read() as session:
        rows = await session.execute(
            select(Conversation.assignee_id, func.count())
            .where(
                col(Conversation.assignee_id).in_(user_ids),
                Conversation.status == ConversationStatus.ASSIGNED,
            )
            .group_by(col(Conversation.assignee_id))
        )
        return {int(user_id): int(n) for user_id, n in rows.all() if user_id is not None}


async def auto_assign(db: Database, *, site_id: int) -> list[Conversation]:
    """One pass over the site's queue. Returns the conversations it assigned."""
    assigned: list[tuple[Conversation, hooks.Before]] = []
    async with db.write() as session:
        if not db.is_sqlite:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROUTING_LOCK_KEY}
            )
        queued = list(
            (
                await session.execute(
                    select(Conversation)
                    .where(
                        Conversation.site_id == site_id,
                        Conversation.status == ConversationStatus.QUEUED,
                    )
                    .order_by(col(Conversation.queued_at), col(Conversation.id))
                    .with_for_update()
                )
            ).scalars()
        )
        if not queued:
            return []
        teams = list((await session.execute(select(Team).where(Team.site_id == site_id))).scalars())
        auto_teams = {
            t.id for t in teams if t.routing_mode == RoutingMode.AUTO and t.id is not None
        }
        if not auto_teams:
            return []
        rows = (
            await session.execute(
                select(TeamMember.team_id, StaffUser)
                .join(StaffUser, col(StaffUser.id) == col(TeamMember.user_id))
                .where(
                    col(TeamMember.team_id).in_(auto_teams),
                    col(StaffUser.is_active).is_(True),
                    StaffUser.availability == Availability.ONLINE,
                )
            )
        ).all()
        members: defaultdict[int, set[int]] = defaultdict(set)
        agents: dict[int, StaffUser] = {}
        for team_id, user in rows:
            if user.id is not None and user.has_role(Role.AGENT):
                members[team_id].add(user.id)
                agents[user.id] = user
        if not agents:
            return []
        everyone = set(agents)
        load = defaultdict(int)
        for user_id, n in (
            await session.execute(
                select(Conversation.assignee_id, func.count())
                .where(
                    col(Conversation.assignee_id).in_(everyone),
                    Conversation.status == ConversationStatus.ASSIGNED,
                )
                .group_by(col(Conversation.assignee_id))
            )
        ).all():
            load[int(user_id)] = int(n)
        stamps = {
            r.user_id: r
            for r in (
                await session.execute(
                    select(RoutingAgent).where(col(RoutingAgent.user_id).in_(everyone))
                )
            ).scalars()
        }
        now = utcnow()
        for conversation in queued:
            if conversation.team_id is None:
                pool = everyone
            elif conversation.team_id in auto_teams:
                pool = members.get(conversation.team_id, set())
            else:
                continue  # a manual team: it waits for someone to take it
            eligible = [u for u in pool if load[u] < agents[u].capacity]
            if not eligible:
                continue

            def rank(user_id: int) -> tuple[int, datetime, int]:
                stamp = stamps.get(user_id)
                last = stamp.last_assigned_at if stamp and stamp.last_assigned_at else _EPOCH
                return (load[user_id], last, user_id)

            chosen = min(eligible, key=rank)
            before = hooks.Before(
                status=conversation.status,
                assignee_id=conversation.assignee_id,
                team_id=conversation.team_id,
            )
            conversation.status = state.next_status(
                conversation.status, state.Transition.ASSIGN
            ).value
            conversation.assignee_id = chosen
            conversation.assigned_at = now
            conversation.updated_at = now
            event_log.record(
                session,
                event_log.ConversationAssigned(
                    assignee_id=chosen, previous_status=ConversationStatus.QUEUED
                ),
                site_id=site_id,
                actor_kind=SYSTEM.kind,
                conversation_id=conversation.id,
            )
            load[chosen] += 1
            stamp = stamps.get(chosen)
            if stamp is None:
                stamp = stamps[chosen] = RoutingAgent(user_id=chosen)
                session.add(stamp)
            # Strictly increasing within the pass, so round-robin holds between agents
            # picked in the same transaction.
            stamp.last_assigned_at = now + timedelta(microseconds=len(assigned))
            assigned.append((conversation, before))
    if assigned:
        for conversation, _ in assigned:
            assert conversation.assignee_id is not None
            await announce(db, conversation, assignee=agents[conversation.assignee_id])
        await access.revoke_lost_access_many(db, [(c, before) for c, before in assigned])
        await queue.broadcast(db, site_id)
    return [conversation for conversation, _ in assigned]
