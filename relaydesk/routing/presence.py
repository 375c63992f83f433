"""Agent presence: what the agent chose (online/away/offline) while any console tab of
theirs is connected, offline when none is.

`StaffUser.availability` holds the effective presence, so every reader (auto-assignment,
the bot's "agents online" check) sees the same thing with one column. It is recomputed
under the staff row's lock from the connection count read inside that lock, so a tab
connecting on one node and another closing on a second node cannot leave a stale value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from sqlmodel import col, select

from relaydesk.conversations.models import SenderKind
from relaydesk.core import event_log, realtime
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Availability, Role, StaffUser, Team, TeamMember, utcnow
from relaydesk.routing import assign
from relaydesk.routing.connections import HEARTBEAT_SECONDS, ConnectionTracker, get_tracker
from relaydesk.routing.models import PresencePublic, RoutingAgent

log = logging.getLogger(__name__)
EVENT = "presence:updated"


def tracker() -> ConnectionTracker:
    return get_tracker(get_settings().redis_url)


@dataclass(frozen=True)
class _Outcome:
    presence: PresencePublic
    site_ids: list[int]
    changed: bool
    became_online: bool


async def connected(db: Database, *, user_id: int, sid: str) -> PresencePublic:
    """A console tab connected. The first tab of an agent who had chosen offline puts them
    online: opening the console is starting work. A chosen `away` is kept."""
    await tracker().add(user_id, sid)
    return await _refresh(db, user_id=user_id, first_tab=True)


async def disconnected(db: Database, *, user_id: int, sid: str) -> PresencePublic:
    await tracker().remove(user_id, sid)
    return await _refresh(db, user_id=user_id)


async def set_presence(db: Database, *, user_id: int, status: str) -> PresencePublic:
    """The agent picks a status; it applies while any of their tabs is connected."""
    return await _refresh(db, user_id=user_id, chosen=Availability(status))


async def get_presence(db: Database, user_id: int) -> PresencePublic:
    async with db.read() as session:
        user = await session.get(StaffUser, user_id)
        state = await session.get(RoutingAgent, user_id)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    chosen = state.chosen if state is not None else Availability.ONLINE
    return PresencePublic(user_id=user_id, status=user.availability, chosen=chosen)


async def _refresh(
    db: Database,
    *,
    user_id: int,
    chosen: Availability | None = None,
    first_tab: bool = False,
) -> PresencePublic:
    outcome = await _recompute(db, user_id=user_id, chosen=chosen, first_tab=first_tab)
    if outcome.changed or chosen is not None:
        await _announce(outcome)
    if outcome.became_online:
        for site_id in outcome.site_ids:
            await assign.auto_assign(db, site_id=site_id)
    return outcome.presence


async def _recompute(
    db: Database, *, user_id: int, chosen: Availability | None, first_tab: bool
) -> _Outcome:
    async with db.write() as session:
        user = (
            await session.execute(
                select(StaffUser).where(col(StaffUser.id) == user_id).with_for_update()
            )
        ).scalar_one_or_none()
        if user is None:
            raise NotFound("no such user", code="user_not_found")
        state = await session.get(RoutingAgent, user_id)
        if state is None:
            state = RoutingAgent(user_id=user_id)
            session.add(state)
        tabs = len(await tracker().sids(user_id))
        if chosen is not None:
            state.chosen = chosen
            state.updated_at = utcnow()
        elif first_tab and tabs == 1 and state.chosen == Availability.OFFLINE:
            state.chosen = Availability.ONLINE
            state.updated_at = utcnow()
        effective = state.chosen if tabs > 0 else Availability.OFFLINE
        previous = user.availability
        site_ids = list(
            (
                await session.execute(
                    select(Team.site_id)
                    .join(TeamMember, col(TeamMember.team_id) == col(Team.id))
                    .where(TeamMember.user_id == user_id)
                    .distinct()
                )
            ).scalars()
        )
        changed = previous != effective
        if changed:
            user.availability = effective
            for site_id in site_ids:
                event_log.record(
                    session,
                    event_log.PresenceChanged(
                        user_id=user_id, status=effective, previous=previous, chosen=state.chosen
                    ),
                    site_id=site_id,
                    actor_kind=SenderKind.AGENT,
                    actor_id=user_id,
                )
        presence = PresencePublic(user_id=user_id, status=effective, chosen=state.chosen)
        handles = user.has_role(Role.AGENT)
    return _Outcome(
        presence=presence,
        site_ids=site_ids,
        changed=changed,
        became_online=changed and effective == Availability.ONLINE and handles,
    )


async def _announce(outcome: _Outcome) -> None:
    data = {"presence": outcome.presence.model_dump()}
    for site_id in outcome.site_ids:
        await realtime.to_site_leads(site_id, EVENT, data)
    await realtime.to_staff_user(outcome.presence.user_id, EVENT, data)


async def sweep(db: Database) -> int:
    """Agents shown online or away with no live tab anywhere (their node died, or a
    disconnect was lost) go offline. Returns how many changed."""
    async with db.read() as session:
        shown = list(
            (
                await session.execute(
                    select(StaffUser.id).where(col(StaffUser.availability) != Availability.OFFLINE)
                )
            ).scalars()
        )
    if not shown:
        return 0
    live = await tracker().users()
    changed = 0
    for user_id in shown:
        if user_id is not None and user_id not in live:
            outcome = await _recompute(db, user_id=user_id, chosen=None, first_tab=False)
            if outcome.changed:
                changed += 1
                await _announce(outcome)
    return changed


async def run_heartbeat(db: Database, *, interval: float = HEARTBEAT_SECONDS) -> None:
    """Renew this node's connection lease and sweep, until cancelled (app lifespan)."""
    while True:
        try:
            await tracker().heartbeat()
            await sweep(db)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("presence heartbeat failed")
        await asyncio.sleep(interval)


async def stop_heartbeat(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
