"""Reports: read-only, over the rollups (refreshed first) and, for the citation tables,
the event log itself."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlmodel import col, select

from relaydesk.analytics import aggregate, figures, rollup
from relaydesk.analytics.frame import Filters, Frame, load
from relaydesk.analytics.hours import bucket_edges
from relaydesk.analytics.models import (
    AnalyticsConversation,
    AnalyticsCycle,
    LivePublic,
    OverviewPublic,
    TimeseriesPoint,
    TimeseriesPublic,
)
from relaydesk.collab.models import ConversationLabel
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.core.db import Database
from relaydesk.core.models import Event, StaffUser, utcnow


async def frame_for(db: Database, filters: Filters) -> Frame:
    await rollup.refresh(db)
    return await load(db, filters)


async def overview(db: Database, filters: Filters) -> OverviewPublic:
    await rollup.refresh(db)
    return OverviewPublic(
        site_id=filters.site_id,
        timezone=filters.tz,
        date_from=filters.date_from.isoformat(),
        date_to=filters.date_to.isoformat(),
        **await aggregate.overview(db, filters),
    )


async def timeseries(
    db: Database,
    filters: Filters,
    *,
    metric: str,
    interval: str,
    stat: str = "median",
    business_hours: bool = False,
) -> TimeseriesPublic:
    await rollup.refresh(db)
    values, total = await aggregate.series(
        db, filters, metric=metric, interval=interval, stat=stat, business_hours=business_hours
    )
    edges = bucket_edges(filters.date_from, filters.date_to, filters.zone, interval)
    points = [
        TimeseriesPoint(start=start.astimezone(filters.zone).isoformat(), value=value, count=n)
        for start, (value, n) in zip(edges, values, strict=False)
    ]
    return TimeseriesPublic(
        site_id=filters.site_id,
        timezone=filters.tz,
        metric=metric,
        interval=interval,
        points=points,
        total=total,
    )


# Tables


async def handoff_reasons(db: Database, filters: Filters) -> list[dict[str, Any]]:
    await rollup.refresh(db)
    by_reason = (await aggregate.overview(db, filters))["handoffs"].by_reason
    total = sum(by_reason.values())
    return [
        {"reason": reason, "handoffs": n, "share": round(n / total, 4) if total else None}
        for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


async def by_hour_weekday(db: Database, filters: Filters) -> list[dict[str, Any]]:
    """Conversations started per local weekday (0 = Monday) and hour."""
    frame = await frame_for(db, filters)
    zone = filters.zone
    counts: Counter[tuple[int, int]] = Counter()
    for ts in frame.conversations["started_ts"].tolist():
        local = datetime.fromtimestamp(ts, zone)
        counts[(local.weekday(), local.hour)] += 1
    return [
        {"weekday": d, "hour": h, "conversations": counts.get((d, h), 0)}
        for d in range(7)
        for h in range(24)
    ]


async def agents(db: Database, filters: Filters) -> list[dict[str, Any]]:
    """Per agent: cycles handled, resolutions, first response and resolution times, and
    load (their conversations per day of the range)."""
    frame = await frame_for(db, filters)
    cycles = frame.cycles
    ids = sorted({int(a) for a in cycles["agent_id"].tolist() if a is not None})
    async with db.read() as session:
        name_rows = await session.execute(
            select(StaffUser.id, StaffUser.name).where(col(StaffUser.id).in_(ids))
        )
        names = {agent: name for agent, name in name_rows.tuples()}
    days = (filters.date_to - filters.date_from).days + 1
    rows = []
    for agent_id in ids:
        mine = cycles.take(np.array([a == agent_id for a in cycles["agent_id"].tolist()]))
        frt = figures.percentiles(mine["frt_s"])
        resolution = figures.percentiles(mine["resolution_s"])
        conversations = len(set(mine["conversation_id"].tolist()))
        rows.append(
            {
                "agent_id": agent_id,
                "name": names.get(agent_id),
                "cycles": len(mine),
                "conversations": conversations,
                "resolved": resolution.count,
                "load_per_day": round(conversations / days, 3),
                "first_response_median_s": frt.median,
                "first_response_p90_s": frt.p90,
                "resolution_median_s": resolution.median,
            }
        )
    return rows


async def cited_entries(db: Database, filters: Filters, *, limit: int = 20) -> list[dict[str, Any]]:
    """Knowledge entries the bot cited, most cited first, with how often the answer citing
    them got a thumbs-down (the visitor's final rating)."""
    await rollup.refresh(db)
    start, end = filters.start, filters.end
    async with db.read() as session:
        query = select(Event.payload, Event.conversation_id).where(
            Event.site_id == filters.site_id,
            Event.type == "bot.replied",
            col(Event.created_at) >= start,
            col(Event.created_at) < end,
        )
        if filters.agent_id is not None or filters.team_id is not None or filters.label_id:
            allowed = select(AnalyticsConversation.conversation_id).where(
                AnalyticsConversation.site_id == filters.site_id
            )
            query = query.where(col(Event.conversation_id).in_(_scoped(filters, allowed)))
        replies = list((await session.execute(query)).tuples())
        ratings_rows = await session.execute(
            select(Event.payload)
            .where(
                Event.site_id == filters.site_id,
                Event.type == "bot.feedback",
                col(Event.created_at) >= start,
            )
            .order_by(col(Event.id))
        )
        ratings: dict[str, str] = {}
        for (payload,) in ratings_rows.tuples():
            ratings[str(payload.get("message_id"))] = str(payload.get("rating"))
    cited: Counter[str] = Counter()
    down: Counter[str] = Counter()
    for payload, _conversation in replies:
        for entry in payload.get("entry_ids") or []:
            cited[entry] += 1
            if ratings.get(str(payload.get("message_id"))) == "down":
                down[entry] += 1
    return [
        {"entry_id": entry, "citations": n, "thumbs_down": down.get(entry, 0)}
        for entry, n in sorted(cited.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    ]


def _scoped(filters: Filters, query: Any) -> Any:
    if filters.team_id is not None:
        query = query.where(AnalyticsConversation.team_id == filters.team_id)
    if filters.agent_id is not None:
        query = query.where(
            col(AnalyticsConversation.conversation_id).in_(
                select(AnalyticsCycle.conversation_id).where(
                    AnalyticsCycle.agent_id == filters.agent_id
                )
            )
        )
    if filters.label_id is not None:
        query = query.where(
            col(AnalyticsConversation.conversation_id).in_(
                select(ConversationLabel.conversation_id).where(
                    ConversationLabel.label_id == filters.label_id
                )
            )
        )
    return query


async def conversation_rows(db: Database, filters: Filters) -> list[dict[str, Any]]:
    """One row per conversation started in the range, with all its figures."""
    await rollup.refresh(db)
    query = _scoped(
        filters,
        select(AnalyticsConversation).where(
            AnalyticsConversation.site_id == filters.site_id,
            col(AnalyticsConversation.started_ts) >= filters.start.timestamp(),
            col(AnalyticsConversation.started_ts) < filters.end.timestamp(),
        ),
    ).order_by(col(AnalyticsConversation.started_ts))
    async with db.read() as session:
        rows = list((await session.execute(query)).scalars())
    zone = filters.zone
    return [
        {
            "conversation_id": r.conversation_id,
            "started_at": r.started_at.astimezone(zone).isoformat(),
            "team_id": r.team_id,
            "channel": r.channel,
            "bot_involved": r.bot_involved,
            "bot_outcome": r.bot_outcome,
            "handoffs": r.handoffs,
            "handoff_reason": r.handoff_reason,
            "reopens": r.reopens,
            "transfers": r.transfers,
            "visitor_messages": r.visitor_messages,
            "bot_messages": r.bot_messages,
            "agent_messages": r.agent_messages,
            "agent_ids": " ".join(str(a) for a in r.agent_ids),
            "first_response_s": r.first_response_s,
            "first_response_bh_s": r.first_response_bh_s,
            "queue_wait_s": r.queue_wait_s,
            "queue_wait_bh_s": r.queue_wait_bh_s,
            "resolution_s": r.resolution_s,
            "resolution_bh_s": r.resolution_bh_s,
            "resolved": r.resolved,
            "csat": r.csat,
            "feedback_up": r.feedback_up,
            "feedback_down": r.feedback_down,
        }
        for r in rows
    ]


async def drill_down(db: Database, filters: Filters, *, metric: str, limit: int = 500) -> list[str]:
    """The conversations behind a figure (ids, oldest first): the dashboard opens them in
    the inbox's list view."""
    frame = await frame_for(db, filters)
    conversations = frame.conversations
    if metric in ("bot_resolved", "bot_involved", "resolved", "csat_responses"):
        mask = {
            "bot_resolved": conversations["bot_outcome"] == "resolved",
            "bot_involved": conversations["bot_involved"] == 1,
            "resolved": conversations["resolved"] == 1,
            "csat_responses": ~np.isnan(conversations["csat"]),
        }[metric]
        ids = conversations["conversation_id"][mask].tolist()
    elif metric in figures.TIME_METRICS or metric == "handoffs":
        cycles = frame.cycles
        column = {
            "first_response_s": "frt_s",
            "resolution_s": "resolution_s",
            "queue_wait_s": "queue_wait_s",
        }.get(metric)
        if column is not None:
            keep = ~np.isnan(cycles[column])
        else:
            keep = np.array([r is not None for r in cycles["handoff_reason"].tolist()], dtype=bool)
        ids = list(dict.fromkeys(cycles["conversation_id"][keep].tolist()))
    else:
        ids = conversations["conversation_id"].tolist()
    return [str(i) for i in ids[:limit]]


async def live(db: Database, *, site_id: int, agent_id: int | None = None) -> LivePublic:
    """Right now: open conversations, the bot's, the unassigned queue, and the longest
    current wait."""
    now = utcnow()
    async with db.read() as session:
        query = (
            select(Conversation.status, func.count(), func.min(Conversation.queued_at))
            .where(
                Conversation.site_id == site_id,
                Conversation.status != ConversationStatus.RESOLVED,
            )
            .group_by(col(Conversation.status))
        )
        if agent_id is not None:
            query = query.where(Conversation.assignee_id == agent_id)
        rows = list((await session.execute(query)).tuples())
    counts = {status: int(n) for status, n, _ in rows}
    oldest = next((q for status, _, q in rows if status == ConversationStatus.QUEUED), None)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return LivePublic(
        open=sum(counts.values()),
        bot=counts.get(ConversationStatus.BOT, 0),
        unassigned=counts.get(ConversationStatus.QUEUED, 0),
        waiting=counts.get(ConversationStatus.QUEUED, 0),
        longest_wait_s=round((now - oldest).total_seconds(), 1) if oldest else None,
    )
