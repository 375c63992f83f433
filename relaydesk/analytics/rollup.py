"""Keeps the rollup tables up to date with the event log.

Every report first calls `refresh`: it folds in the conversations that have events newer
than the watermark (recomputing each from all its events, so the rollups are always
exactly what facts.py says of the log) and the bot resolutions whose 24 h window has
closed since, then re-makes the 15-minute slots those conversations and their cycles
fall in: analytics_slot from analytics_conversation, analytics_cycle_slot and
analytics_handoff_slot from analytics_cycle. Batches of conversations are read with one
query, folded in Python and written with one executemany per table, in one transaction
per batch. Nothing is added to the message write path: the message and state events it
already writes are the input. When nothing happened since the last report, a refresh
costs one indexed `max(id)` lookup.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.analytics import facts as F
from relaydesk.analytics.aggregate import CONVERSATION_AGGREGATES, VALUE_DTYPE
from relaydesk.analytics.frame import TIME_VALUES
from relaydesk.analytics.hours import site_hours
from relaydesk.analytics.models import (
    AnalyticsConversation,
    AnalyticsCycle,
    AnalyticsCycleSlot,
    AnalyticsHandoffSlot,
    AnalyticsSlot,
    AnalyticsState,
)
from relaydesk.analytics.rows import conversation_row, cycle_row
from relaydesk.conversations.models import Conversation
from relaydesk.core.db import Database
from relaydesk.core.models import Event, Site, utcnow
from relaydesk.sites.hours import BusinessHours

WATERMARK = "events"
CHUNK = 2000
SLOT_S = 900
# A refresh that recomputed this many conversations (a backfill, a first build) updates
# the planner's statistics of the rollups, so reports get index-only scans at once
# rather than after autovacuum's next pass.
ANALYZE_AFTER = 10_000
# Past this many touched slots, re-adding each site's slots whole is cheaper than by range.
SLOT_RANGES = 200

# One refresh at a time per event loop: two would recompute the same conversations. (A
# lock belongs to the loop it was first used in; tests run each on a loop of its own.)
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


async def refresh(db: Database, *, now: datetime | None = None) -> int:
    """Bring the rollups up to date; returns how many conversations were recomputed."""
    async with _lock():
        now = now or utcnow()
        async with db.read() as session:
            done = await _watermark(session)
            latest = (await session.execute(select(func.max(Event.id)))).scalar_one() or 0
            ids: set[str] = set()
            if latest > done:
                rows = await session.execute(
                    select(Event.conversation_id)
                    .where(
                        col(Event.id) > done,
                        col(Event.id) <= latest,
                        col(Event.conversation_id).is_not(None),
                        col(Event.type).in_(F.RELEVANT),
                    )
                    .distinct()
                )
                ids.update(c for c in rows.scalars() if c is not None)
            settled = await session.execute(
                select(AnalyticsConversation.conversation_id).where(
                    col(AnalyticsConversation.bot_settles_ts) <= now.timestamp()
                )
            )
            ids.update(settled.scalars())
        ordered = sorted(ids)
        slots: set[tuple[int, float]] = set()
        cycle_slots: set[tuple[int, float]] = set()
        for start in range(0, len(ordered), CHUNK):
            touched, cycles_touched = await _recompute(db, ordered[start : start + CHUNK], now)
            slots |= touched
            cycle_slots |= cycles_touched
        if slots:
            await _resum_slots(db, slots)
        if cycle_slots:
            await _remake_cycle_slots(db, cycle_slots)
        if len(ordered) >= ANALYZE_AFTER:
            await _analyze(db)
        if latest > done:
            async with db.write() as session:
                state = await session.get(AnalyticsState, WATERMARK)
                if state is None:
                    session.add(AnalyticsState(key=WATERMARK, value=latest))
                else:
                    state.value = max(state.value, latest)
        return len(ordered)


async def rebuild(db: Database) -> int:
    """Drop the rollups and compute them again from the whole log."""
    async with db.write() as session:
        await session.execute(delete(AnalyticsCycle))
        await session.execute(delete(AnalyticsConversation))
        await session.execute(delete(AnalyticsSlot))
        await session.execute(delete(AnalyticsCycleSlot))
        await session.execute(delete(AnalyticsHandoffSlot))
        await session.execute(delete(AnalyticsState))
    return await refresh(db)


async def _watermark(session: AsyncSession) -> int:
    state = await session.get(AnalyticsState, WATERMARK)
    return state.value if state is not None else 0


def _slot(ts: float) -> float:
    return float(ts // SLOT_S * SLOT_S)


async def _recompute(
    db: Database, conversation_ids: Sequence[str], now: datetime
) -> tuple[set[tuple[int, float]], set[tuple[int, float]]]:
    """Recompute a batch of conversations; returns the (site, slot) pairs they and their
    cycles were and are in, whose slot rows must be re-made."""
    async with db.read() as session:
        events = await session.execute(
            sa_select(
                col(Event.id),
                col(Event.type),
                col(Event.created_at),
                col(Event.actor_kind),
                col(Event.actor_id),
                col(Event.payload),
                col(Event.conversation_id),
                col(Event.site_id),
            )
            .where(
                col(Event.conversation_id).in_(conversation_ids),
                col(Event.type).in_(F.RELEVANT),
            )
            .order_by(col(Event.created_at), col(Event.id))
        )
        by_conversation: dict[str, list[F.EventRow]] = defaultdict(list)
        sites: dict[str, int] = {}
        for event_id, kind, at, actor_kind, actor_id, payload, conversation, site in events:
            by_conversation[conversation].append(
                F.EventRow(event_id, kind, at, actor_kind, actor_id, payload)
            )
            sites[conversation] = site
        team_rows = await session.execute(
            select(Conversation.id, Conversation.team_id).where(
                col(Conversation.id).in_(conversation_ids)
            )
        )
        teams = {conversation: team for conversation, team in team_rows.tuples()}
        hours: dict[int, BusinessHours | None] = {
            site.id: site_hours(site.business_hours)
            for site in (
                await session.execute(select(Site).where(col(Site.id).in_(set(sites.values()))))
            ).scalars()
            if site.id is not None
        }
    conversation_rows: list[dict[str, object]] = []
    cycle_rows: list[dict[str, object]] = []
    results: list[F.ConversationFacts] = []
    for conversation_id, rows in by_conversation.items():
        site_id = sites[conversation_id]
        result = F.conversation_facts(
            conversation_id=conversation_id,
            site_id=site_id,
            events=rows,
            now=now,
            hours=hours.get(site_id),
        )
        if result is None:
            continue
        results.append(result)
        conversation_rows.append(conversation_row(result, teams.get(conversation_id)))
        cycle_rows.extend(cycle_row(result, cycle) for cycle in result.cycles)
    touched = {(r.site_id, _slot(r.started_at.timestamp())) for r in results}
    cycles_touched = {
        (r.site_id, _slot(cycle.started_at.timestamp())) for r in results for cycle in r.cycles
    }
    async with db.write() as session:
        previous = sa_select(
            col(AnalyticsConversation.site_id), col(AnalyticsConversation.started_ts)
        ).where(col(AnalyticsConversation.conversation_id).in_(conversation_ids))
        before = await session.execute(previous)
        touched.update((int(site), _slot(ts)) for site, ts in before.tuples())
        previous_cycles = sa_select(
            col(AnalyticsCycle.site_id), col(AnalyticsCycle.started_ts)
        ).where(col(AnalyticsCycle.conversation_id).in_(conversation_ids))
        before = await session.execute(previous_cycles)
        cycles_touched.update((int(site), _slot(ts)) for site, ts in before.tuples())
        await session.execute(
            delete(AnalyticsCycle).where(col(AnalyticsCycle.conversation_id).in_(conversation_ids))
        )
        await session.execute(
            delete(AnalyticsConversation).where(
                col(AnalyticsConversation.conversation_id).in_(conversation_ids)
            )
        )
        # Core inserts on the tables: one executemany each (the ORM's bulk insert sends a
        # statement per row here, ~1 ms each).
        if conversation_rows:
            await session.execute(AnalyticsConversation.__table__.insert(), conversation_rows)  # type: ignore[attr-defined]
        if cycle_rows:
            await session.execute(AnalyticsCycle.__table__.insert(), cycle_rows)  # type: ignore[attr-defined]
    return touched, cycles_touched


async def _resum_slots(db: Database, slots: set[tuple[int, float]]) -> None:
    """Re-add analytics_slot for the touched slots from analytics_conversation (by
    contiguous ranges of slots, or a site whole when many were touched)."""
    names = list(CONVERSATION_AGGREGATES)
    postgres = db.engine.dialect.name == "postgresql"
    async with db.write() as session:
        floor = "FLOOR(started_ts / 900.0)" if postgres else "CAST(started_ts / 900 AS INTEGER)"
        aggregates = ", ".join(CONVERSATION_AGGREGATES.values())
        for _site, params, where in _site_ranges(slots):
            await session.execute(text(f"DELETE FROM analytics_slot WHERE {where}"), params)
            await session.execute(
                text(
                    f"INSERT INTO analytics_slot (site_id, started_ts, team_id, channel,"
                    f" {', '.join(names)}) SELECT site_id, {floor} * 900.0,"
                    f" COALESCE(team_id, 0), channel, {aggregates}"
                    f" FROM analytics_conversation WHERE {where} GROUP BY 1, 2, 3, 4"
                ),
                params,
            )


def pack(values: list[float]) -> bytes:
    """A slot's values of one time column as analytics_cycle_slot stores them."""
    return np.array(values, dtype=VALUE_DTYPE).tobytes()


async def _remake_cycle_slots(db: Database, slots: set[tuple[int, float]]) -> None:
    """Re-make analytics_cycle_slot for the touched slots from analytics_cycle (by
    contiguous ranges of slots, or a site whole when many were touched), keyed by the
    team and channel of each cycle's conversation, as the report filters take them."""
    columns = ", ".join(f"c.{name}" for name in TIME_VALUES)
    async with db.write() as session:
        for site, params, where in _site_ranges(slots):
            for table in ("analytics_cycle_slot", "analytics_handoff_slot"):
                await session.execute(text(f"DELETE FROM {table} WHERE {where}"), params)
            joined = where.replace("site_id", "c.site_id").replace("started_ts", "c.started_ts")
            cells: dict[tuple[float, int, str], list[Any]] = {}
            for one in params:
                rows = await session.execute(
                    text(
                        f"SELECT c.started_ts, COALESCE(a.team_id, 0), a.channel, {columns},"
                        " c.handoff_reason FROM analytics_cycle c JOIN analytics_conversation a"
                        " ON a.conversation_id = c.conversation_id"
                        f" WHERE {joined}"
                    ),
                    one,
                )
                for started_ts, team, channel, *values, reason in rows.tuples():
                    key = (_slot(float(started_ts)), int(team), str(channel))
                    cell = cells.get(key)
                    if cell is None:
                        cell = cells[key] = [[] for _ in TIME_VALUES] + [Counter()]
                    for into, value in zip(cell, values, strict=False):
                        if value is not None:
                            into.append(float(value))
                    if reason is not None:
                        cell[-1][str(reason)] += 1
            inserts = [
                {
                    "site_id": site,
                    "started_ts": slot,
                    "team_id": team,
                    "channel": channel,
                    **{name: pack(cell[i]) for i, name in enumerate(TIME_VALUES)},
                }
                for (slot, team, channel), cell in cells.items()
            ]
            handoffs = [
                {
                    "site_id": site,
                    "started_ts": slot,
                    "team_id": team,
                    "channel": channel,
                    "reason": reason,
                    "handoffs": n,
                }
                for (slot, team, channel), cell in cells.items()
                for reason, n in cell[-1].items()
            ]
            if inserts:
                await session.execute(AnalyticsCycleSlot.__table__.insert(), inserts)  # type: ignore[attr-defined]
            if handoffs:
                await session.execute(AnalyticsHandoffSlot.__table__.insert(), handoffs)  # type: ignore[attr-defined]


async def _analyze(db: Database) -> None:
    tables = (
        "analytics_cycle, analytics_conversation, analytics_slot, analytics_cycle_slot,"
        " analytics_handoff_slot"
    )
    if db.engine.dialect.name == "postgresql":
        # VACUUM also sets the visibility map that index-only scans need; it cannot run
        # inside a transaction.
        async with db.engine.connect() as connection:
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text(f"VACUUM (ANALYZE) {tables}"))
        return
    async with db.write() as session:
        for table in tables.split(", "):
            await session.execute(text(f"ANALYZE {table}"))


def _site_ranges(
    slots: set[tuple[int, float]],
) -> Iterator[tuple[int, list[dict[str, object]], str]]:
    """Per site, the site, the parameters and the WHERE clause that select its touched slots: one
    parameter set per range of adjacent slots (run as an executemany, each a short index
    range scan, where one statement OR-ing them all was ~5 ms a range on SQLite), or the
    site whole when more than SLOT_RANGES ranges were touched."""
    by_site: dict[int, list[float]] = defaultdict(list)
    for site, slot in slots:
        by_site[site].append(slot)
    for site, starts in by_site.items():
        ranges = _ranges(sorted(starts))
        if len(ranges) > SLOT_RANGES:
            yield site, [{"site": site}], "site_id = :site"
        else:
            params: list[dict[str, object]] = [
                {"site": site, "lo": lo, "hi": hi} for lo, hi in ranges
            ]
            yield site, params, "site_id = :site AND started_ts >= :lo AND started_ts < :hi"


def _ranges(starts: list[float]) -> list[tuple[float, float]]:
    """Sorted slot starts merged into [lo, hi) ranges of adjacent slots."""
    out: list[tuple[float, float]] = []
    for start in starts:
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + SLOT_S)
        else:
            out.append((start, start + SLOT_S))
    return out
