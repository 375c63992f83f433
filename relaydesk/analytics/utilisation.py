"""Agent utilisation: how much of their capacity agents used while they were online,
computed from the event log alone (docs/analytics.md, "Agent load and utilisation").

Two step functions per agent, replayed from the log in event order:
- presence: `staff.presence_changed` (online, away, offline; offline before any event);
- concurrent conversations: how many conversations the agent owns, from the ownership
  events (`conversation.assigned` and `conversation.transferred` give the conversation to
  their `assignee_id`, a transfer to a team queue and `conversation.resolved`,
  `conversation.handed_back`, `conversation.reopened` take it from its owner).

`timelines` is a pure function of the ordered events, so the definition is tested on
hand-built cases; `utilisation` loads the events and names the agents."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from relaydesk.analytics import facts as F
from relaydesk.analytics.frame import Filters
from relaydesk.analytics.hours import bucket_edges
from relaydesk.core.db import Database
from relaydesk.core.models import Event, StaffUser, TeamMember, utcnow

PRESENCE = "staff.presence_changed"
ONLINE = "online"
AWAY = "away"
OWNERSHIP = (F.ASSIGNED, F.TRANSFERRED, F.RESOLVED, F.HANDED_BACK, F.REOPENED)


@dataclass(frozen=True)
class LogEvent:
    at: float  # epoch seconds
    type: str
    conversation_id: str | None
    payload: dict[str, Any]


@dataclass
class Usage:
    """One agent's figures over one span (a bucket, or the whole range)."""

    online_s: float = 0.0
    away_s: float = 0.0
    # ∫ concurrent conversations dt, over the online time only.
    load_s: float = 0.0
    at_capacity_s: float = 0.0
    peak: int = 0

    def add(self, seconds: float, status: str, concurrent: int, capacity: int) -> None:
        if seconds <= 0:
            return
        if concurrent > self.peak:
            self.peak = concurrent
        if status == AWAY:
            self.away_s += seconds
        if status != ONLINE:
            return
        self.online_s += seconds
        self.load_s += seconds * concurrent
        if capacity and concurrent >= capacity:
            self.at_capacity_s += seconds

    def figures(self, capacity: int) -> dict[str, Any]:
        online = self.online_s
        average = self.load_s / online if online else None
        return {
            "online_s": round(online, 1),
            "away_s": round(self.away_s, 1),
            "concurrent_avg": None if average is None else round(average, 3),
            "concurrent_peak": self.peak,
            "utilisation": (
                None if average is None or not capacity else round(average / capacity, 4)
            ),
            "at_capacity_s": round(self.at_capacity_s, 1),
        }


@dataclass
class Timeline:
    capacity: int
    whole: Usage = field(default_factory=Usage)
    buckets: list[Usage] = field(default_factory=list)


def timelines(
    events: Iterable[LogEvent], edges: Sequence[float], capacities: dict[int, int], now: float
) -> dict[int, Timeline]:
    """Per agent (those in `capacities`), their usage within [edges[0], min(edges[-1],
    now)) and per bucket between consecutive edges. `events` in time order; events before
    edges[0] only set the state at the start."""
    start, end = edges[0], min(edges[-1], now)
    out = {a: Timeline(c, buckets=[Usage() for _ in edges[:-1]]) for a, c in capacities.items()}
    status: dict[int, str] = {}
    owner: dict[str, int] = {}
    concurrent: dict[int, int] = dict.fromkeys(capacities, 0)
    at = start

    def advance(to: float) -> None:
        nonlocal at
        to = min(max(to, start), end)
        if to <= at:
            return
        for agent, timeline in out.items():
            state, load = status.get(agent, "offline"), concurrent[agent]
            if state != ONLINE and state != AWAY and not load:
                continue
            timeline.whole.add(to - at, state, load, timeline.capacity)
            # Split the span at the bucket edges it crosses.
            i = bisect.bisect_right(edges, at) - 1
            lo = at
            while lo < to:
                hi = min(to, edges[i + 1])
                timeline.buckets[i].add(hi - lo, state, load, timeline.capacity)
                lo, i = hi, i + 1
        at = to

    def give(conversation: str, agent: int | None) -> None:
        previous = owner.pop(conversation, None)
        if previous in concurrent:
            concurrent[previous] -= 1
        if agent is not None:
            owner[conversation] = agent
            if agent in concurrent:
                concurrent[agent] += 1

    for event in events:
        advance(event.at)
        if event.type == PRESENCE:
            status[int(event.payload["user_id"])] = str(event.payload["status"])
        elif event.conversation_id is None:
            continue
        elif event.type in (F.ASSIGNED, F.TRANSFERRED):
            assignee = event.payload.get("assignee_id")
            give(event.conversation_id, None if assignee is None else int(assignee))
        elif event.type in (F.RESOLVED, F.HANDED_BACK, F.REOPENED):
            give(event.conversation_id, None)
    advance(end)
    return out


async def _events(db: Database, filters: Filters, end: datetime) -> list[LogEvent]:
    """The site's presence and ownership events up to `end`, all history (the state at the
    range's start depends on it), in time order (the log's order within an instant)."""
    async with db.read() as session:
        rows = await session.execute(
            select(Event.created_at, Event.type, Event.conversation_id, Event.payload)
            .where(
                Event.site_id == filters.site_id,
                col(Event.type).in_((PRESENCE, *OWNERSHIP)),
                col(Event.created_at) < end,
            )
            .order_by(col(Event.created_at), col(Event.id))
        )
        return [LogEvent(at.timestamp(), kind, c, payload) for at, kind, c, payload in rows]


async def utilisation(db: Database, filters: Filters, *, interval: str) -> list[dict[str, Any]]:
    """Per agent who was online or owned a conversation in the range: capacity, online
    and away time, average and peak concurrent conversations, utilisation, time at
    capacity; and the same per local day (or hour) in `points`."""
    edges_at = bucket_edges(filters.date_from, filters.date_to, filters.zone, interval)
    edges = [e.timestamp() for e in edges_at]
    async with db.read() as session:
        query = select(StaffUser.id, StaffUser.name, StaffUser.capacity)
        if filters.agent_id is not None:
            query = query.where(StaffUser.id == filters.agent_id)
        if filters.team_id is not None:
            members = select(TeamMember.user_id).where(TeamMember.team_id == filters.team_id)
            query = query.where(col(StaffUser.id).in_(members))
        staff = {int(i): (name, int(cap)) for i, name, cap in (await session.execute(query))}
    found = timelines(
        await _events(db, filters, edges_at[-1]),
        edges,
        {agent: cap for agent, (_, cap) in staff.items()},
        utcnow().timestamp(),
    )
    rows = []
    for agent, timeline in sorted(found.items()):
        whole = timeline.whole
        if not whole.online_s and not whole.away_s and not whole.peak:
            continue
        rows.append(
            {
                "agent_id": agent,
                "name": staff[agent][0],
                "capacity": timeline.capacity,
                **whole.figures(timeline.capacity),
                "points": [
                    {
                        "start": edge.astimezone(filters.zone).isoformat(),
                        **u.figures(timeline.capacity),
                    }
                    for edge, u in zip(edges_at, timeline.buckets, strict=False)
                ],
            }
        )
    return rows
