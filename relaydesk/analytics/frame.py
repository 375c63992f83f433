"""A report's rows, loaded once from the rollups as numpy columns.

The overview and every timeseries point are the same aggregation (`figures.summarise`)
applied to this frame or to a slice of it, so a timeseries always sums to the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import text

from relaydesk.analytics.hours import day_start
from relaydesk.core.db import Database

MAX_DAYS = 366

CONVERSATION_COLUMNS = (
    "conversation_id",
    "started_ts",
    "bot_involved",
    "bot_outcome",
    "handoffs",
    "reopens",
    "transfers",
    "csat",
    "feedback_up",
    "feedback_down",
    "resolved",
)
# A cycle's time values: analytics_cycle's columns, and analytics_cycle_slot's.
TIME_VALUES = (
    "frt_s",
    "frt_bh_s",
    "queue_wait_s",
    "queue_wait_bh_s",
    "resolution_s",
    "resolution_bh_s",
)
CYCLE_COLUMNS = (
    "conversation_id",
    "started_ts",
    "agent_id",
    "human",
    "handoff_reason",
    *TIME_VALUES,
)
_CONVERSATION_SELECT = ", ".join(CONVERSATION_COLUMNS)
_FLOATS = frozenset(
    {
        "started_ts",
        "frt_s",
        "frt_bh_s",
        "queue_wait_s",
        "queue_wait_bh_s",
        "resolution_s",
        "resolution_bh_s",
        "csat",
    }
)
_INTS = frozenset(
    {"bot_involved", "handoffs", "reopens", "transfers", "feedback_up", "feedback_down"}
)
_INTS |= {"resolved", "human"}


@dataclass(frozen=True)
class Filters:
    site_id: int
    date_from: date
    date_to: date
    tz: str
    team_id: int | None = None
    agent_id: int | None = None
    label_id: int | None = None
    channel: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def start(self) -> datetime:
        return day_start(self.date_from, self.zone)

    @property
    def end(self) -> datetime:
        return day_start(self.date_to + timedelta(days=1), self.zone)


@dataclass
class Table:
    """Columns of equal length; `take` selects rows by a boolean mask."""

    columns: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.columns["started_ts"])

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self.columns[name]

    def take(self, mask: npt.NDArray[np.bool_]) -> Table:
        return Table({k: v[mask] for k, v in self.columns.items()})

    def between(self, lo: float, hi: float) -> Table:
        """Rows with lo <= started_ts < hi; the rows are sorted by it, so this is a slice
        (views, no copy)."""
        ts = self.columns["started_ts"]
        i, j = np.searchsorted(ts, [lo, hi], side="left")
        return Table({k: v[i:j] for k, v in self.columns.items()})


@dataclass
class Frame:
    conversations: Table
    cycles: Table

    def between(self, lo: float, hi: float) -> Frame:
        return Frame(self.conversations.between(lo, hi), self.cycles.between(lo, hi))


def _where(filters: Filters, table: str) -> tuple[str, dict[str, Any]]:
    clauses = [
        f"{table}.site_id = :site",
        f"{table}.started_ts >= :lo",
        f"{table}.started_ts < :hi",
    ]
    params: dict[str, Any] = {
        "site": filters.site_id,
        "lo": filters.start.timestamp(),
        "hi": filters.end.timestamp(),
    }
    if filters.team_id is not None:
        clauses.append(
            f"{table}.conversation_id IN (SELECT conversation_id FROM analytics_conversation"
            " WHERE team_id = :team)"
        )
        params["team"] = filters.team_id
    if filters.label_id is not None:
        clauses.append(
            f"{table}.conversation_id IN (SELECT conversation_id FROM conversation_label"
            " WHERE label_id = :label)"
        )
        params["label"] = filters.label_id
    if filters.channel is not None:
        clauses.append(
            f"{table}.conversation_id IN (SELECT conversation_id FROM analytics_conversation"
            " WHERE channel = :channel)"
        )
        params["channel"] = filters.channel
    if filters.agent_id is not None:
        if table == "analytics_cycle":
            clauses.append("analytics_cycle.agent_id = :agent")
        else:
            clauses.append(
                "analytics_conversation.conversation_id IN (SELECT conversation_id FROM"
                " analytics_cycle WHERE agent_id = :agent)"
            )
        params["agent"] = filters.agent_id
    return " AND ".join(clauses), params


def _table(rows: list[Any], columns: tuple[str, ...]) -> Table:
    out: dict[str, npt.NDArray[Any]] = {}
    for i, name in enumerate(columns):
        values = [row[i] for row in rows]
        if name in _FLOATS:
            out[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif name in _INTS:
            out[name] = np.array([int(v or 0) for v in values], dtype=np.int64)
        else:
            out[name] = np.array(values, dtype=object)
    return Table(out)


async def load(db: Database, filters: Filters) -> Frame:
    async with db.engine.connect() as connection:
        where, params = _where(filters, "analytics_conversation")
        conversations = await connection.execute(
            text(
                f"SELECT {_CONVERSATION_SELECT} FROM analytics_conversation WHERE {where}"
                " ORDER BY started_ts"
            ),
            params,
        )
        conversation_rows = list(conversations)
        where, params = _where(filters, "analytics_cycle")
        cycles = await connection.execute(
            text(
                f"SELECT {', '.join(CYCLE_COLUMNS)} FROM analytics_cycle WHERE {where}"
                " ORDER BY started_ts"
            ),
            params,
        )
        cycle_rows = list(cycles)
    return Frame(_table(conversation_rows, CONVERSATION_COLUMNS), _table(cycle_rows, CYCLE_COLUMNS))
